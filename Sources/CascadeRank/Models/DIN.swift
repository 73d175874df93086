import CascadeTensor

/// DIN: Zhou et al., "Deep Interest Network for Click-Through Rate Prediction" (KDD 2018).
///
/// The user's behaviour sequence (the first sequence feature: the last N items before the row,
/// with their category when the feature has a side column) is pooled by *target attention*: the
/// candidate item's embedding is the query, each history step a key, and a small Dice MLP over
/// [q, k, q - k, q * k] scores each step (unnormalized, masked padding), so the pooled interest
/// vector depends on the candidate. The model is
///
///     logit = MLP_Dice([all field embeddings, sum_t a(q, k_t) k_t, dense])
///
/// History items share the candidate item's embedding rows (one fused table), as in the paper.
/// Parameters: embeddings + attention unit (4D' x 36 + 36) + MLP (D' = D, or 2D with the side).
/// O(B (N (4D' h_a) + MLP)) per batch, N = history length.
public final class DIN: RankModel {
    public let kind = "din"
    public let tasks: [String]
    let embedding: FieldEmbedding
    let attention: TargetAttention
    let mlp: MLP
    /// Position of the sequence feature in `EncodedBatch.histories`.
    let historyIndex: Int
    let withSide: Bool

    public init(pipeline: FeaturePipeline, config: RankModelParameters) throws {
        guard let seq = pipeline.sequenceFeatures.first else {
            throw RankError.model("din needs a behaviour-sequence feature (kind \"sequence\") in the feature config")
        }
        tasks = config.tasks
        historyIndex = 0
        withSide = seq.sideColumn != nil
        let d = config.embeddingDim, keyDim = d * (withSide ? 2 : 1)
        embedding = FieldEmbedding(name: "din.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount, dim: d, seed: config.seed)
        attention = TargetAttention(name: "din.attention", dim: keyDim, hidden: config.attentionHidden, activation: .dice,
                                    seed: config.seed)
        let input = pipeline.fieldCount * d + keyDim + pipeline.denseFeatures.count
        mlp = MLP(name: "din.mlp", sizes: [input] + config.hidden + [config.tasks.count], activation: .dice,
                  dropout: config.dropout, seed: config.seed)
    }

    public var parameters: [Parameter] { embedding.parameters + attention.parameters + mlp.parameters }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        guard historyIndex < batch.histories.count else { throw RankError.model("din: the batch has no behaviour sequence") }
        let v = try embedding.fields(batch, tape: tape)
        let h = batch.histories[historyIndex]
        let (q, keys) = try sequenceQueryAndKeys(h, table: tape.parameter(embedding.table), withSide: withSide)
        let interest = try attention(query: q, keys: keys, mask: h.mask)
        return try mlp(deepInput(v, extra: [interest], batch, tape: tape))
    }
}

extension DIN: RankModelDefinition {
    public static let name = "din"
    public static let summary = "DIN: target attention over the behaviour sequence (Zhou et al. 2018)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "dropout", "attentionHidden"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        try DIN(pipeline: pipeline, config: parameters)
    }
}
