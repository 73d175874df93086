import Foundation
import Testing
import CascadeTensor
@testable import CascadeRank

/// The position tower: its gradient, that it adds nothing where no slot is known, and that it
/// undoes a logging system's placement (an item shown low looks worse than it is).
@Suite struct PositionBiasTowerTests {
    static let config = FeatureConfig(label: "label", features: [FeatureSpec(name: "item", kind: .categorical)])

    @Test func gradientThroughTheOffsetsAndTheInnerModel() throws {
        let frame = FeatureFrame(rowCount: 6, columns: ["item": ["a", "b", "a", "c", "b", "a"], "label": ["1", "0", "0", "1", "1", "0"]])
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: frame)
        var batch = try pipeline.encode(frame)
        batch.positions = [0, 1, 2, 3, 5, -1]
        var p = RankModelParameters()
        p.embeddingDim = 3
        p.hidden = [4]
        p.tasks = ["click", "like"]
        let tower = try PositionBiasTower(inner: try RankModelRegistry.make("mmoe", pipeline: pipeline, parameters: p), slots: 4)
        for q in tower.parameters {
            try q.value.add(Tensor.normal(q.value.shape.dims, std: 0.3, seed: UInt64(q.name.utf8.count) &* 17))
        }
        let r = try GradientCheck.check(inputs: [], parameters: tower.parameters, epsilon: 1e-3, maxElementsPerTensor: 24) { tape, _ in
            try tower.logits(batch, tape: tape)
        }
        #expect(r.passed, "\(r)")
        // The top slot and rows without a slot get no offset; slot 5 shares slot 3's (the last).
        let z = try tower.logits(batch, tape: Tape(training: false)).value.toArray()
        let inner = try tower.inner.logits(batch, tape: Tape(training: false)).value.toArray()
        #expect(z[0] == inner[0] && z[1] == inner[1] && z[10] == inner[10] && z[11] == inner[11])
        #expect(abs(z[8] - inner[8] - tower.offset(slot: 3, task: 0)) < 1e-6)
        #expect(abs(z[9] - inner[9] - tower.offset(slot: 3, task: 1)) < 1e-6)
        batch.positions = nil
        #expect(try tower.logits(batch, tape: Tape(training: false)).value.toArray() == inner)
    }

    /// Item "good" (true click rate 0.4 when looked at) is mostly shown at slot 3, examined with
    /// probability 0.44; item "fair" (0.25) mostly at the top. Clicks alone say fair > good; the
    /// tower learns the slot's share and leaves the model good > fair, with e(3) near 0.44.
    @Test func undoesTheLoggedPlacement() throws {
        var rng = TensorRandom(seed: 5)
        var items: [String] = [], labels: [String] = [], positions: [Int32] = []
        let examination: [Double] = [1, 0.66, 0.52, 0.44]
        for k in 0..<20_000 {
            let good = k % 2 == 0
            let mostly: Int32 = good ? 3 : 0, other: Int32 = good ? 0 : 3
            let slot = Double(rng.next() % 1000) / 1000 < 0.8 ? mostly : other
            let p = (good ? 0.4 : 0.25) * examination[Int(slot)]
            items.append(good ? "good" : "fair")
            labels.append(Double(rng.next() % 1_000_000) / 1_000_000 < p ? "1" : "0")
            positions.append(slot)
        }
        let frame = FeatureFrame(rowCount: items.count, columns: ["item": items, "label": labels])
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: frame)
        var batch = try pipeline.encode(frame)
        batch.positions = positions
        var options = RankTrainingOptions()
        options.epochs = 4
        options.learningRate = 0.05
        options.threads = 1
        func score(_ model: any RankModel) throws -> (good: Float, fair: Float) {
            let probe = try pipeline.encode(FeatureFrame(rowCount: 2, columns: ["item": ["good", "fair"], "label": ["0", "0"]]))
            let p = try model.predict(probe)
            return (p[0][0], p[1][0])
        }
        let plain = LogisticRegression(pipeline: pipeline, config: RankModelParameters())
        _ = try RankTrainer.fit(plain, train: batch, valid: nil, options: options)
        let plainScores = try score(plain)
        #expect(plainScores.fair > plainScores.good)

        let tower = try PositionBiasTower(inner: LogisticRegression(pipeline: pipeline, config: RankModelParameters()), slots: 4)
        _ = try RankTrainer.fit(tower, train: batch, valid: nil, options: options)
        let debiased = try score(tower.inner)
        #expect(debiased.good > debiased.fair, "\(debiased)")
        // Near the truth at the top slot: 0.4 and 0.25.
        #expect(abs(debiased.good - 0.4) < 0.05 && abs(debiased.fair - 0.25) < 0.05, "\(debiased)")
        let curve = tower.curve(task: 0, baseRate: 0.3)
        #expect(abs(curve[0] - 1) < 1e-9)
        #expect(abs(curve[3] - 0.44) < 0.08, "\(curve)")
    }

    /// A tower held at a given curve: its offsets are log curve[k] for probability tasks and 0
    /// for watch time, it offers the optimizer nothing of its own, and training leaves them.
    @Test func aFixedCurveIsHeldWhileTheInnerModelLearns() throws {
        let frame = FeatureFrame(rowCount: 4, columns: ["item": ["a", "b", "a", "c"], "label": ["1", "0", "0", "1"]])
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: frame)
        var p = RankModelParameters()
        p.embeddingDim = 3
        p.hidden = [4]
        p.tasks = ["click", "watch_time"]
        let inner = try RankModelRegistry.make("mmoe", pipeline: pipeline, parameters: p)
        let curve = [1, 0.66, 0.52, 0.44]
        let tower = try PositionBiasTower(inner: inner, curve: curve)
        #expect(tower.fixed && tower.parameters.count == inner.parameters.count)
        for k in 0..<4 {
            #expect(abs(Double(tower.offset(slot: k, task: 0)) - Foundation.log(curve[k])) < 1e-6)
            #expect(tower.offset(slot: k, task: 1) == 0)
        }
        #expect(abs(tower.curve(task: 0, baseRate: 1e-4)[3] - 0.44) < 1e-3)
        var batch = try pipeline.encode(frame)
        batch.positions = [0, 3, 1, 2]
        var options = RankTrainingOptions()
        options.epochs = 2
        options.threads = 1
        let held = try PositionBiasTower(inner: LogisticRegression(pipeline: pipeline, config: RankModelParameters()), curve: curve)
        let before = held.inner.parameters.map { $0.value.toArray() }
        _ = try RankTrainer.fit(held, train: batch, valid: nil, options: options)
        #expect(abs(Double(held.offset(slot: 2, task: 0)) - Foundation.log(0.52)) < 1e-6)
        #expect(held.inner.parameters.map { $0.value.toArray() } != before, "the inner model learned")
        for bad in [[1.0], [0.9, 0.5], [1, 0], [1, 1.2], [1, .nan]] {
            #expect(throws: RankError.self) { try PositionBiasTower(inner: inner, curve: bad) }
        }
    }
}
