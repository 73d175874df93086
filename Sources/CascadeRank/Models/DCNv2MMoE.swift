import CascadeTensor

/// An MMoE head on a DCN-V2 trunk: the cross network of Wang et al., "DCN V2" (WWW 2021)
/// builds explicit bounded-degree feature crosses, and its output feeds the experts of an MMoE
/// (Ma et al., KDD 2018) with one gate and tower per task:
///
///     x0 = [field embeddings, interest, dense inputs] (n wide)
///     x_{l+1} = x0 * (x_l W_l + b_l) + x_l,  l = 0..L-1          (cross network, shared)
///     logits = MMoE(x_L)                                        (see ``MMoE``)
///
/// With a behaviour-sequence feature in the pipeline, `interest` is DIN's target attention
/// (Zhou et al., KDD 2018) over the user's sequence with the candidate as the query (see
/// ``TargetAttention``; history items share the candidate's embedding rows, with the side
/// column's embedding beside each when the feature has one); without one it is absent.
///
/// Parameters: embeddings + L (n^2 + n) + E experts + T (n E) gates + T towers (+ the attention
/// unit, 4D' h + h). O(B (L n^2 + E expert + T n E + T tower + N 4D' h)) per batch, N the
/// sequence length, D' the key width (D, or 2D with the side).
public final class DCNv2MMoE: RankModel {
    public let kind = "dcnv2-mmoe"
    public let tasks: [String]
    public let taskKinds: [TaskKind]
    let embedding: FieldEmbedding
    /// Target attention over the first behaviour sequence (nil: the pipeline has none).
    let attention: TargetAttention?
    let withSide: Bool
    let cross: [Linear]
    let mixture: MixtureOfExperts
    let taskLoss: TaskLoss

    public init(pipeline: FeaturePipeline, config: RankModelParameters) throws {
        let o = try MultiTaskOptions(config)
        tasks = o.tasks
        taskKinds = o.kinds
        embedding = FieldEmbedding(name: "dcnmmoe.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount,
                                   dim: config.embeddingDim, seed: config.seed)
        var n = pipeline.fieldCount * config.embeddingDim + pipeline.denseFeatures.count
        if let seq = pipeline.sequenceFeatures.first {
            withSide = seq.sideColumn != nil
            let keyDim = config.embeddingDim * (withSide ? 2 : 1)
            attention = TargetAttention(name: "dcnmmoe.attention", dim: keyDim, hidden: config.attentionHidden, activation: .dice, seed: config.seed)
            n += keyDim
        } else {
            withSide = false
            attention = nil
        }
        cross = (0..<config.crossLayers).map { Linear(name: "dcnmmoe.cross.\($0)", in: n, out: n, seed: config.seed) }
        mixture = MixtureOfExperts(name: "dcnmmoe", input: n, options: o, dropout: config.dropout, seed: config.seed)
        taskLoss = TaskLoss(name: "dcnmmoe", options: o)
    }

    public var parameters: [Parameter] {
        embedding.parameters + (attention?.parameters ?? []) + cross.flatMap(\.parameters) + mixture.parameters + taskLoss.parameters
    }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        var interest: [Variable] = []
        if let attention {
            guard let h = batch.histories.first else { throw RankError.model("\(kind): the batch has no behaviour sequence") }
            let (q, keys) = try sequenceQueryAndKeys(h, table: tape.parameter(embedding.table), withSide: withSide)
            interest.append(try attention(query: q, keys: keys, mask: h.mask))
        }
        let x0 = try deepInput(embedding.fields(batch, tape: tape), extra: interest, batch, tape: tape)
        var x = x0
        for layer in cross { x = try x0 * layer(x) + x }
        return try mixture(x)
    }

    public func loss(logits: Variable, batch: EncodedBatch, tape: Tape) throws -> Variable {
        guard let labels = batch.labels else { throw RankError.data("\(kind): the batch has no labels") }
        return try taskLoss(logits: logits, labels: labels)
    }
}

extension DCNv2MMoE: RankModelDefinition {
    public static let name = "dcnv2-mmoe"
    public static let aliases = ["dcn-mmoe"]
    public static let summary = "DCN-V2 cross network under an MMoE head, DIN attention with a behaviour sequence (Wang et al. 2021; Ma et al. 2018)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "crossLayers", "dropout", "attentionHidden", "experts", "expertHidden", "towerHidden", "expertDropout", "uncertaintyWeighting"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        try DCNv2MMoE(pipeline: pipeline, config: parameters)
    }
}
