import CascadeCore
import CascadeTensor
import Foundation

/// A ranking model: encoded feature rows in, one logit per task out ([B, tasks]). Probabilities
/// are sigmoid(logit). Models are composed from CascadeTensor layers and own their parameters;
/// `RankTrainer` fits any of them, ``RankModelRegistry`` builds them by name.
public protocol RankModel: ParameterContainer {
    /// Registry name ("dcnv2", "deepfm", ...).
    var kind: String { get }
    /// Task names, one logit column each (a single-task model has one, "click").
    var tasks: [String] { get }
    /// Logits [B, tasks.count] for `batch`, recorded on `tape` (training mode from the tape).
    func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable
    /// How each task column is trained and served (default: every task binary).
    var taskKinds: [TaskKind] { get }
    /// The training loss of `logits` (from `logits(batch, tape:)`) against `batch.labels`
    /// [B, tasks]: a scalar [1]. Default: binary cross-entropy averaged over every task column.
    /// Multi-task models override it (task kinds, per-task weights, ESMM's loss).
    func loss(logits: Variable, batch: EncodedBatch, tape: Tape) throws -> Variable
}

extension RankModel {
    public var taskKinds: [TaskKind] { Array(repeating: .binary, count: tasks.count) }

    public func loss(logits: Variable, batch: EncodedBatch, tape: Tape) throws -> Variable {
        guard let labels = batch.labels else { throw RankError.data("\(kind): the batch has no labels") }
        return try Loss.binaryCrossEntropy(logits: logits, targets: labels)
    }
}

extension RankModel {
    /// Served outputs [rows][tasks] in inference mode: probabilities (sigmoid of the logit), or
    /// `exp(logit)` for a watch-time task (see ``TaskKind``), in chunks of `batchSize` rows.
    public func predict(_ batch: EncodedBatch, batchSize: Int = 4096, threads: Int? = 1) throws -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(batch.rows)
        var start = 0
        while start < batch.rows {
            let end = Swift.min(batch.rows, start + batchSize)
            let part = start == 0 && end == batch.rows ? batch : batch.rows(start..<end)
            let tape = Tape(training: false, threads: threads)
            let z = try logits(part, tape: tape).value
            let t = tasks.count
            let kinds = taskKinds
            for r in 0..<part.rows {
                var row = [Float](repeating: 0, count: t)
                for j in 0..<t {
                    row[j] = kinds[j].serve(z.base[r * t + j])
                }
                out.append(row)
            }
            start = end
        }
        return out
    }
}

/// Hyper-parameters shared by the ranking models; each model reads the ones it uses.
public struct RankModelParameters: Codable, Sendable, Equatable {
    public var embeddingDim = 16
    /// Hidden layer sizes of the deep towers.
    public var hidden = [256, 128]
    /// Cross layers of DCN-V2.
    public var crossLayers = 3
    /// DCN-V2 layout: true = cross and deep side by side (parallel), false = cross then deep (stacked).
    public var parallel = true
    public var dropout: Float = 0
    /// Task names (multi-task heads); single-task models use the first.
    public var tasks = ["click"]
    public var seed: UInt64 = 42
    /// Hidden sizes of the attention unit of DIN/SIM (Dice activations).
    public var attentionHidden = [36]
    /// SIM: history steps kept by the hard (category) search.
    public var simTopK = 20
    /// FiBiNET: SENet reduction ratio (excitation bottleneck = fields / ratio).
    public var senetReduction = 3
    /// LHUC: hidden width of each gate network.
    public var gateHidden = 64
    /// LHUC: names of the fields feeding the gates (nil: user id and profile fields by name).
    public var gateFields: [String]?
    /// LHUC: stop the gradient from the gates into the shared embeddings (PPNet).
    public var gateStopGradient = false
    /// Multi-task options (nil: the defaults in ``MultiTaskOptions``). Kinds of the task columns
    /// (nil: inferred from the task names, see ``TaskKind/inferred(_:)``).
    public var taskKinds: [TaskKind]?
    /// Fixed loss weight per task (nil: 1 each).
    public var taskWeights: [Float]?
    /// Learn the task weights as homoscedastic uncertainties (Kendall et al. 2018) instead.
    public var uncertaintyWeighting: Bool?
    /// MMoE experts (default 4), the hidden sizes of each expert (default `hidden`) and of each
    /// task tower (default [half the last of `hidden`]); the expert-dropout rate of the gates (default 0).
    public var experts: Int?
    public var expertHidden: [Int]?
    public var towerHidden: [Int]?
    public var expertDropout: Float?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case embeddingDim, hidden, crossLayers, parallel, dropout, tasks, seed
        case attentionHidden, simTopK, senetReduction, gateHidden, gateFields, gateStopGradient
        case taskKinds, taskWeights, uncertaintyWeighting, experts, expertHidden, towerHidden, expertDropout
    }

    /// Absent keys keep their defaults, so configs written before a field existed still load.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.embeddingDim, &embeddingDim)
        try read(.hidden, &hidden)
        try read(.crossLayers, &crossLayers)
        try read(.parallel, &parallel)
        try read(.dropout, &dropout)
        try read(.tasks, &tasks)
        try read(.seed, &seed)
        try read(.attentionHidden, &attentionHidden)
        try read(.simTopK, &simTopK)
        try read(.senetReduction, &senetReduction)
        try read(.gateHidden, &gateHidden)
        gateFields = try c.decodeIfPresent([String].self, forKey: .gateFields)
        try read(.gateStopGradient, &gateStopGradient)
        taskKinds = try c.decodeIfPresent([TaskKind].self, forKey: .taskKinds)
        taskWeights = try c.decodeIfPresent([Float].self, forKey: .taskWeights)
        uncertaintyWeighting = try c.decodeIfPresent(Bool.self, forKey: .uncertaintyWeighting)
        experts = try c.decodeIfPresent(Int.self, forKey: .experts)
        expertHidden = try c.decodeIfPresent([Int].self, forKey: .expertHidden)
        towerHidden = try c.decodeIfPresent([Int].self, forKey: .towerHidden)
        expertDropout = try c.decodeIfPresent(Float.self, forKey: .expertDropout)
    }
}

extension RankModelParameters {
    /// The options of the ranking models, declared once: the engine's `rank.*` keys and the
    /// research commands read them. Each model lists the keys it reads
    /// (``RankModelDefinition/options``); the doc of each key names its readers.
    public static var settings: [Setting<RankModelParameters>] {
        let declared: [Setting<RankModelParameters>] = [
            .int("embeddingDim", "Embedding size of every field.", \.embeddingDim, 1...256),
            .intList("hidden", "Hidden layer sizes of the deep towers.", \.hidden, 1...65_536),
            .int("crossLayers", "Cross layers of DCN-V2.", \.crossLayers, 0...16),
            .bool("parallel", "DCN-V2 layout: cross and deep side by side (true) or cross then deep (false).", \.parallel),
            .float("dropout", "Dropout rate of the deep layers.", \.dropout, "in [0, 1)") { $0 >= 0 && $0 < 1 },
            .intList("attentionHidden", "Hidden sizes of the attention unit scoring each step of the behaviour sequence.",
                     \.attentionHidden, 1...4096),
            .int("simTopK", "SIM: history steps kept by the hard (category) search.", \.simTopK, 1...10_000),
            .int("senetReduction", "FiBiNET: SENet reduction ratio.", \.senetReduction, 1...64),
            .int("gateHidden", "LHUC: hidden width of each gate network.", \.gateHidden, 1...4096),
            .optionalStringList("gateFields", "LHUC: fields feeding the gates (none: the user id and profile fields).", \.gateFields,
                                "a list of feature names") { !$0.isEmpty },
            .bool("gateStopGradient", "LHUC: stop the gates' gradient into the shared embeddings (PPNet).", \.gateStopGradient),
            .optionalInt("experts", "MMoE experts (none: 4).", \.experts, 1...64),
            .optionalIntList("expertHidden", "Hidden sizes of each MMoE expert (none: hidden).", \.expertHidden, 1...65_536),
            .optionalIntList("towerHidden", "Hidden sizes of each task tower (none: half the last of hidden).", \.towerHidden, 1...65_536),
            .optionalFloat("expertDropout", "Rate at which an MMoE gate drops an expert while training (none: 0).", \.expertDropout,
                           "in [0, 1)") { $0 >= 0 && $0 < 1 },
            .optionalBool("uncertaintyWeighting", "Learn the task weights as homoscedastic uncertainties (Kendall et al. 2018; none: off).",
                          \.uncertaintyWeighting),
        ]
        return declared.map { s in
            let readers = RankModelRegistry.readers(of: s.key)
            return s.documented(s.doc + " Read by: " + (readers.isEmpty ? "no model" : readers.joined(separator: ", ")) + ".")
        }
    }
}

/// A plain tower of dense layers: hidden ReLU layers, optional dropout, no output layer.
final class DenseTower: ParameterContainer {
    let layers: [Linear]
    let dropout: Float
    var outputSize: Int

    init(name: String, input: Int, hidden: [Int], dropout: Float, seed: UInt64) {
        var layers: [Linear] = []
        var n = input
        for (i, h) in hidden.enumerated() {
            layers.append(Linear(name: "\(name).\(i)", in: n, out: h, activation: .relu, seed: seed))
            n = h
        }
        self.layers = layers
        self.dropout = dropout
        outputSize = n
    }

    var parameters: [Parameter] { layers.flatMap(\.parameters) }

    func callAsFunction(_ x: Variable) throws -> Variable {
        var h = x
        for l in layers {
            h = try l(h)
            if dropout > 0 { h = try h.dropout(rate: dropout) }
        }
        return h
    }
}

/// [B, F, D] field embeddings flattened to [B, F D], with the dense inputs appended.
func deepInput(_ fields: Variable, _ batch: EncodedBatch, tape: Tape) throws -> Variable {
    let flat = try fields.reshaped([batch.rows, -1])
    guard batch.dense.shape.last > 0 else { return flat }
    return try Variable.concat([flat, tape.constant(batch.dense)], axis: 1)
}

/// Query and keys of a behaviour sequence for target attention, from the shared embedding table:
/// query [B, D] (candidate item) and keys [B, N, D] (history items), each with the side embedding
/// (e.g. category) concatenated when `withSide` (then D = 2 dim).
func sequenceQueryAndKeys(_ h: EncodedBatch.History, table: Variable, withSide: Bool) throws -> (query: Variable, keys: Variable) {
    var q = try table.gather(h.candidate)
    var k = try table.gather(h.ids)
    if withSide, let s = h.side, let cs = h.candidateSide {
        q = try Variable.concat([q, table.gather(cs)], axis: 1)
        k = try Variable.concat([k, table.gather(s)], axis: 2)
    }
    return (q, k)
}

/// [B, F, D] field embeddings flattened, with extra [B, n] blocks and the dense inputs appended.
func deepInput(_ fields: Variable, extra: [Variable], _ batch: EncodedBatch, tape: Tape) throws -> Variable {
    var parts = [try fields.reshaped([batch.rows, -1])] + extra
    if batch.dense.shape.last > 0 { parts.append(tape.constant(batch.dense)) }
    return parts.count == 1 ? parts[0] : try Variable.concat(parts, axis: 1)
}
