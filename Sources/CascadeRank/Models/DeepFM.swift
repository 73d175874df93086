import CascadeTensor

/// DeepFM: Guo et al., "DeepFM: A Factorization-Machine based Neural Network for CTR
/// Prediction" (IJCAI 2017). An FM component (first-order weights + pairwise interactions of the
/// field embeddings) and a deep MLP over the *same* embeddings, summed into one logit; no
/// hand-made cross features. Parameters: vocabulary x (k + 1) + MLP. O(B (F k + MLP)) per batch.
public final class DeepFM: RankModel {
    public let kind = "deepfm"
    public let tasks: [String]
    let embedding: FieldEmbedding
    let denseLinear: Linear?
    let tower: DenseTower
    let head: Linear

    public init(pipeline: FeaturePipeline, config: RankModelParameters) {
        tasks = Array(config.tasks.prefix(1))
        embedding = FieldEmbedding(name: "deepfm.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount,
                                   dim: config.embeddingDim, seed: config.seed,
                                   pooledHistories: pipeline.sequenceFeatures.count)
        let nd = pipeline.denseFeatures.count
        denseLinear = nd > 0 ? Linear(name: "deepfm.dense", in: nd, out: 1, bias: false, seed: config.seed) : nil
        tower = DenseTower(name: "deepfm.deep", input: embedding.fieldCount * config.embeddingDim + nd,
                           hidden: config.hidden, dropout: config.dropout, seed: config.seed)
        head = Linear(name: "deepfm.head", in: tower.outputSize, out: 1, seed: config.seed)
    }

    public var parameters: [Parameter] { embedding.parameters + (denseLinear?.parameters ?? []) + tower.parameters + head.parameters }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let v = try embedding.fields(batch, tape: tape)
        var fm = try embedding.linearTerm(batch, tape: tape) + FactorizationMachine.interaction(v)
        if let d = denseLinear { fm = try fm + d(tape.constant(batch.dense)) }
        let deep = try head(tower(deepInput(v, batch, tape: tape)))
        return try fm + deep
    }
}

extension DeepFM: RankModelDefinition {
    public static let name = "deepfm"
    public static let summary = "DeepFM: an FM and a deep tower over shared embeddings (Guo et al. 2017)"
    public static let multiTask = false
    public static let options = ["embeddingDim", "hidden", "dropout"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        DeepFM(pipeline: pipeline, config: parameters)
    }
}
