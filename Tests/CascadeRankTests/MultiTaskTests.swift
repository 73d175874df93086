import Foundation
import Testing
import CascadeTensor
@testable import CascadeRank

/// Multi-task models: whole-model gradients (logits and losses), ESMM's product, task kinds,
/// uncertainty weighting, and that training learns every task.
@Suite struct MultiTaskTests {
    static let tasks = ["click", "like", "finish"]

    /// Rows where click depends on the item, like on the user (given a click), finish on the genre.
    static func frame(rows: Int, seed: UInt64) -> FeatureFrame {
        var f = RankModelTests.frame(rows: rows, seed: seed)
        var rng = TensorRandom(seed: seed &+ 99)
        var click: [String] = [], like: [String] = [], finish: [String] = [], watch: [String] = []
        for r in 0..<rows {
            let c = ["i0", "i1", "i2", "i3"].contains(f.columns["item"]![r])
            let l = c && ["u0", "u1"].contains(f.columns["user"]![r])
            let fin = c && f.columns["genres"]![r].contains("a")
            click.append(c ? "1" : "0"); like.append(l ? "1" : "0"); finish.append(fin ? "1" : "0")
            watch.append(c ? String(5 + rng.nextUnitFloat() * (fin ? 60 : 10)) : "0")
        }
        f.columns["click"] = click; f.columns["like"] = like; f.columns["finish"] = finish; f.columns["watch_time"] = watch
        return f
    }

    static func config(_ tasks: [String] = tasks) -> RankModelParameters {
        var c = RankModelParameters()
        c.embeddingDim = 3
        c.hidden = [5, 4]
        c.crossLayers = 2
        c.tasks = tasks
        c.experts = 3
        c.expertHidden = [4]
        c.towerHidden = [3]
        return c
    }

    static func perturb(_ model: any RankModel) throws {
        for p in model.parameters {
            try p.value.add(Tensor.normal(p.value.shape.dims, std: 0.3, seed: UInt64(p.name.utf8.count) &* 31 &+ 7))
        }
    }

    @Test(arguments: ["sharedbottom", "mmoe", "dcnv2-mmoe", "esmm"])
    func wholeModelGradient(name: String) throws {
        let pipeline = try FeaturePipeline(config: RankModelTests.config, fitOn: Self.frame(rows: 40, seed: 1))
        let tasks = Self.tasks + (name == "esmm" ? [] : ["watch_time"])
        let batch = try pipeline.encode(Self.frame(rows: 4, seed: 2), labelColumns: tasks)
        for uncertainty in [false, true] {
            var c = Self.config(tasks)
            c.expertDropout = 0.3
            c.uncertaintyWeighting = uncertainty
            c.taskWeights = uncertainty ? nil : [1, 0.5, 2, 0.1].prefix(tasks.count).map { $0 }
            let model = try RankModelRegistry.make(name, pipeline: pipeline, parameters: c)
            try Self.perturb(model)
            let logits = try GradientCheck.check(inputs: [], parameters: model.parameters, epsilon: 1e-3, maxElementsPerTensor: 24) { tape, _ in
                try model.logits(batch, tape: tape)
            }
            #expect(logits.passed, "\(name) logits: \(logits)")
            let loss = try GradientCheck.check(inputs: [], parameters: model.parameters, epsilon: 1e-3, maxElementsPerTensor: 24) { tape, _ in
                try model.loss(logits: model.logits(batch, tape: tape), batch: batch, tape: tape)
            }
            #expect(loss.passed, "\(name) loss (uncertainty \(uncertainty)): \(loss)")
        }
    }

    @Test func esmmCTCVRIsTheProductOfCTRAndCVR() throws {
        let pipeline = try FeaturePipeline(config: RankModelTests.config, fitOn: Self.frame(rows: 40, seed: 1))
        let batch = try pipeline.encode(Self.frame(rows: 16, seed: 3), labelColumns: Self.tasks)
        let model = try ESMM(pipeline: pipeline, config: Self.config())
        try Self.perturb(model)
        // Large logits too: the log-sum-exp form must stay exact where sigmoids saturate.
        for p in model.towers.map(\.head.bias!) { try p.value.add(Tensor(shape: p.value.shape.dims, repeating: 4)) }
        let served = try model.predict(batch)
        let towers = try model.towerProbabilities(batch)
        for (s, t) in zip(served, towers) {
            #expect(abs(s[0] - t[0]) < 1e-6)
            for j in 1..<Self.tasks.count {
                #expect(abs(s[j] - t[0] * t[j]) < 1e-5 * max(1, s[j]), "pCTCVR \(s[j]) vs pCTR \(t[0]) x pCVR \(t[j])")
            }
        }
        // The product logit itself, against direct evaluation, for extreme tower logits.
        let tape = Tape(training: false)
        for (a, b) in [(Float(0), Float(0)), (3, -2), (-12, 9), (15, 15), (-20, -25)] {
            let z = try ESMM.productLogit(tape.constant(Tensor(shape: [1, 1], values: [a])), tape.constant(Tensor(shape: [1, 1], values: [b]))).scalar
            let p = (1 / (1 + exp(-Double(a)))) * (1 / (1 + exp(-Double(b))))
            let expected = log(p) - log1p(-p)
            #expect(abs(Double(z) - expected) < 1e-4 * max(1, abs(expected)), "a \(a) b \(b): \(z) vs \(expected)")
        }
    }

    @Test func taskKindsAndServing() throws {
        #expect(TaskKind.inferred("click") == .binary)
        #expect(TaskKind.inferred("finish") == .completion)
        #expect(TaskKind.inferred("watch_time") == .watchTime)
        #expect(abs(TaskKind.watchTime.serve(log(42)) - 42) < 1e-3)
        #expect(abs(TaskKind.binary.serve(0) - 0.5) < 1e-7)
        let pipeline = try FeaturePipeline(config: RankModelTests.config, fitOn: Self.frame(rows: 40, seed: 1))
        let batch = try pipeline.encode(Self.frame(rows: 8, seed: 2), labelColumns: ["click", "watch_time"])
        let model = try MMoE(pipeline: pipeline, config: Self.config(["click", "watch_time"]))
        #expect(model.taskKinds == [.binary, .watchTime])
        let tape = Tape(training: false)
        let z = try model.logits(batch, tape: tape).value
        let p = try model.predict(batch)
        for r in 0..<batch.rows {
            #expect(abs(p[r][0] - 1 / (1 + exp(-z[r, 0]))) < 1e-6)
            #expect(abs(p[r][1] - exp(z[r, 1])) < 1e-5 * max(1, p[r][1]))
        }
    }

    @Test func uncertaintyWeightingFollowsKendall() throws {
        let pipeline = try FeaturePipeline(config: RankModelTests.config, fitOn: Self.frame(rows: 40, seed: 1))
        let batch = try pipeline.encode(Self.frame(rows: 8, seed: 2), labelColumns: Self.tasks)
        var c = Self.config()
        c.uncertaintyWeighting = true
        let model = try SharedBottom(pipeline: pipeline, config: c)
        let s: [Float] = [0.5, -1, 2]
        try model.taskLoss.logVariance!.value.assign(Tensor(s))
        let tape = Tape(training: false)
        let z = try model.logits(batch, tape: tape)
        let per = try model.taskLoss.taskLosses(logits: z, labels: batch.labels!).value.toArray()
        let total = try model.loss(logits: z, batch: batch, tape: tape).scalar
        var expected: Float = 0
        for t in 0..<3 { expected += exp(-s[t]) * per[t] + s[t] / 2 }
        #expect(abs(total - expected) < 1e-5)
        // Each per-task loss is the plain BCE of its column.
        for t in 0..<3 {
            let bce = try Loss.binaryCrossEntropy(logits: z.slice(axis: 1, t..<(t + 1)), targets: TaskLoss.column(batch.labels!, t)).scalar
            #expect(abs(per[t] - bce) < 1e-6)
        }
    }

    @Test func expertDropoutRenormalizesTheGate() throws {
        let pipeline = try FeaturePipeline(config: RankModelTests.config, fitOn: Self.frame(rows: 40, seed: 1))
        let batch = try pipeline.encode(Self.frame(rows: 64, seed: 2), labelColumns: Self.tasks)
        var c = Self.config()
        c.expertDropout = 0.5
        let model = try MMoE(pipeline: pipeline, config: c)
        let tape = Tape(training: true, seed: 3)
        let x = try deepInput(model.embedding.fields(batch, tape: tape), batch, tape: tape)
        let g = try model.mixture.gate(0, x).value
        var dropped = 0
        for r in 0..<batch.rows {
            var sum: Float = 0
            for e in 0..<3 { sum += g[r, e]; if g[r, e] == 0 { dropped += 1 } }
            #expect(abs(sum - 1) < 1e-5)
        }
        #expect(dropped > 30 && dropped < 160, "dropped \(dropped) of 192 gate weights at p = 0.5")
        let usage = try model.gateUsage(batch)
        #expect(usage.count == 3 && usage.allSatisfy { abs($0.reduce(0, +) - 1) < 1e-4 })
    }

    @Test(arguments: ["sharedbottom", "mmoe", "dcnv2-mmoe", "esmm"])
    func trainingLearnsEveryTask(name: String) throws {
        let f = Self.frame(rows: 1200, seed: 5)
        let pipeline = try FeaturePipeline(config: RankModelTests.config, fitOn: f)
        let data = try pipeline.encode(f, labelColumns: Self.tasks)
        var c = Self.config()
        c.embeddingDim = 4
        c.hidden = [16, 8]
        c.expertHidden = [8]
        c.towerHidden = [8]
        let model = try RankModelRegistry.make(name, pipeline: pipeline, parameters: c)
        var options = RankTrainingOptions()
        options.epochs = 12
        options.batchSize = 64
        options.learningRate = 0.02
        options.patience = 12
        let report = try RankTrainer.fit(model, train: data, valid: data, options: options)
        let best = report.epochs.first { $0.epoch == report.bestEpoch }!
        #expect(best.validTaskAUC.count == 3)
        for (t, auc) in best.validTaskAUC.enumerated() { #expect(auc > 0.95, "\(name) task \(Self.tasks[t]): \(auc)") }
    }
}
