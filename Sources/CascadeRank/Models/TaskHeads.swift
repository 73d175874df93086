import CascadeTensor
import Foundation

/// How one task column of a multi-task model is labelled, trained and served.
///
/// - `binary`: a 0/1 label (click, like), binary cross-entropy, served as sigmoid(logit).
/// - `completion`: a completion label in [0, 1] (1 = the watch reached the item's end; a
///   watched fraction also works, as a soft label), binary cross-entropy, served as sigmoid.
/// - `watchTime`: the label is the watch time in seconds (0 = not clicked / not watched),
///   trained with YouTube's weighted logistic regression (Covington, Adams and Sargin, "Deep
///   Neural Networks for YouTube Recommendations", RecSys 2016, section 4.2: positives weighted by
///   their watch time, negatives by 1, `Loss.weightedLogistic`); the odds then approximate the
///   expected watch time, so it is served as exp(logit), not as a probability.
public enum TaskKind: String, Codable, Sendable, CaseIterable {
    case binary
    case completion
    case watchTime = "watch-time"

    /// The kind a task name implies: "watch_time"/"watchtime"/"watch" -> watchTime,
    /// "finish"/"finished"/"completion"/"complete" -> completion, anything else binary.
    public static func inferred(_ task: String) -> TaskKind {
        switch task.lowercased() {
        case "watch_time", "watchtime", "watch-time", "watch": return .watchTime
        case "finish", "finished", "completion", "complete", "completed": return .completion
        default: return .binary
        }
    }

    /// The served output of a logit.
    @inlinable public func serve(_ logit: Float) -> Float {
        switch self {
        case .binary, .completion: return 1 / (1 + Foundation.exp(-logit))
        case .watchTime: return Foundation.exp(Swift.min(logit, 80))
        }
    }

    /// A 0/1 label for ranking metrics (AUC): positive when the label is >= 0.5 (binary,
    /// completion) or > 0 (watch time: watched at all).
    @inlinable public func binarized(_ label: Float) -> Float {
        switch self {
        case .binary, .completion: return label >= 0.5 ? 1 : 0
        case .watchTime: return label > 0 ? 1 : 0
        }
    }
}

/// The multi-task options of a ``RankModelParameters`` with their defaults filled in and checked.
public struct MultiTaskOptions: Sendable, Equatable {
    public var tasks: [String]
    public var kinds: [TaskKind]
    public var weights: [Float]
    public var uncertaintyWeighting: Bool
    public var experts: Int
    public var expertHidden: [Int]
    public var towerHidden: [Int]
    public var expertDropout: Float

    public init(_ c: RankModelParameters) throws {
        guard !c.tasks.isEmpty else { throw RankError.model("a multi-task model needs at least one task") }
        tasks = c.tasks
        kinds = c.taskKinds ?? c.tasks.map(TaskKind.inferred)
        weights = c.taskWeights ?? Array(repeating: 1, count: c.tasks.count)
        uncertaintyWeighting = c.uncertaintyWeighting ?? false
        experts = c.experts ?? 4
        expertHidden = c.expertHidden ?? c.hidden
        towerHidden = c.towerHidden ?? [Swift.max(1, (c.hidden.last ?? 128) / 2)]
        expertDropout = c.expertDropout ?? 0
        guard kinds.count == tasks.count else {
            throw RankError.model("\(kinds.count) task kinds for \(tasks.count) tasks (\(tasks.joined(separator: ", ")))")
        }
        guard weights.count == tasks.count, weights.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw RankError.model("task weights must be \(tasks.count) finite values >= 0, got \(weights)")
        }
        guard experts >= 1 else { throw RankError.model("MMoE needs at least one expert, got \(experts)") }
        guard expertDropout >= 0, expertDropout < 1 else {
            throw RankError.model("expert dropout must be in [0, 1), got \(expertDropout)")
        }
        guard (expertHidden + towerHidden).allSatisfy({ $0 > 0 }) else {
            throw RankError.model("hidden sizes must be positive")
        }
    }
}

/// The combined loss of a multi-task model: one loss per task column by its ``TaskKind``, then
///
/// - fixed weights: `L = sum_t w_t L_t`, or
/// - uncertainty weighting (Kendall, Gal and Cipolla, "Multi-Task Learning Using Uncertainty to
///   Weigh Losses for Scene Geometry and Semantics", CVPR 2018, eq. 10 for classification
///   likelihoods): a learned log-variance `s_t = log sigma_t^2` per task and
///   `L = sum_t exp(-s_t) L_t + s_t / 2`. A noisy (hard) task gets a large s_t and a small
///   weight; the s_t / 2 term keeps it from growing without bound. Parameters: T.
///
/// O(B T) per batch on top of the model.
public final class TaskLoss: ParameterContainer {
    public let kinds: [TaskKind]
    public let weights: [Float]
    /// [T] log-variances when uncertainty weighting is on.
    public let logVariance: Parameter?

    public init(name: String, options: MultiTaskOptions) {
        kinds = options.kinds
        weights = options.weights
        logVariance = options.uncertaintyWeighting
            ? Parameter("\(name).log_variance", Tensor(shape: [options.tasks.count])) : nil
    }

    public var parameters: [Parameter] { logVariance.map { [$0] } ?? [] }

    /// Per-task losses [T] (each a scalar of its kind) of `logits` [B, T] against `labels` [B, T].
    public func taskLosses(logits: Variable, labels: Tensor) throws -> Variable {
        let t = kinds.count
        guard logits.shape.rank == 2, logits.shape[1] == t, labels.shape.last == t, labels.count == logits.value.count else {
            throw RankError.data("multi-task loss: logits \(logits.shape) and labels \(labels.shape) must both be [B, \(t)]")
        }
        var parts: [Variable] = []
        for j in 0..<t {
            let z = t == 1 ? logits : try logits.slice(axis: 1, j..<(j + 1))
            let y = TaskLoss.column(labels, j)
            switch kinds[j] {
            case .binary, .completion:
                parts.append(try Loss.binaryCrossEntropy(logits: z, targets: y))
            case .watchTime:
                let clicked = Tensor(uninitializedShape: y.shape)
                for i in 0..<y.count { clicked.base[i] = y.base[i] > 0 ? 1 : 0 }
                parts.append(try Loss.weightedLogistic(logits: z, clicked: clicked, watchTime: y))
            }
        }
        return parts.count == 1 ? parts[0] : try Variable.concat(parts, axis: 0)
    }

    /// The combined scalar loss [1].
    public func callAsFunction(logits: Variable, labels: Tensor) throws -> Variable {
        let losses = try taskLosses(logits: logits, labels: labels)  // [T]
        let tape = logits.tape
        if let logVariance {
            let s = tape.parameter(logVariance)
            return try ((s * -1).exp() * losses).sum() + s.sum() * 0.5
        }
        return try (losses * tape.constant(Tensor(weights))).sum()
    }

    /// Column `j` of a [B, T] tensor as [B, 1].
    static func column(_ labels: Tensor, _ j: Int) -> Tensor {
        let w = labels.shape.last, b = labels.count / Swift.max(w, 1)
        let out = Tensor(uninitializedShape: Shape(b, 1))
        for i in 0..<b { out.base[i] = labels.base[i * w + j] }
        return out
    }
}

/// One task's tower: hidden ReLU layers then a linear layer to one logit. [B, in] -> [B, 1].
final class TaskTower: ParameterContainer {
    let tower: DenseTower
    let head: Linear

    init(name: String, input: Int, hidden: [Int], dropout: Float, seed: UInt64) {
        tower = DenseTower(name: "\(name).hidden", input: input, hidden: hidden, dropout: dropout, seed: seed)
        head = Linear(name: "\(name).out", in: tower.outputSize, out: 1, seed: seed)
    }

    var parameters: [Parameter] { tower.parameters + head.parameters }

    func callAsFunction(_ x: Variable) throws -> Variable { try head(tower(x)) }
}
