import CascadeTensor
import Foundation

/// Options of ``ThreeTowerTrainer/distill(_:teacher:train:options:log:)``.
public struct DistillationOptions: Codable, Sendable, Equatable {
    /// How the student follows the teacher: BCE against the teacher's probability (soft
    /// targets) or MSE against the teacher's logit.
    public enum Kind: String, Codable, Sendable { case bce, mse }

    public var kind = Kind.bce
    /// Weight of the teacher term; the click-label BCE gets 1 - teacherWeight.
    public var teacherWeight: Float = 0.5
    public var epochs = 3
    public var batchSize = 512
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 7
    public var threads: Int? = 1

    public init() {}
}

public struct DistillationReport: Sendable {
    public var epochLosses: [Double] = []
    public var samplesPerSecond = 0.0
}

/// Trains the pre-rank model to agree with the ranker on impressions (knowledge distillation,
/// Hinton et al., "Distilling the Knowledge in a Neural Network", 2015): per batch,
///
///     loss = teacherWeight * L(z_student, teacher) + (1 - teacherWeight) * BCE(z_student, click)
///
/// with L = BCE on the teacher's click probability (soft targets) or MSE on its click logit. The
/// teacher's logits are computed once, in inference mode. Adam on the dense layers, lazy Adam on
/// the embedding table.
public enum ThreeTowerTrainer {
    public static func distill(_ student: ThreeTower, teacher: any RankModel, train: EncodedBatch,
                               options: DistillationOptions = DistillationOptions(),
                               log: ((String) -> Void)? = nil) throws -> DistillationReport {
        guard let labels = train.labelColumn() else { throw RankError.data("distillation: training rows have no labels") }
        guard train.rows > 0 else { throw RankError.data("distillation: no training rows") }
        guard options.teacherWeight >= 0 && options.teacherWeight <= 1 else {
            throw RankError.config("distillation: teacherWeight must be in [0, 1], got \(options.teacherWeight)")
        }
        let column = teacher.tasks.firstIndex(of: "click") ?? 0
        let teacherLogits = try Self.logits(teacher, train, column: column, threads: options.threads)
        let params = student.parameters
        let dense = Adam(learningRate: options.learningRate), sparse = LazyAdam(learningRate: options.learningRate)
        let denseParams = params.filter { !$0.sparse }, sparseParams = params.filter { $0.sparse }
        var rng = TensorRandom(seed: options.seed)
        var order = Array(0..<train.rows)
        var report = DistillationReport()
        var samples = 0, seconds = 0.0
        for epoch in 1...Swift.max(options.epochs, 1) {
            let started = Date()
            order.shuffle(using: &rng)
            var lossSum = 0.0, batches = 0, start = 0
            while start < train.rows {
                let end = Swift.min(train.rows, start + options.batchSize)
                let idx = order[start..<end]
                let batch = train.rows(idx)
                let y = Tensor(idx.map { labels[$0] })
                let tz = idx.map { teacherLogits[$0] }
                let tape = Tape(training: true, threads: options.threads, seed: rng.next())
                let z = try student.logits(batch, tape: tape)
                let teacherTerm: Variable
                switch options.kind {
                case .bce: teacherTerm = try Loss.binaryCrossEntropy(logits: z, targets: Tensor(tz.map { 1 / (1 + Foundation.exp(-$0)) }))
                case .mse: teacherTerm = try Loss.meanSquaredError(prediction: z, target: Tensor(tz))
                }
                let labelTerm = try Loss.binaryCrossEntropy(logits: z, targets: y)
                let loss = try teacherTerm * options.teacherWeight + labelTerm * (1 - options.teacherWeight)
                try tape.backward(loss)
                try dense.step(denseParams)
                try sparse.step(sparseParams)
                lossSum += Double(loss.scalar)
                batches += 1
                samples += batch.rows
                start = end
            }
            let s = Date().timeIntervalSince(started)
            seconds += s
            report.epochLosses.append(lossSum / Double(batches))
            log?("model=threetower epoch=\(epoch) distill_loss=\(String(format: "%.4f", lossSum / Double(batches))) seconds=\(String(format: "%.2f", s))")
        }
        report.samplesPerSecond = Double(samples) / Swift.max(seconds, 1e-9)
        return report
    }

    /// Column `column` of `model`'s logits for every row, in inference mode, in chunks.
    static func logits(_ model: any RankModel, _ batch: EncodedBatch, column: Int, threads: Int?, chunk: Int = 4096) throws -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(batch.rows)
        var start = 0
        while start < batch.rows {
            let end = Swift.min(batch.rows, start + chunk)
            let part = start == 0 && end == batch.rows ? batch : batch.rows(start..<end)
            let tape = Tape(training: false, threads: threads)
            let z = try model.logits(part, tape: tape).value
            let t = model.tasks.count
            for r in 0..<part.rows { out.append(z.base[r * t + column]) }
            start = end
        }
        return out
    }
}
