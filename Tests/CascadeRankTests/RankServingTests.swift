import Foundation
import Testing
import CascadeCore
import CascadeTensor
@testable import CascadeRank

/// The tape-free serving paths (user-side columns once per request, no graph) against the
/// models' own inference-mode logits.
@Suite struct RankServingTests {
    static func pipeline() throws -> FeaturePipeline {
        try FeaturePipeline(config: ThreeTowerTests.config, fitOn: ThreeTowerTests.frame(rows: 200, seed: 1))
    }

    /// One request: a single user (user-side columns equal on every row), 50 candidates.
    static func request(_ pipeline: FeaturePipeline, rows: Int = 50) throws -> EncodedBatch {
        var f = ThreeTowerTests.frame(rows: rows, seed: 9)
        f.columns["user"] = Array(repeating: "u3", count: rows)
        f.columns["age"] = Array(repeating: "39", count: rows)
        return try pipeline.encode(f)
    }

    static func parameters(crossLayers: Int = 2, parallel: Bool = true) -> RankModelParameters {
        var c = RankModelParameters()
        c.embeddingDim = 4
        c.hidden = [16, 8]
        c.crossLayers = crossLayers
        c.parallel = parallel
        c.experts = 3
        c.expertHidden = [12, 6]
        c.towerHidden = [5]
        c.tasks = ["click", "like", "watch_time"]
        return c
    }

    /// Moves every weight off its initial value so every path carries signal.
    static func perturb(_ model: any RankModel) throws {
        for p in model.parameters { try p.value.add(Tensor.normal(p.value.shape.dims, std: 0.2, seed: UInt64(p.name.utf8.count))) }
    }

    static func expectEqual(_ got: [Float], _ expected: [Float], _ what: String) {
        #expect(got.count == expected.count, "\(what)")
        for (a, b) in zip(got, expected) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b)), "\(what): \(a) vs \(b)") }
    }

    @Test(arguments: [true, false])
    func dcnv2ServingEqualsTheTape(parallel: Bool) throws {
        let pipeline = try Self.pipeline()
        let model = DCNv2(pipeline: pipeline, config: Self.parameters(parallel: parallel))
        try Self.perturb(model)
        let batch = try Self.request(pipeline)
        let expected = try model.logits(batch, tape: Tape(training: false, threads: 1)).value.toArray()
        // Built for fewer rows than the request: the buffers grow.
        let serving = try DCNv2Serving(model, pipeline: pipeline, maxCandidates: 10)
        for _ in 0..<2 { Self.expectEqual(try serving.logits(batch).toArray(), expected, "dcnv2 parallel=\(parallel)") }
    }

    @Test(arguments: [0, 1, 2])
    func dcnv2MMoEServingEqualsTheTape(crossLayers: Int) throws {
        let pipeline = try Self.pipeline()
        let model = try DCNv2MMoE(pipeline: pipeline, config: Self.parameters(crossLayers: crossLayers))
        try Self.perturb(model)
        let serving = try DCNv2MMoEServing(model, pipeline: pipeline, maxCandidates: 8)
        for rows in [50, 1, 20] {  // buffers grow, then are reused for smaller requests
            let batch = try Self.request(pipeline, rows: rows)
            let expected = try model.logits(batch, tape: Tape(training: false, threads: 1)).value.toArray()
            Self.expectEqual(try serving.logits(batch).toArray(), expected, "dcnv2-mmoe L=\(crossLayers) rows=\(rows)")
        }
    }

    @Test func thePoolServesWhatPredictServesFromConcurrentRequests() throws {
        let pipeline = try Self.pipeline()
        let model = try DCNv2MMoE(pipeline: pipeline, config: Self.parameters())
        try Self.perturb(model)
        let pool = try #require(RankServingPool.make(model: model, pipeline: pipeline))
        let batches = try (0..<4).map { try Self.request(pipeline, rows: 10 + 10 * $0) }
        let expected = try batches.map { try model.predict($0, threads: 1) }
        #expect(model.taskKinds.last == .watchTime, "served as exp(logit), as predict does")
        let failures = Locked(0)
        nonisolated(unsafe) let shared = batches  // read only
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let k = i % shared.count
            let got = (try? pool.predict(shared[k])) ?? []
            let ok = got.count == expected[k].count && zip(got, expected[k]).allSatisfy { g, e in
                zip(g, e).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }
            }
            if !ok { failures.withLock { $0 += 1 } }
        }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test func modelsWithoutAServingPathAreScoredThroughTheTape() throws {
        let pipeline = try Self.pipeline()
        #expect(RankServingPool.make(model: try RankModelRegistry.make("deepfm", pipeline: pipeline), pipeline: pipeline) == nil)
        #expect(RankServingPool.make(model: try RankModelRegistry.make("dcnv2", pipeline: pipeline), pipeline: pipeline) != nil)
        // A model reading a behaviour sequence (DIN attention in the trunk) keeps the tape.
        let sequential = try FeaturePipeline(config: RankModelTests.config, fitOn: RankModelTests.frame(rows: 40, seed: 1))
        let din = try RankModelRegistry.make("dcnv2-mmoe", pipeline: sequential, parameters: RankModelTests().smallConfig())
        #expect(RankServingPool.make(model: din, pipeline: sequential) == nil)
    }
}
