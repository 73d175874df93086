import CascadeTensor

/// Multi-gate Mixture-of-Experts: Ma, Zhao, Yi, Chen, Hong and Chi, "Modeling Task
/// Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts" (KDD 2018).
///
///     x = [field embeddings, dense inputs] (n wide)
///     f_e(x)      e = 1..E   expert ReLU MLPs (`expertHidden`, output h)
///     g_t(x) = softmax(W_t x)            one gate per task, W_t: n x E
///     y_t = tower_t( sum_e g_t(x)_e f_e(x) )
///
/// Tasks share the experts but each mixes them its own way, so weakly related tasks need not
/// share one representation (the shared-bottom failure mode the paper studies).
/// Expert dropout against gate polarization (a gate collapsing onto one expert, which then
/// behaves like shared-bottom or separate towers): in training each expert's gate weight is
/// dropped with probability `expertDropout` (per row and task; at least one expert is always
/// kept) and the gate renormalized over the kept experts - a softmax restricted to them.
/// Parameters: embeddings + E experts + T (n E) gate weights + T towers.
/// O(B (E expert + T n E + T E h + T tower)) per batch.
public final class MMoE: RankModel {
    public let kind = "mmoe"
    public let tasks: [String]
    public let taskKinds: [TaskKind]
    let embedding: FieldEmbedding
    let mixture: MixtureOfExperts
    let taskLoss: TaskLoss

    public init(pipeline: FeaturePipeline, config: RankModelParameters) throws {
        let o = try MultiTaskOptions(config)
        tasks = o.tasks
        taskKinds = o.kinds
        embedding = FieldEmbedding(name: "mmoe.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount,
                                   dim: config.embeddingDim, seed: config.seed)
        let n = pipeline.fieldCount * config.embeddingDim + pipeline.denseFeatures.count
        mixture = MixtureOfExperts(name: "mmoe", input: n, options: o, dropout: config.dropout, seed: config.seed)
        taskLoss = TaskLoss(name: "mmoe", options: o)
    }

    public var parameters: [Parameter] { embedding.parameters + mixture.parameters + taskLoss.parameters }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        try mixture(deepInput(embedding.fields(batch, tape: tape), batch, tape: tape))
    }

    public func loss(logits: Variable, batch: EncodedBatch, tape: Tape) throws -> Variable {
        guard let labels = batch.labels else { throw RankError.data("\(kind): the batch has no labels") }
        return try taskLoss(logits: logits, labels: labels)
    }

    /// Mean gate weight of each expert per task over `batch` ([tasks][experts]), inference mode:
    /// shows whether gates polarized onto single experts.
    public func gateUsage(_ batch: EncodedBatch) throws -> [[Float]] {
        let tape = Tape(training: false, threads: 1)
        return try mixture.gateUsage(deepInput(embedding.fields(batch, tape: tape), batch, tape: tape))
    }
}

/// The MMoE block shared by ``MMoE`` and ``DCNv2MMoE``: experts, one softmax gate per task
/// (with expert dropout in training), one tower per task. [B, n] -> logits [B, T].
final class MixtureOfExperts: ParameterContainer {
    let experts: [DenseTower]
    let gates: [Linear]
    let towers: [TaskTower]
    let expertDropout: Float

    init(name: String, input n: Int, options o: MultiTaskOptions, dropout: Float, seed: UInt64) {
        experts = (0..<o.experts).map {
            DenseTower(name: "\(name).expert.\($0)", input: n, hidden: o.expertHidden, dropout: dropout, seed: seed &+ UInt64($0))
        }
        gates = o.tasks.indices.map { Linear(name: "\(name).gate.\($0)", in: n, out: o.experts, seed: seed &+ UInt64($0)) }
        let h = experts[0].outputSize
        towers = o.tasks.indices.map {
            TaskTower(name: "\(name).tower.\($0)", input: h, hidden: o.towerHidden, dropout: dropout, seed: seed &+ UInt64($0))
        }
        expertDropout = o.expertDropout
    }

    var parameters: [Parameter] {
        experts.flatMap(\.parameters) + gates.flatMap(\.parameters) + towers.flatMap(\.parameters)
    }

    /// Gate weights [B, E] of task `t`: softmax, or in training with expert dropout a softmax
    /// over the experts that survive the drop.
    func gate(_ t: Int, _ x: Variable) throws -> Variable {
        let g = try gates[t](x)
        let tape = x.tape
        guard tape.training, expertDropout > 0 else { return g.softmax() }
        let b = x.shape[0], e = experts.count
        let mask = Tensor(uninitializedShape: Shape(b, e))
        for r in 0..<b {
            var kept = 0
            for j in 0..<e {
                let keep: Float = tape.random.nextUnitFloat() < expertDropout ? 0 : 1
                mask.base[r * e + j] = keep
                kept += Int(keep)
            }
            if kept == 0 { mask.base[r * e + Int(tape.random.next() % UInt64(e))] = 1 }
        }
        return try g.maskedSoftmax(mask)
    }

    func expertOutputs(_ x: Variable) throws -> Variable {
        let b = x.shape[0]
        let outs = try experts.map { try $0(x).reshaped([b, 1, -1]) }
        return outs.count == 1 ? outs[0] : try Variable.concat(outs, axis: 1)  // [B, E, h]
    }

    func callAsFunction(_ x: Variable) throws -> Variable {
        let b = x.shape[0], e = experts.count
        let f = try expertOutputs(x)
        var z: [Variable] = []
        for t in towers.indices {
            let g = try gate(t, x).reshaped([b, 1, e])
            let mixed = try g.batchedMatmul(f).reshaped([b, -1])  // [B, h]
            z.append(try towers[t](mixed))
        }
        return z.count == 1 ? z[0] : try Variable.concat(z, axis: 1)
    }

    func gateUsage(_ x: Variable) throws -> [[Float]] {
        let b = x.shape[0], e = experts.count
        return try towers.indices.map { t in
            let g = try gate(t, x).value
            return (0..<e).map { j in
                var s: Float = 0
                for r in 0..<b { s += g.base[r * e + j] }
                return s / Float(Swift.max(b, 1))
            }
        }
    }
}

extension MMoE: RankModelDefinition {
    public static let name = "mmoe"
    public static let summary = "MMoE: experts mixed by one gate per task (Ma et al. 2018)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "dropout", "experts", "expertHidden", "towerHidden", "expertDropout", "uncertaintyWeighting"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        try MMoE(pipeline: pipeline, config: parameters)
    }
}
