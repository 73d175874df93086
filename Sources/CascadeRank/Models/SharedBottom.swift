import CascadeTensor

/// Shared-bottom multi-task network: Caruana, "Multitask Learning" (Machine Learning 28, 1997),
/// hard parameter sharing, the baseline of Ma et al. (MMoE, KDD 2018, figure 1a).
///
///     x = [field embeddings, dense inputs] (n wide)
///     h = bottom(x)                      (a ReLU MLP, `hidden`, shared by every task)
///     logit_t = tower_t(h)               (a small ReLU MLP per task, `towerHidden`, then 1 unit)
///
/// Parameters: embeddings + bottom MLP + T towers (+ T log-variances with uncertainty weighting).
/// O(B (n h1 + sum h_i h_{i+1} + T tower)) per batch. The loss is per task by its ``TaskKind``
/// with fixed or learned weights (``TaskLoss``).
public final class SharedBottom: RankModel {
    public let kind = "sharedbottom"
    public let tasks: [String]
    public let taskKinds: [TaskKind]
    let embedding: FieldEmbedding
    let bottom: DenseTower
    let towers: [TaskTower]
    let taskLoss: TaskLoss

    public init(pipeline: FeaturePipeline, config: RankModelParameters) throws {
        let o = try MultiTaskOptions(config)
        tasks = o.tasks
        taskKinds = o.kinds
        embedding = FieldEmbedding(name: "shared_bottom.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount,
                                   dim: config.embeddingDim, seed: config.seed)
        let n = pipeline.fieldCount * config.embeddingDim + pipeline.denseFeatures.count
        let shared = DenseTower(name: "shared_bottom.bottom", input: n, hidden: config.hidden, dropout: config.dropout, seed: config.seed)
        bottom = shared
        towers = o.tasks.indices.map {
            TaskTower(name: "shared_bottom.tower.\($0)", input: shared.outputSize, hidden: o.towerHidden, dropout: config.dropout, seed: config.seed &+ UInt64($0))
        }
        taskLoss = TaskLoss(name: "shared_bottom", options: o)
    }

    public var parameters: [Parameter] {
        embedding.parameters + bottom.parameters + towers.flatMap(\.parameters) + taskLoss.parameters
    }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let h = try bottom(deepInput(embedding.fields(batch, tape: tape), batch, tape: tape))
        let z = try towers.map { try $0(h) }
        return z.count == 1 ? z[0] : try Variable.concat(z, axis: 1)
    }

    public func loss(logits: Variable, batch: EncodedBatch, tape: Tape) throws -> Variable {
        guard let labels = batch.labels else { throw RankError.data("\(kind): the batch has no labels") }
        return try taskLoss(logits: logits, labels: labels)
    }
}

extension SharedBottom: RankModelDefinition {
    public static let name = "sharedbottom"
    public static let aliases = ["shared-bottom"]
    public static let summary = "Shared bottom: one deep trunk, a tower per task (Caruana 1997)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "dropout", "towerHidden", "uncertaintyWeighting"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        try SharedBottom(pipeline: pipeline, config: parameters)
    }
}
