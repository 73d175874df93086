import CascadeTensor
import Foundation

/// Entire Space Multi-task Model: Ma, Zhao, Zhu, Zhang, Yang, Zhu and Gai, "Entire Space
/// Multi-Task Model: An Effective Approach for Estimating Post-Click Conversion Rate"
/// (SIGIR 2018).
///
/// A post-click conversion model trained on clicked rows only suffers sample selection bias
/// (served on every impression, trained on the clicked ones) and data sparsity. ESMM instead
/// models, over the entire impression space,
///
///     pCTCVR = p(click and convert | x) = pCTR(x) * pCVR(x)
///
/// with a CTR tower and a CVR tower over a *shared* embedding table, and trains with losses on
/// CTR (label: click) and on CTCVR (label: click and convert) only; pCVR gets no direct label and
/// is learned through the product. Here task 0 is the CTR task and each further task t is a
/// post-click event (like, finish...) with its own CVR tower: column t of the logits is
/// logit(pCTR * pCVR_t), so `predict` returns [pCTR, pCTCVR_1, ...] and labels are the
/// unconditional events (liked, which implies clicked). From tower logits a and b,
///
///     logit(sigmoid(a) sigmoid(b)) = -log(e^-a + e^-b + e^-(a+b)),
///
/// evaluated as a log-sum-exp (stable for any a, b).
/// Parameters: embeddings + T towers (`hidden` each). O(B T (n h1 + sum h_i h_{i+1})) per batch.
public final class ESMM: RankModel {
    public let kind = "esmm"
    public let tasks: [String]
    let embedding: FieldEmbedding
    let towers: [TaskTower]
    let taskLoss: TaskLoss

    public init(pipeline: FeaturePipeline, config: RankModelParameters) throws {
        var c = config
        c.taskKinds = Array(repeating: .binary, count: config.tasks.count)
        let o = try MultiTaskOptions(c)
        tasks = o.tasks
        embedding = FieldEmbedding(name: "esmm.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount,
                                   dim: config.embeddingDim, seed: config.seed)
        let n = pipeline.fieldCount * config.embeddingDim + pipeline.denseFeatures.count
        towers = o.tasks.indices.map {
            TaskTower(name: "esmm.\($0 == 0 ? "ctr" : "cvr.\($0)")", input: n, hidden: config.hidden,
                      dropout: config.dropout, seed: config.seed &+ UInt64($0))
        }
        taskLoss = TaskLoss(name: "esmm", options: o)
    }

    public var parameters: [Parameter] { embedding.parameters + towers.flatMap(\.parameters) + taskLoss.parameters }

    /// Tower logits [B, T]: column 0 logit(pCTR), column t logit(pCVR_t).
    public func towerLogits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let x = try deepInput(embedding.fields(batch, tape: tape), batch, tape: tape)
        let z = try towers.map { try $0(x) }
        return z.count == 1 ? z[0] : try Variable.concat(z, axis: 1)
    }

    /// [logit pCTR, logit pCTCVR_1, ...] [B, T].
    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let towerZ = try towerLogits(batch, tape: tape)
        let t = tasks.count
        guard t > 1 else { return towerZ }
        let a = try towerZ.slice(axis: 1, 0..<1)
        var cols = [a]
        for j in 1..<t {
            let b = try towerZ.slice(axis: 1, j..<(j + 1))
            cols.append(try ESMM.productLogit(a, b))
        }
        return try Variable.concat(cols, axis: 1)
    }

    /// logit(sigmoid(a) sigmoid(b)) = -logsumexp(-a, -b, -a-b), for [B, 1] logits.
    static func productLogit(_ a: Variable, _ b: Variable) throws -> Variable {
        let x = try Variable.concat([a * -1, b * -1, (a + b) * -1], axis: 1)  // [B, 3]
        // logSoftmax(x)_0 = -a - logsumexp(x), so adding a leaves -logsumexp(x).
        return try x.logSoftmax().slice(axis: 1, 0..<1) + a
    }

    /// The ESMM loss: cross-entropy of pCTR against clicks plus of each pCTCVR against its
    /// (unconditional) conversion label, over every impression; no loss on pCVR itself.
    /// Task weights as configured (fixed or uncertainty).
    public func loss(logits: Variable, batch: EncodedBatch, tape: Tape) throws -> Variable {
        guard let labels = batch.labels else { throw RankError.data("\(kind): the batch has no labels") }
        return try taskLoss(logits: logits, labels: labels)
    }

    /// pCTR and pCVR_t (post-click conversion) per row, inference mode: [rows][T].
    public func towerProbabilities(_ batch: EncodedBatch) throws -> [[Float]] {
        let tape = Tape(training: false, threads: 1)
        let z = try towerLogits(batch, tape: tape).value
        let t = tasks.count
        return (0..<batch.rows).map { r in (0..<t).map { 1 / (1 + Foundation.exp(-z.base[r * t + $0])) } }
    }
}

extension ESMM: RankModelDefinition {
    public static let name = "esmm"
    public static let summary = "ESMM: click and conversion over the entire space (Ma et al. 2018)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "dropout", "uncertaintyWeighting"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        try ESMM(pipeline: pipeline, config: parameters)
    }
}
