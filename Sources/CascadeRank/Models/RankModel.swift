import CascadeTensor
import Foundation

/// A ranking model: encoded feature rows in, one logit per task out ([B, tasks]). Probabilities
/// are sigmoid(logit). Models are composed from CascadeTensor layers and own their parameters;
/// `RankTrainer` fits any of them, `RankModels` builds them by name.
public protocol RankModel: ParameterContainer {
    /// Registry name ("dcnv2", "deepfm", ...).
    var kind: String { get }
    /// Task names, one logit column each (a single-task model has one, "click").
    var tasks: [String] { get }
    /// Logits [B, tasks.count] for `batch`, recorded on `tape` (training mode from the tape).
    func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable
}

extension RankModel {
    /// Probabilities [rows][tasks] in inference mode, in chunks of `batchSize` rows.
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
            for r in 0..<part.rows {
                var row = [Float](repeating: 0, count: t)
                for j in 0..<t {
                    let logit: Float = z.base[r * t + j]
                    row[j] = 1 / (1 + Foundation.exp(-logit))
                }
                out.append(row)
            }
            start = end
        }
        return out
    }
}

/// Hyper-parameters shared by the ranking models; each model reads the ones it uses.
public struct RankModelConfig: Codable, Sendable, Equatable {
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

    public init() {}
}

/// The registry of ranking models by name. Unknown names are rejected before training starts.
public enum RankModels {
    public static let names = ["lr", "fm", "widedeep", "deepfm", "dcnv2"]

    public static func make(_ name: String, pipeline: FeaturePipeline, config: RankModelConfig = RankModelConfig()) throws -> any RankModel {
        switch name.lowercased() {
        case "lr": return LogisticRegression(pipeline: pipeline, config: config)
        case "fm": return FactorizationMachine(pipeline: pipeline, config: config)
        case "widedeep", "wide&deep", "wide_deep": return WideAndDeep(pipeline: pipeline, config: config)
        case "deepfm": return DeepFM(pipeline: pipeline, config: config)
        case "dcnv2", "dcn-v2", "dcn": return DCNv2(pipeline: pipeline, config: config)
        default: throw RankError.model("unknown model '\(name)' (known: \(names.joined(separator: ", ")))")
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
