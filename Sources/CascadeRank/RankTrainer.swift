import CascadeCore
import CascadeEval
import CascadeTensor
import Foundation

/// Options of `RankTrainer.fit`.
public struct RankTrainingOptions: Codable, Sendable, Equatable {
    public var epochs = 10
    public var batchSize = 512
    public var learningRate: Float = 1e-3
    /// Learning rate of the embedding tables (lazy Adam); nil uses `learningRate`.
    public var embeddingLearningRate: Float?
    /// L2 coefficient on the embedding rows a batch touches (lazy Adam's coupled decay; 0 = none).
    public var embeddingL2: Float = 0
    /// Epochs without a better validation AUC before stopping.
    public var patience = 2
    public var seed: UInt64 = 7
    /// Kernel threads (nil: all cores).
    public var threads: Int? = 1
    /// Decay of an exponential moving average of the weights (Polyak averaging), e.g. 0.999: when
    /// set, validation, early stopping and the kept weights use the average instead of the last
    /// step's weights, which lowers the variance of the chosen model. Costs one pass over every
    /// parameter (embedding tables included) per step. nil: off.
    public var weightAverageDecay: Float?
    /// Feature-id dropout (empty: none); build entries with ``FeaturePipeline/idDropout(_:rate:)``.
    public var idDropout: [IdDropout] = []

    public init() {}

    /// Replaces a training row's id in one sparse column by the field's unknown id with
    /// probability `rate`, so the unknown row learns what an unseen user or item looks like.
    /// On a time split most test users can be new (MovieLens-100K: 86% of the last 10% of
    /// ratings), and without it their shared unknown row keeps its random initial value.
    /// Validation and prediction rows are never changed.
    public struct IdDropout: Codable, Sendable, Equatable {
        /// Column of the feature in `EncodedBatch.sparseIds`.
        public var column: Int
        /// The field's out-of-vocabulary id in the fused table.
        public var unknownId: Int32
        public var rate: Float

        public init(column: Int, unknownId: Int32, rate: Float) {
            self.column = column
            self.unknownId = unknownId
            self.rate = rate
        }
    }
}

/// What a fit did: per-epoch figures, the epoch whose weights were kept, throughput.
public struct RankTrainingReport: Sendable {
    public struct Epoch: Sendable {
        public var epoch: Int
        public var trainLoss: Double
        /// Validation AUC: the mean over tasks of each task's AUC (the first task's alone for a
        /// single-task model).
        public var validAUC: Double?
        /// Validation AUC of each task (NaN when a task's labels are all of one class).
        public var validTaskAUC: [Double] = []
        public var seconds: Double
    }
    public var epochs: [Epoch] = []
    public var bestEpoch = 0
    public var bestValidAUC: Double?
    public var samplesPerSecond = 0.0
}

/// Fits any `RankModel` with mini-batch Adam (dense layers) and lazy Adam (embedding tables, only
/// the rows in each batch) on the model's loss (`RankModel.loss`: binary cross-entropy on every
/// task column unless the model defines its own), rows shuffled each epoch, early stopping on
/// the validation AUC averaged over tasks with the best epoch's weights restored.
public enum RankTrainer {
    public static func fit(_ model: any RankModel, train: EncodedBatch, valid: EncodedBatch?,
                           options: RankTrainingOptions = RankTrainingOptions(),
                           log: ((String) -> Void)? = nil) throws -> RankTrainingReport {
        guard let labels = train.labels else { throw RankError.data("training rows have no labels") }
        guard labels.shape.last == model.tasks.count else {
            throw RankError.data("training labels have \(labels.shape.last) columns, model \(model.kind) has \(model.tasks.count) tasks (\(model.tasks.joined(separator: ", ")))")
        }
        guard train.rows > 0 else { throw RankError.data("no training rows") }
        let params = model.parameters
        let stepper = try RankStepper(model, options: options)
        var rng = TensorRandom(seed: options.seed)
        var report = RankTrainingReport()
        var best: [Tensor]?
        var sinceBest = 0
        var order = Array(0..<train.rows)
        var samples = 0, trainingSeconds = 0.0
        let average = options.weightAverageDecay.map { _ in params.map { $0.value.copy() } }
        var averagedSteps = 0
        for epoch in 1...Swift.max(options.epochs, 1) {
            let started = Date()
            order.shuffle(using: &rng)
            var lossSum = 0.0, batches = 0
            var start = 0
            while start < train.rows {
                let end = Swift.min(train.rows, start + options.batchSize)
                let batch = train.rows(order[start..<end])
                let loss: Float
                do { loss = try stepper.step(batch, rng: &rng) } catch {
                    throw RankError.model("\(model.kind): epoch \(epoch), rows \(start)..<\(end): \(error)")
                }
                if let average, let d = options.weightAverageDecay {
                    averagedSteps += 1
                    // Bias-corrected early on: the first steps average with weight 1/k.
                    let a = Swift.min(d, 1 - 1 / Float(averagedSteps))
                    for (p, m) in zip(params, average) { blend(m, toward: p.value, keeping: a) }
                }
                lossSum += Double(loss)
                batches += 1
                samples += batch.rows
                start = end
            }
            let seconds = Date().timeIntervalSince(started)
            trainingSeconds += seconds
            var auc: Double?
            var taskAUC: [Double] = []
            // With weight averaging, evaluate (and keep) the averaged weights; training resumes
            // from the last step's weights.
            let current = average.map { _ in params.map { $0.value.copy() } }
            if let average { for (p, m) in zip(params, average) { try p.value.assign(m) } }
            defer { if let current { for (p, c) in zip(params, current) { try? p.value.assign(c) } } }
            if let valid, valid.labels != nil {
                taskAUC = try validationAUC(model, valid, threads: options.threads)
                let defined = taskAUC.filter { !$0.isNaN }
                auc = defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
            }
            report.epochs.append(.init(epoch: epoch, trainLoss: lossSum / Double(batches), validAUC: auc,
                                       validTaskAUC: taskAUC, seconds: seconds))
            log?("model=\(model.kind) epoch=\(epoch) train_loss=\(String(format: "%.4f", lossSum / Double(batches)))"
                 + (auc.map { " valid_auc=\(String(format: "%.4f", $0))" } ?? "")
                 + (taskAUC.count > 1 ? " valid_task_auc=" + taskAUC.map { String(format: "%.4f", $0) }.joined(separator: ",") : "")
                 + " seconds=\(String(format: "%.2f", seconds))")
            guard let a = auc else {
                report.bestEpoch = epoch
                if average != nil { best = params.map { $0.value.copy() } }
                continue
            }
            if a > (report.bestValidAUC ?? -1) {
                report.bestValidAUC = a
                report.bestEpoch = epoch
                best = params.map { $0.value.copy() }
                sinceBest = 0
            } else {
                sinceBest += 1
                if sinceBest >= options.patience { break }
            }
        }
        if let best {
            for (p, v) in zip(params, best) { try p.value.assign(v) }
        }
        report.samplesPerSecond = Double(samples) / Swift.max(trainingSeconds, 1e-9)
        return report
    }

    /// m = a * m + (1 - a) * x, elementwise. O(count).
    static func blend(_ m: Tensor, toward x: Tensor, keeping a: Float) {
        let pm = m.base, px = x.base, b = 1 - a
        for k in 0..<m.count { pm[k] = a * pm[k] + b * px[k] }
    }

    /// AUC of each task on `valid` (labels binarized by the task's kind; NaN for a task whose
    /// labels are all of one class). O(rows log rows) per task plus a forward pass.
    public static func validationAUC(_ model: any RankModel, _ valid: EncodedBatch, threads: Int? = 1) throws -> [Double] {
        guard let labels = valid.labels else { return [] }
        let p = try model.predict(valid, threads: threads)
        let kinds = model.taskKinds, w = labels.shape.last
        return try (0..<model.tasks.count).map { t in
            let y = (0..<valid.rows).map { kinds[t].binarized(labels.base[$0 * w + t]) }
            return try ClassificationMetrics.auc(labels: y, scores: p.map { $0[t] }) ?? .nan
        }
    }
}

/// One optimizer state over a model's parameters: mini-batch Adam on the dense layers and lazy
/// Adam on the embedding tables (only the rows a batch looks up), with feature-id dropout. Both
/// the epoch loop of ``RankTrainer`` and the streaming updates of ``OnlineRankLearner`` step
/// through it, so a model trained offline and then online follows one update rule.
public final class RankStepper {
    public let model: any RankModel
    public let options: RankTrainingOptions
    let dense: Adam, sparse: LazyAdam
    let denseParams: [Parameter], sparseParams: [Parameter]

    public init(_ model: any RankModel, options: RankTrainingOptions) throws {
        if let d = options.weightAverageDecay, !(d > 0 && d < 1) {
            throw RankError.config("weight average decay \(d) is not in (0, 1)")
        }
        self.model = model
        self.options = options
        dense = Adam(learningRate: options.learningRate)
        sparse = LazyAdam(learningRate: options.embeddingLearningRate ?? options.learningRate, weightDecay: options.embeddingL2)
        let params = model.parameters
        denseParams = params.filter { !$0.sparse }
        sparseParams = params.filter { $0.sparse }
    }

    /// One update on `batch` (a fresh copy: id dropout writes into its ids). Returns the loss
    /// before the update. O(forward + backward + touched parameters).
    public func step(_ batch: EncodedBatch, rng: inout TensorRandom) throws -> Float {
        if !options.idDropout.isEmpty { Self.dropIds(batch, options.idDropout, &rng) }
        let tape = Tape(training: true, threads: options.threads, seed: rng.next())
        let z = try model.logits(batch, tape: tape)
        let loss = try model.loss(logits: z, batch: batch, tape: tape)
        try tape.backward(loss)
        try dense.step(denseParams)
        try sparse.step(sparseParams)
        return loss.scalar
    }

    /// Applies feature-id dropout to a fresh mini-batch (its own copy of the ids). O(rows x entries).
    static func dropIds(_ batch: EncodedBatch, _ drops: [RankTrainingOptions.IdDropout], _ rng: inout TensorRandom) {
        let w = batch.sparseIds.shape.last
        for r in 0..<batch.rows {
            for d in drops where rng.nextUnitFloat() < d.rate {
                batch.sparseIds.base[r * w + d.column] = d.unknownId
            }
        }
    }
}
