import CascadeTensor
import Foundation
import Testing
@testable import CascadeRank

/// The pre-rank three-tower model: sides from the feature config, gradients, the serving path
/// against the tape path, and distillation from a ranker.
@Suite struct ThreeTowerTests {
    static let config = FeatureConfig(label: "label", features: [
        FeatureSpec(name: "user", kind: .categorical, side: .user),
        FeatureSpec(name: "age", kind: .numeric, transform: .standardize, side: .user),
        FeatureSpec(name: "item", kind: .categorical, side: .item),
        FeatureSpec(name: "genres", kind: .bag, side: .item),
        FeatureSpec(name: "ctr", kind: .numeric, side: .item),
        FeatureSpec(name: "hour", kind: .categorical),
        FeatureSpec(name: "match", kind: .numeric),
    ])

    static func frame(rows: Int, seed: UInt64) -> FeatureFrame {
        var rng = TensorRandom(seed: seed)
        let genres = ["a", "b", "c", "a|b", "b|c|a", ""]
        var cols: [String: [String]] = [:]
        for k in ["label", "user", "age", "item", "genres", "ctr", "hour", "match"] { cols[k] = [] }
        for _ in 0..<rows {
            let u = rng.next() % 6, i = rng.next() % 9
            cols["user"]!.append("u\(u)")
            cols["age"]!.append("\(18 + u * 7)")
            cols["item"]!.append("i\(i)")
            cols["genres"]!.append(genres[Int(i % 6)])
            cols["ctr"]!.append("\(Double(i) / 20)")
            cols["hour"]!.append("\(rng.next() % 4)")
            let m = (u + i) % 3 == 0
            cols["match"]!.append(m ? "1" : "0")
            cols["label"]!.append(m || rng.next() % 5 == 0 ? "1" : "0")
        }
        return FeatureFrame(rowCount: rows, columns: cols)
    }

    func small() -> ThreeTowerParameters {
        var c = ThreeTowerParameters()
        c.embeddingDim = 3
        c.hidden = [5]
        c.vectorDim = 4
        return c
    }

    @Test func sideIsDecodedAndDefaultsToContext() throws {
        let json = #"{ "features": [ { "name": "u", "kind": "categorical", "side": "user" }, { "name": "x", "kind": "numeric" } ] }"#
        let c = try FeatureConfig.decode(Data(json.utf8))
        #expect(c.features[0].side == .user && c.features[0].resolvedSide == .user)
        #expect(c.features[1].side == nil && c.features[1].resolvedSide == .context)
        #expect(throws: RankError.self) {
            try FeatureConfig.decode(Data(#"{ "features": [ { "name": "u", "kind": "categorical", "side": "author" } ] }"#.utf8))
        }
        let back = try JSONDecoder().decode(FeatureConfig.self, from: JSONEncoder().encode(Self.config))
        #expect(back == Self.config)
    }

    @Test func gradientCheck() throws {
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: Self.frame(rows: 60, seed: 1))
        let batch = try pipeline.encode(Self.frame(rows: 4, seed: 2))
        let model = try ThreeTower(pipeline: pipeline, config: small())
        for p in model.parameters {
            try p.value.add(Tensor.normal(p.value.shape.dims, std: 0.3, seed: UInt64(p.name.utf8.count) &* 17))
        }
        let r = try GradientCheck.check(inputs: [], parameters: model.parameters, epsilon: 1e-3, maxElementsPerTensor: 24) { tape, _ in
            try model.logits(batch, tape: tape)
        }
        #expect(r.passed, "\(r)")
    }

    @Test func servingPathEqualsTapePath() throws {
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: Self.frame(rows: 200, seed: 1))
        var c = ThreeTowerParameters()
        c.embeddingDim = 8
        c.hidden = [16]
        c.vectorDim = 8
        let model = try ThreeTower(pipeline: pipeline, config: c)
        for p in model.parameters { try p.value.add(Tensor.normal(p.value.shape.dims, std: 0.2, seed: 3)) }
        // One request: the same user on every candidate row.
        var f = Self.frame(rows: 300, seed: 4)
        f.columns["user"] = Array(repeating: "u2", count: 300)
        f.columns["age"] = Array(repeating: "32", count: 300)
        let batch = try pipeline.encode(f)
        let tape = Tape(training: false, threads: 1)
        let expected = try model.logits(batch, tape: tape).value.toArray()
        let u = model.userVector(batch)
        let items = model.itemVectors(batch)
        var scratch: [Float] = [], out: [Float] = []
        try model.score(user: u, items: items, context: batch, scratch: &scratch, into: &out)
        #expect(out.count == expected.count)
        for (a, b) in zip(out, expected) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b)), "\(a) vs \(b)") }
    }

    @Test func missingSideIsRejected() throws {
        let config = FeatureConfig(label: "label", features: [FeatureSpec(name: "user", kind: .categorical, side: .user),
                                                             FeatureSpec(name: "hour", kind: .categorical)])
        let pipeline = try FeaturePipeline(config: config, fitOn: Self.frame(rows: 20, seed: 1))
        #expect(throws: RankError.self) { try ThreeTower(pipeline: pipeline) }
    }

    @Test(arguments: [DistillationOptions.Kind.bce, .mse])
    func distillationAgreesWithTheRanker(kind: DistillationOptions.Kind) throws {
        let f = Self.frame(rows: 1500, seed: 5)
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: f)
        let data = try pipeline.encode(f)
        var rc = RankModelParameters()
        rc.embeddingDim = 4
        rc.hidden = [16, 8]
        rc.crossLayers = 1
        let teacher = try RankModelRegistry.make("dcnv2", pipeline: pipeline, parameters: rc)
        var to = RankTrainingOptions()
        to.epochs = 5
        to.batchSize = 64
        to.learningRate = 0.01
        _ = try RankTrainer.fit(teacher, train: data, valid: nil, options: to)
        let student = try ThreeTower(pipeline: pipeline, config: small())
        var o = DistillationOptions()
        o.kind = kind
        o.epochs = 10
        o.batchSize = 64
        o.learningRate = 0.01
        let report = try ThreeTowerTrainer.distill(student, teacher: teacher, train: data, options: o)
        #expect(report.epochLosses.last! < report.epochLosses.first!)
        // The student's ordering agrees with the teacher's: rank correlation of their logits.
        let t = try ThreeTowerTrainer.logits(teacher, data, column: 0, threads: 1)
        let s = try ThreeTowerTrainer.logits(student, data, column: 0, threads: 1)
        var concordant = 0, pairs = 0
        for i in stride(from: 0, to: 1500, by: 7) {
            for j in stride(from: 3, to: 1500, by: 11) where abs(t[i] - t[j]) > 0.2 {
                pairs += 1
                if (t[i] - t[j]) * (s[i] - s[j]) > 0 { concordant += 1 }
            }
        }
        #expect(Double(concordant) / Double(pairs) > 0.85, "\(kind): \(concordant)/\(pairs)")
    }
}

@Suite struct ItemVectorCacheTests {
    @Test func cachedVectorsEqualTheItemTower() throws {
        let pipeline = try FeaturePipeline(config: ThreeTowerTests.config, fitOn: ThreeTowerTests.frame(rows: 100, seed: 1))
        let model = try ThreeTower(pipeline: pipeline)
        let f = ThreeTowerTests.frame(rows: 40, seed: 2)
        let batch = try pipeline.encode(f)
        let keys = f.columns["item"]!
        let cache = ItemVectorCache(model: model)
        let direct = model.itemVectors(batch).toArray()
        let first = try cache.vectors(keys: keys, batch: batch).toArray()
        #expect(first == direct)
        #expect(cache.computed == Set(keys).count && cache.count == Set(keys).count)
        let again = try cache.vectors(keys: keys, batch: batch).toArray()
        #expect(again == direct && cache.computed == Set(keys).count)
    }
}

/// Calibration fitted on a held-out slice of a trained model's predictions.
@Suite struct ModelCalibrationTests {
    @Test func fitsOnHeldOutRowsOfAModel() throws {
        let f = ThreeTowerTests.frame(rows: 3000, seed: 8)
        let pipeline = try FeaturePipeline(config: ThreeTowerTests.config, fitOn: f)
        let data = try pipeline.encode(f)
        let model = try RankModelRegistry.make("lr", pipeline: pipeline)
        var o = RankTrainingOptions()
        o.epochs = 2
        o.learningRate = 0.05
        _ = try RankTrainer.fit(model, train: data.rows(0..<2000), valid: nil, options: o)
        let heldOut = data.rows(2000..<3000)
        let cal = try RankCalibration.fit(.isotonic, model: model, heldOut: heldOut)
        let report = try #require(try cal.report(model: model, batch: heldOut).first)
        #expect(report.task == "click" && report.rows == 1000)
        #expect(abs((report.ratioAfter ?? 0) - 1) < 0.02, "\(report.line)")
        #expect(report.logLossAfter <= report.logLossBefore + 1e-9, "\(report.line)")
    }
}
