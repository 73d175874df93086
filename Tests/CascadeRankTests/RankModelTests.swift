import Foundation
import Testing
import CascadeTensor
@testable import CascadeRank

/// Whole-model gradient checks on a tiny batch, FM's O(kn) identity, the registry's errors.
@Suite struct RankModelTests {
    static let config = FeatureConfig(label: "label", features: [
        FeatureSpec(name: "user", kind: .categorical),
        FeatureSpec(name: "item", kind: .categorical),
        FeatureSpec(name: "genres", kind: .bag),
        FeatureSpec(name: "age", kind: .numeric, transform: .standardize),
        .sequence(name: "hist_item", source: "item", user: "user", time: "ts", length: 6, side: "genres"),
    ])

    static func frame(rows: Int, seed: UInt64) -> FeatureFrame {
        var rng = TensorRandom(seed: seed)
        let genres = ["a", "b", "c", "a|b", "b|c|a", ""]
        var cols: [String: [String]] = ["label": [], "user": [], "item": [], "genres": [], "age": [], "ts": []]
        for _ in 0..<rows {
            cols["user"]!.append("u\(rng.next() % 5)")
            cols["item"]!.append("i\(rng.next() % 7)")
            cols["genres"]!.append(genres[Int(rng.next() % 6)])
            cols["age"]!.append("\(18 + rng.next() % 40)")
            cols["ts"]!.append("\(1_000_000 + rng.next() % 1_000_000)")
            cols["label"]!.append(rng.next() % 2 == 0 ? "1" : "0")
        }
        return FeatureFrame(rowCount: rows, columns: cols)
    }

    func smallConfig() -> RankModelParameters {
        var c = RankModelParameters()
        c.embeddingDim = 3
        c.hidden = [5, 4]
        c.crossLayers = 2
        c.attentionHidden = [4]
        c.simTopK = 3
        c.gateHidden = 3
        return c
    }

    @Test(arguments: RankModelRegistry.names)
    func wholeModelGradient(name: String) throws {
        let train = Self.frame(rows: 40, seed: 1)
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: train)
        let rows = Self.frame(rows: 4, seed: 2)
        // Histories of the 4 rows from the 40 training rows and themselves.
        let batch = try pipeline.encode(rows, history: pipeline.history(from: [train, rows]))
        #expect(batch.histories[0].mask.toArray().reduce(0, +) > 4)
        let model = try RankModelRegistry.make(name, pipeline: pipeline, parameters: smallConfig())
        // Move embeddings and zero-initialized weights off their starting points so every path is exercised.
        for p in model.parameters {
            let noise = Tensor.normal(p.value.shape.dims, std: 0.3, seed: UInt64(p.name.utf8.count) &* 31)
            try p.value.add(noise)
        }
        let r = try GradientCheck.check(inputs: [], parameters: model.parameters, epsilon: 1e-3, maxElementsPerTensor: 24) { tape, _ in
            try model.logits(batch, tape: tape)
        }
        #expect(r.passed, "\(name): \(r)")
    }

    @Test func fmFastFormEqualsPairwiseSum() throws {
        let v = Tensor.normal([3, 5, 4], seed: 9)
        let tape = Tape()
        let fast = try FactorizationMachine.interaction(tape.constant(v)).value.toArray()
        let naive = FactorizationMachine.pairwiseNaive(v)
        for (a, b) in zip(fast, naive) { #expect(abs(a - b) < 1e-4 * max(1, abs(b))) }
    }

    @Test func simHardSearchKeepsTheCandidatesCategory() throws {
        // One row, 5 steps (most recent first), categories 7 8 7 7 9 (last step padding), candidate category 7.
        let h = EncodedBatch.History(
            name: "h", ids: try IndexTensor(shape: [1, 5], ids: [10, 11, 12, 13, 14]),
            mask: try Tensor(shape: [1, 5], values: [1, 1, 1, 1, 0]), timeBuckets: try IndexTensor(shape: [1, 5], ids: [1, 2, 3, 4, 0]),
            candidate: IndexTensor([Int32(20)]), side: try IndexTensor(shape: [1, 5], ids: [7, 8, 7, 7, 9]),
            candidateSide: IndexTensor([Int32(7)]))
        let top2 = SIM.hardSearch(h, k: 2)
        #expect(top2.ids.toArray() == [10, 12] && top2.timeBuckets.toArray() == [1, 3] && top2.mask.toArray() == [1, 1])
        let top4 = SIM.hardSearch(h, k: 4)
        #expect(Array(top4.ids.toArray().prefix(3)) == [10, 12, 13] && top4.mask.toArray() == [1, 1, 1, 0])
        // Unknown candidate category: the most recent steps.
        let recent = SIM.hardSearch(h, k: 3, unknownSide: 7)
        #expect(recent.ids.toArray() == [10, 11, 12] && recent.mask.toArray() == [1, 1, 1])
    }

    @Test func sequenceModelsNeedASequenceFeature() throws {
        let plain = FeatureConfig(label: "label", features: Array(Self.config.features.dropLast()))
        let pipeline = try FeaturePipeline(config: plain, fitOn: Self.frame(rows: 10, seed: 1))
        #expect(throws: RankError.self) { try RankModelRegistry.make("din", pipeline: pipeline) }
        #expect(throws: RankError.self) { try RankModelRegistry.make("sim", pipeline: pipeline) }
        _ = try RankModelRegistry.make("fibinet", pipeline: pipeline)
        _ = try RankModelRegistry.make("lhuc", pipeline: pipeline)
    }

    @Test func unknownModelIsRejected() throws {
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: Self.frame(rows: 10, seed: 1))
        #expect(throws: RankError.self) { try RankModelRegistry.make("xgboost", pipeline: pipeline) }
    }

    @Test func trainingLearnsASignal() throws {
        // Label = 1 exactly for items i0..i2: every model must rank those above the rest.
        var f = Self.frame(rows: 800, seed: 3)
        f.columns["label"] = f.columns["item"]!.map { ["i0", "i1", "i2"].contains($0) ? "1" : "0" }
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: f)
        let data = try pipeline.encode(f)
        for name in ["lr", "deepfm", "dcnv2", "din", "sim", "fibinet", "lhuc"] {
            let model = try RankModelRegistry.make(name, pipeline: pipeline, parameters: smallConfig())
            var options = RankTrainingOptions()
            options.epochs = 8
            options.batchSize = 64
            options.learningRate = 0.02
            let report = try RankTrainer.fit(model, train: data, valid: data, options: options)
            #expect((report.bestValidAUC ?? 0) > 0.99, "\(name): \(report.bestValidAUC ?? 0)")
        }
    }

    @Test func weightAveragingKeepsTheAverageAndStillLearns() throws {
        var f = Self.frame(rows: 800, seed: 3)
        f.columns["label"] = f.columns["item"]!.map { ["i0", "i1", "i2"].contains($0) ? "1" : "0" }
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: f)
        let data = try pipeline.encode(f)
        var options = RankTrainingOptions()
        options.epochs = 6
        options.batchSize = 64
        options.learningRate = 0.02
        options.weightAverageDecay = 0.9
        let averaged = try RankModelRegistry.make("dcnv2", pipeline: pipeline, parameters: smallConfig())
        let report = try RankTrainer.fit(averaged, train: data, valid: data, options: options)
        #expect((report.bestValidAUC ?? 0) > 0.99)
        // The reported validation AUC is that of the kept (averaged) weights.
        let kept = try RankTrainer.validationAUC(averaged, data)[0]
        #expect(abs(kept - (report.bestValidAUC ?? 0)) < 1e-9)
        options.weightAverageDecay = 1
        #expect(throws: RankError.self) {
            try RankTrainer.fit(RankModelRegistry.make("lr", pipeline: pipeline, parameters: smallConfig()), train: data, valid: nil, options: options)
        }
        // m = a m + (1 - a) x: 0.25 * 4 + 0.75 * 8 = 7.
        let m = try Tensor(shape: [2], values: [4, 0]), x = try Tensor(shape: [2], values: [8, -4])
        RankTrainer.blend(m, toward: x, keeping: 0.25)
        #expect(m.toArray() == [7, -3])
    }

    /// Each built-in model's declaration agrees with the model it builds: its name is the
    /// model's kind, a multi-task model learns every asked task and a single-task one the first,
    /// and it lists only declared options; every declared option is read by some model.
    @Test(arguments: RankModelRegistry.builtIn.map { $0.name })
    func declarationAgreesWithTheModel(name: String) throws {
        let d = try #require(RankModelRegistry.definition(named: name))
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: Self.frame(rows: 40, seed: 1))
        var p = smallConfig()
        p.tasks = ["click", "like"]
        let model = try d.make(pipeline: pipeline, parameters: p)
        #expect(model.kind == name)
        #expect(model.tasks == (d.multiTask ? ["click", "like"] : ["click"]))
        let keys = Set(RankModelParameters.settings.map(\.key))
        #expect(d.options.allSatisfy(keys.contains), "\(name) lists an undeclared option: \(d.options)")
        for alias in d.aliases { #expect(RankModelRegistry.definition(named: alias.uppercased())?.name == name) }
    }

    @Test func everyDeclaredOptionIsReadAndRoundTrips() throws {
        for s in RankModelParameters.settings {
            #expect(!RankModelRegistry.readers(of: s.key).isEmpty, "\(s.key) is read by no model")
            #expect(s.doc.contains("Read by: "))
            var p = RankModelParameters()
            let before = p
            try s.write(&p, s.read(before))
            #expect(p == before, "\(s.key) does not read back what it writes")
            #expect(throws: (any Error).self) { try s.write(&p, "") }
            #expect(p == before, "\(s.key): a refused value changed the parameters")
        }
        var p = RankModelParameters()
        try #require(RankModelParameters.settings.first { $0.key == "expertHidden" }).write(&p, "32,16")
        #expect(p.expertHidden == [32, 16])
        try #require(RankModelParameters.settings.first { $0.key == "expertHidden" }).write(&p, "none")
        #expect(p.expertHidden == nil)
    }
}
