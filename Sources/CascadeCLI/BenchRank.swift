import ArgumentParser
import CascadeCore
import CascadeRank
import CascadeTensor
import Foundation

struct BenchRank: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract: "Ranking latency on one core: DCN-V2 (3 task heads) scoring one request's candidates, the pre-rank three-tower model, training throughput.",
        discussion: """
            Features: 10 sparse fields (5 user-side, 3 item-side, 2 context), one item tag bag and 4 dense \
            inputs, embedding dim 16, deep 256-128, 3 cross layers (x0 is 180 wide), tasks click, like, finish. \
            Latency is the model's scoring of already encoded rows (p50/p99 over the requests after a warm-up): \
            path=tape is `predict` through the autodiff tape in inference mode, path=serving the tape-free \
            DCNv2Serving (user-side columns computed once per request). The three-tower serving line includes \
            the item-vector cache lookups (warm), the user tower and the scoring GEMVs. Compare training throughput with bench/torch_rank_peer.py.
            """)

    @Option(help: "Candidates per ranking request.")
    var candidates: Int = 500

    @Option(help: "Candidates per pre-rank request.")
    var prerankCandidates: Int = 2000

    @Option(help: "Timed requests per figure.")
    var requests: Int = 200

    @Option(help: "Training rows for the throughput figures.")
    var trainRows: Int = 20_000

    @Option(help: "Training batch size.")
    var batch: Int = 512

    func run() throws {
        try runReporting {
            guard candidates > 0, prerankCandidates > 0, requests > 0, trainRows > 0, batch > 0 else {
                throw CascadeError.invalid("sizes must be positive")
            }
            try RankBenchmark(candidates: candidates, prerankCandidates: prerankCandidates, requests: requests,
                              trainRows: trainRows, batch: batch).run { print($0) }
        }
    }
}

/// The synthetic request stream and models of `cascade bench rank`.
struct RankBenchmark {
    let candidates: Int, prerankCandidates: Int, requests: Int, trainRows: Int, batch: Int

    static let features = FeatureConfig(label: "click", features: [
        FeatureSpec(name: "user_id", kind: .categorical, side: .user),
        FeatureSpec(name: "user_age", kind: .categorical, side: .user),
        FeatureSpec(name: "user_gender", kind: .categorical, side: .user),
        FeatureSpec(name: "user_city", kind: .hashed, buckets: 1000, side: .user),
        FeatureSpec(name: "device", kind: .categorical, side: .user),
        FeatureSpec(name: "item_id", kind: .categorical, side: .item),
        FeatureSpec(name: "author", kind: .categorical, side: .item),
        FeatureSpec(name: "category", kind: .categorical, side: .item),
        FeatureSpec(name: "hour", kind: .categorical),
        FeatureSpec(name: "scene", kind: .categorical),
        FeatureSpec(name: "tags", kind: .bag, side: .item),
        FeatureSpec(name: "user_activity", kind: .numeric, transform: .log1pStandardize, side: .user),
        FeatureSpec(name: "item_ctr", kind: .numeric, transform: .standardize, side: .item),
        FeatureSpec(name: "item_age_days", kind: .numeric, transform: .log1pStandardize, side: .item),
        FeatureSpec(name: "match_score", kind: .numeric, transform: .standardize),
    ])
    static let users = 20_000, items = 50_000

    /// `rows` impressions; with `user` set, one request: that user and context on every row.
    static func frame(rows: Int, user: Int?, rng: inout TensorRandom) -> FeatureFrame {
        var cols: [String: [String]] = [:]
        for f in features.features { cols[f.name] = [] }
        for k in ["click", "like", "finish"] { cols[k] = [] }
        let fixedUser = user.map { _ in Int(rng.next() % 24) }
        let fixedScene = user.map { _ in Int(rng.next() % 4) }
        for _ in 0..<rows {
            let u = user ?? Int(rng.next() % UInt64(users))
            // Zipf-like item popularity: squares of uniforms favour small ids.
            let x = rng.nextUnitFloat()
            let i = Int(x * x * Float(items - 1))
            cols["user_id"]!.append("u\(u)")
            cols["user_age"]!.append("\(u % 7)")
            cols["user_gender"]!.append("\(u % 3)")
            cols["user_city"]!.append("c\(u % 431)")
            cols["device"]!.append("\(u % 5)")
            cols["item_id"]!.append("i\(i)")
            cols["author"]!.append("a\(i % 5000)")
            cols["category"]!.append("\(i % 50)")
            cols["hour"]!.append("\(fixedUser ?? Int(rng.next() % 24))")
            cols["scene"]!.append("\(fixedScene ?? Int(rng.next() % 4))")
            cols["tags"]!.append((0..<(1 + i % 4)).map { "t\((i * 7 + $0 * 13) % 200)" }.joined(separator: "|"))
            cols["user_activity"]!.append("\(u % 97)")
            cols["item_ctr"]!.append("\(Double(i % 100) / 1000)")
            cols["item_age_days"]!.append("\(i % 365)")
            let m = rng.nextUnitFloat()
            cols["match_score"]!.append("\(m)")
            let p = 0.05 + 0.3 * m * Float((u + i) % 5) / 4
            let click = rng.nextUnitFloat() < p
            cols["click"]!.append(click ? "1" : "0")
            cols["like"]!.append(click && rng.nextUnitFloat() < 0.2 ? "1" : "0")
            cols["finish"]!.append(click && rng.nextUnitFloat() < 0.5 ? "1" : "0")
        }
        return FeatureFrame(rowCount: rows, columns: cols)
    }

    /// Labels [rows, 3] (click, like, finish) of `frame`.
    static func labels(_ frame: FeatureFrame) -> Tensor {
        let t = Tensor(shape: [frame.rowCount, 3])
        for (j, k) in ["click", "like", "finish"].enumerated() {
            for (r, v) in frame.columns[k]!.enumerated() { t.base[r * 3 + j] = v == "1" ? 1 : 0 }
        }
        return t
    }

    /// p50 and p99 milliseconds of `body` over `requests` calls after `warmup` calls.
    func timed(warmup: Int = 20, _ body: (Int) throws -> Void) rethrows -> (Double, Double) {
        for r in 0..<warmup { try body(r) }
        var ms: [Double] = []
        ms.reserveCapacity(requests)
        for r in 0..<requests {
            let t = DispatchTime.now().uptimeNanoseconds
            try body(r)
            ms.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
        }
        ms.sort()
        return (ms[ms.count / 2], ms[Swift.min(ms.count - 1, Int((Double(ms.count) * 0.99).rounded(.up)) - 1)])
    }

    func run(_ emit: (String) -> Void) throws {
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        var rng = TensorRandom(seed: 7)
        let trainFrame = Self.frame(rows: trainRows, user: nil, rng: &rng)
        let pipeline = try FeaturePipeline(config: Self.features, fitOn: trainFrame)
        let enc = try pipeline.encode(trainFrame, labels: "click")
        let train = try enc.replacingLabels(Self.labels(trainFrame))

        var config = RankModelParameters()
        config.embeddingDim = 16
        config.hidden = [256, 128]
        config.crossLayers = 3
        config.tasks = ["click", "like", "finish"]
        let model = DCNv2(pipeline: pipeline, config: config)
        let width = pipeline.fieldCount * config.embeddingDim + pipeline.denseFeatures.count

        // Training throughput (one epoch, one thread).
        var options = RankTrainingOptions()
        options.epochs = 1
        options.batchSize = batch
        options.threads = 1
        let report = try RankTrainer.fit(model, train: train, valid: nil, options: options)
        emit("bench=rank:train model=dcnv2 tasks=3 threads=1 batch=\(batch) rows=\(trainRows) x0=\(width) samples_per_s=\(Int(report.samplesPerSecond))")

        // Ranking requests: a handful of distinct users, cycled.
        let distinct = 16
        let rankBatches = try (0..<distinct).map { k in
            try pipeline.encode(Self.frame(rows: candidates, user: (k * 977) % Self.users, rng: &rng), labels: "click")
        }
        let tape = try timed { r in _ = try model.predict(rankBatches[r % distinct], threads: 1) }
        emit("bench=rank model=dcnv2 tasks=3 path=tape candidates=\(candidates) threads=1 p50_ms=\(f(tape.0)) p99_ms=\(f(tape.1))")
        let serving = try required(RankServingPool.make(model: model, pipeline: pipeline), "dcnv2 has a serving path")
        let fast = try timed { r in _ = try serving.predict(rankBatches[r % distinct]) }
        emit("bench=rank model=dcnv2 tasks=3 path=serving candidates=\(candidates) threads=1 p50_ms=\(f(fast.0)) p99_ms=\(f(fast.1))")
        // Agreement of the two paths on one request.
        func check(_ name: String, _ m: any RankModel, _ s: RankServingPool) throws {
            let a = try m.predict(rankBatches[0], threads: 1), b = try s.predict(rankBatches[0])
            let diff = zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
            emit("bench=rank:check model=\(name) max_abs_prob_diff=\(String(format: "%.2e", Double(diff)))")
        }
        try check("dcnv2", model, serving)

        // DCN-V2 trunk with an MMoE head (4 experts of 128-64, a gate and a tower per task).
        var mconfig = config
        mconfig.experts = 4
        mconfig.expertHidden = [128, 64]
        let mmoe = try RankModelRegistry.make("dcnv2-mmoe", pipeline: pipeline, parameters: mconfig)
        let mreport = try RankTrainer.fit(mmoe, train: train, valid: nil, options: options)
        emit("bench=rank:train model=dcnv2-mmoe tasks=3 threads=1 batch=\(batch) rows=\(trainRows) samples_per_s=\(Int(mreport.samplesPerSecond))")
        let mtape = try timed { r in _ = try mmoe.predict(rankBatches[r % distinct], threads: 1) }
        emit("bench=rank model=dcnv2-mmoe experts=4x128-64 tasks=3 path=tape candidates=\(candidates) threads=1 p50_ms=\(f(mtape.0)) p99_ms=\(f(mtape.1))")
        let mserving = try required(RankServingPool.make(model: mmoe, pipeline: pipeline), "dcnv2-mmoe has a serving path")
        let mfast = try timed { r in _ = try mserving.predict(rankBatches[r % distinct]) }
        emit("bench=rank model=dcnv2-mmoe experts=4x128-64 tasks=3 path=serving candidates=\(candidates) threads=1 p50_ms=\(f(mfast.0)) p99_ms=\(f(mfast.1))")
        try check("dcnv2-mmoe", mmoe, mserving)

        // Pre-rank: three towers distilled from the ranker, 2,000 candidates per request.
        var tc = ThreeTowerParameters()
        tc.embeddingDim = 16
        tc.hidden = [128]
        tc.vectorDim = 32
        let student = try ThreeTower(pipeline: pipeline, config: tc)
        var dopt = DistillationOptions()
        dopt.epochs = 1
        dopt.batchSize = batch
        let dr = try ThreeTowerTrainer.distill(student, teacher: model, train: train, options: dopt)
        emit("bench=rank:train model=threetower threads=1 batch=\(batch) rows=\(trainRows) samples_per_s=\(Int(dr.samplesPerSecond))")
        let preFrames = (0..<4).map { k in Self.frame(rows: prerankCandidates, user: (k * 131) % Self.users, rng: &rng) }
        let preBatches = try preFrames.map { try pipeline.encode($0, labels: "click") }
        let preKeys = preFrames.map { $0.columns["item_id"]! }
        // The item tower over a whole candidate list (what a cold cache costs).
        let itemTower = timed(warmup: 2) { r in _ = student.itemVectors(preBatches[r % preBatches.count]) }
        // Per request: item vectors from the cache (warm after the warm-up), the user vector once, two GEMVs.
        let cache = ItemVectorCache(model: student)
        var scratch: [Float] = [], out: [Float] = []
        let pre = try timed { r in
            let k = r % preBatches.count, b = preBatches[k]
            let items = try cache.vectors(keys: preKeys[k], batch: b)
            let u = student.userVector(b)
            try student.score(user: u, items: items, context: b, scratch: &scratch, into: &out)
        }
        emit("bench=rank model=threetower path=serving candidates=\(prerankCandidates) threads=1 p50_ms=\(f(pre.0)) p99_ms=\(f(pre.1))")
        emit("bench=rank:item_tower model=threetower items=\(prerankCandidates) threads=1 p50_ms=\(f(itemTower.0)) p99_ms=\(f(itemTower.1))")
        let preTape = try timed(warmup: 3) { r in _ = try student.predict(preBatches[r % preBatches.count], threads: 1) }
        emit("bench=rank model=threetower path=tape candidates=\(prerankCandidates) threads=1 p50_ms=\(f(preTape.0)) p99_ms=\(f(preTape.1))")
    }
}

/// `value`, or a failure naming what was expected.
private func required<T>(_ value: T?, _ what: String) throws -> T {
    guard let value else { throw CascadeError.invalid("expected: \(what)") }
    return value
}
