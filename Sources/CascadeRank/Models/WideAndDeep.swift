import CascadeTensor

/// Wide & Deep: Cheng et al., "Wide & Deep Learning for Recommender Systems" (DLRS 2016).
/// logit = wide(x) + deep(x): the wide part is a linear model over field values and dense
/// inputs (memorization), the deep part an MLP over concatenated field embeddings and dense
/// inputs (generalization), trained jointly. Parameters: vocabulary x (k + 1) + MLP weights.
/// O(B (F k h1 + sum h_i h_{i+1})) per batch.
public final class WideAndDeep: RankModel {
    public let kind = "widedeep"
    public let tasks: [String]
    let embedding: FieldEmbedding
    let wideDense: Linear?
    let tower: DenseTower
    let head: Linear

    public init(pipeline: FeaturePipeline, config: RankModelParameters) {
        tasks = config.tasks
        embedding = FieldEmbedding(name: "wd.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount,
                                   dim: config.embeddingDim, seed: config.seed,
                                   pooledHistories: pipeline.sequenceFeatures.count)
        let nd = pipeline.denseFeatures.count
        wideDense = nd > 0 ? Linear(name: "wd.wide_dense", in: nd, out: 1, bias: false, seed: config.seed) : nil
        tower = DenseTower(name: "wd.deep", input: embedding.fieldCount * config.embeddingDim + nd,
                           hidden: config.hidden, dropout: config.dropout, seed: config.seed)
        head = Linear(name: "wd.head", in: tower.outputSize, out: config.tasks.count, seed: config.seed)
    }

    public var parameters: [Parameter] { embedding.parameters + (wideDense?.parameters ?? []) + tower.parameters + head.parameters }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let v = try embedding.fields(batch, tape: tape)
        var wide = try embedding.linearTerm(batch, tape: tape)
        if let d = wideDense { wide = try wide + d(tape.constant(batch.dense)) }
        let deep = try head(tower(deepInput(v, batch, tape: tape)))
        return try deep + wide
    }
}

extension WideAndDeep: RankModelDefinition {
    public static let name = "widedeep"
    public static let aliases = ["wide&deep", "wide_deep"]
    public static let summary = "Wide & Deep: a linear part beside a deep tower (Cheng et al. 2016)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "dropout"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        WideAndDeep(pipeline: pipeline, config: parameters)
    }
}
