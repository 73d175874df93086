import CascadeCore
import CascadeRank
import CascadeRecall
import CascadeTensor
import CascadeStore
import Foundation

/// The ranking stages of the funnel: what to train and how to serve them.
public struct RankStageConfig: Sendable, Equatable {
    /// Whether the funnel trains and serves a ranker (false: pages in merged recall order, and
    /// `train` deactivates an earlier ranker).
    public var enabled = true
    /// Ranker to train (a ``RankModelRegistry`` name). Multi-task DCN-V2 with an MMoE head by default
    /// (Wang et al. 2021; Ma et al. 2018).
    public var model = "dcnv2-mmoe"
    /// Tasks of the ranker, among click, like, finish and watch_time (expected seconds watched;
    /// tasks without positives are dropped).
    public var tasks = ["click", "like", "finish", "watch_time"]
    /// Fewer logged impressions than this: no ranker is trained (the funnel orders by recall).
    public var minImpressions = 1_000
    /// Days of logged impressions the ranker learns from, counted back from the newest event
    /// (nil: the whole log). Every impression of the window is used, encoded in chunks.
    public var windowDays: Double?
    /// At most this many of the window's most recent impressions (nil: all of them).
    public var maxSamples: Int?
    public var epochs = 3
    /// The ranker's own options (``RankModelParameters/settings``, the `rank.*` keys each model
    /// declares). Embedding size 8 rather than 16: the same validation AUC on the simulated
    /// worlds (click 0.6958 vs 0.6951 on the quickstart world) at about half the serving cost;
    /// the pre-ranker takes the same size.
    public var parameters: RankModelParameters = {
        var p = RankModelParameters()
        p.embeddingDim = 8
        p.hidden = [128, 64]
        p.crossLayers = 2
        p.experts = 4
        p.expertHidden = [64]
        // DIN's 36 (16 lost 6% of true CTR on world 42).
        p.attentionHidden = [36]
        return p
    }()
    /// Adam learning rate of the ranker.
    public var learningRate: Float = 1e-3
    /// L2 on the embedding rows each batch touches.
    public var embeddingL2: Float = 0
    /// Decay of a moving average of the weights used for validation and the kept model (nil: off).
    public var weightAverageDecay: Float?
    /// Feature-id dropout while training, by feature name (e.g. `["user": 0.1]`): the unknown
    /// row learns what an unseen user or item looks like.
    public var idDropout: [String: Float] = [:]
    /// Give the ranker the user's behaviour toward each candidate (``HistoryFeatures``: positives
    /// and impressions on its category, top category and author among the user's recent events).
    public var historyFeatures = true
    /// Training rows see the user's events at least this many seconds older than them
    /// (``HistoryFeatures/numbers(log:rows:userCount:gap:)``): 0 lets the impressions of a row's
    /// own page, logged milliseconds before it, into its counts, which serving never sees. Kept
    /// at 0: in the closed loop 0.5 s (the own page out, earlier pages in) moved true CTR by
    /// -1.9% and -2.2% on worlds 42 and 7 (p 0.54, 0.50).
    public var historyGap: Double = 0
    /// Give the ranker the statistics counters (``CounterFeatures``: the candidate's impressions
    /// and click-through over a day, a week and all time, read from the store). Off by default:
    /// in the closed loop (worlds 42, 7, 13) they moved true CTR by +3.9%, -1.3% and +0.4%, within
    /// the noise, and cost about 0.6 ms of server CPU per request on the 1M-item world.
    public var counterFeatures = false
    /// Length of the behaviour sequence the ranker attends over (``BehaviourSequence``: the
    /// user's newest distinct positives, read by DIN's target attention; 0: none). Off by
    /// default: in the closed loop (length 20, attention unit [36]; worlds 42, 7, 13, 5) it moved
    /// true CTR by +0.3%, +2.7%, -0.6% and +4.5%, within the noise, and doubled the rank
    /// stage's cost on the 1M-item world (1.06 to 2.13 ms per request). `--rank-behaviour 20`.
    public var behaviourLength = 0
    /// Learn position bias apart from relevance (``PositionBiasTower``: a train-time-only offset
    /// per slot and task, from the slots logged with the impressions; the ranker serves as if
    /// every candidate stood at the top slot). Without logged slots it changes nothing.
    public var positionBias = false
    /// With `positionBias`: the position curve (relative click rate per slot, top = 1) the tower
    /// holds fixed instead of learning it, e.g. one measured on randomised pages; nil: learned
    /// with the ranker. When the logging system ranked its pages, the slot also says what it
    /// thought of the item, and a learned curve takes some relevance for position.
    public var positionCurve: [Double]?
    /// Calibrate each task's probability (piecewise linear on held-out impressions) before fusion.
    public var calibrate = true
    /// Train the three-tower pre-ranker (distilled from the ranker).
    public var preRank = true
    /// Candidates the pre-ranker keeps for the ranker.
    public var preRankLimit = 300
    /// Candidates the ranker keeps for re-ranking and the page.
    public var rankLimit = 50
    /// How per-task probabilities become one score (weighted sum by default; weighted product
    /// and rank fusion are the other kinds, see ``FusionFormula``). Watch time enters in
    /// expected seconds at 0.003 per second: in the closed loop (worlds 42 and 7) against 0 it
    /// raised true CTR 4-5% and watch time 19-53%, with the weighted north star +3.5% / -1.9%;
    /// 0.01 bought more watch time at 6-9% of the weighted north star.
    public var fusion = FusionFormula(kind: .weightedSum, terms: [
        FusionFormula.Term(task: "click", weight: 1), FusionFormula.Term(task: "like", weight: 0.5),
        FusionFormula.Term(task: "finish", weight: 0.5), FusionFormula.Term(task: "watch_time", weight: 0.003),
    ])
    public init() {}

    /// This configuration with the keys that only change serving (whether the ranker serves, the
    /// stage limits, the fusion) at their defaults: two configurations with the same training
    /// setting train the same ranker.
    public var trainingSetting: RankStageConfig {
        var c = self
        let d = RankStageConfig()
        c.enabled = d.enabled
        c.preRankLimit = d.preRankLimit
        c.rankLimit = d.rankLimit
        c.fusion = d.fusion
        return c
    }
}

/// What one funnel stage did for one request.
public struct StageTiming: Sendable, Equatable, Codable {
    public var stage: String
    public var candidatesIn: Int
    public var candidatesOut: Int
    public var microseconds: Double
}

/// Per-item record of every stage (the `debug` trace).
public struct ItemTrace: Sendable, Equatable, Codable {
    /// Merged recall score and 1-based rank among the merged candidates.
    public var recallScore: Float
    public var recallRank: Int
    public var preRankScore: Float?
    public var preRankRank: Int?
    /// Per-task probabilities of the ranker.
    public var taskScores: [String: Float]?
    public var fusedScore: Double?
    public var rankRank: Int?
}

/// A loaded ranker (and optional pre-ranker) answering inside the funnel. Thread-safe: models
/// are only read; the pre-ranker's item-vector cache is guarded.
public final class OnlineRanker: @unchecked Sendable {
    public let model: any RankModel
    public let pipeline: FeaturePipeline
    public let preRanker: ThreeTower?
    let prePipeline: FeaturePipeline?
    let cache: ItemVectorCache?
    let cacheLock = NSLock()
    public let attributes: RankAttributes
    /// The fusion of the config the ranker was loaded with.
    public let fusion: ScoreFusion
    public let config: RankStageConfig
    /// Versions served, for traces and metrics.
    public let versions: (rank: Int, preRank: Int?)
    /// Item-tower vectors of every catalog item [items, vectorDim], computed at load so a
    /// request's pre-rank is one user-tower pass, a dot product per candidate and, when the
    /// pre-ranker reads per-candidate features (the user's behaviour toward the item), its
    /// cross tower over them.
    let itemVectors: [Float]?
    /// Item-side fields encoded once per item (nil: the full encode per request).
    let encoder: RequestEncoder?
    /// The same for the pre-ranker's pipeline (used when its cross tower varies per candidate).
    let preEncoder: RequestEncoder?
    /// The ranker's tape-free serving path (nil: the model has none; scored through the tape).
    let serving: RankServingPool?
    /// Per-task calibration applied to the ranker's probabilities before fusion (nil: raw).
    public let calibration: RankCalibration?
    /// Whether the ranker / the pre-ranker read ``HistoryFeatures``.
    let rankUsesHistory: Bool
    let preUsesHistory: Bool
    /// Whether the ranker reads ``CounterFeatures`` (one counter read per request).
    let rankUsesCounters: Bool
    /// Whether the ranker reads the ``BehaviourSequence``.
    let rankUsesBehaviour: Bool

    public init(model: any RankModel, pipeline: FeaturePipeline, preRanker: (ThreeTower, FeaturePipeline)?,
                attributes: RankAttributes, config: RankStageConfig, versions: (Int, Int?), calibration: RankCalibration? = nil) throws {
        self.model = model
        self.calibration = calibration.flatMap { $0.tasks == model.tasks ? $0 : nil }
        self.pipeline = pipeline
        serving = RankServingPool.make(model: model, pipeline: pipeline)
        self.preRanker = preRanker?.0
        prePipeline = preRanker?.1
        cache = preRanker.map { ItemVectorCache(model: $0.0) }
        self.attributes = attributes
        self.config = config
        self.versions = versions
        let count = attributes.itemColumns.values.first?.count ?? 0
        let catalog = attributes.frame(users: [Int32?](repeating: nil, count: count), items: (0..<count).map { Int32($0) },
                                         timestamps: [Double](repeating: Date().timeIntervalSince1970, count: count))
        encoder = try RequestEncoder(pipeline: pipeline, items: catalog, perCandidateColumns: RankAttributes.perCandidateColumns)
        func readsHistory(_ p: FeaturePipeline?) -> Bool {
            attributes.history != nil && (p?.config.features.contains { HistoryFeatures.columnNames.contains($0.name) } ?? false)
        }
        rankUsesHistory = readsHistory(pipeline)
        rankUsesCounters = attributes.counters != nil && pipeline.config.features.contains { CounterFeatures.columnNames.contains($0.name) }
        preUsesHistory = readsHistory(preRanker?.1)
        rankUsesBehaviour = attributes.behaviour != nil && pipeline.sequenceFeatures.contains { $0.name == BehaviourSequence.featureName }
        if let pp = preRanker?.1, preUsesHistory {
            preEncoder = try RequestEncoder(pipeline: pp, items: catalog, perCandidateColumns: RankAttributes.perCandidateColumns)
        } else {
            preEncoder = nil
        }
        if let (pre, pp) = preRanker, count > 0 {
            itemVectors = try Self.allItemVectors(pre, pp, attributes: attributes, count: count)
        } else {
            itemVectors = nil
        }
        fusion = try Self.compile(config.fusion, tasks: model.tasks)
    }

    /// Pre-ranks (when more than `preRankLimit` candidates), ranks, fuses and orders `merged`;
    /// returns the best `rankLimit` (at least `n`) with the stage timings, and each candidate's
    /// scores in `traces` unless it is nil (the `debug` trace, built only when asked for).
    func rank(_ merged: [MergedCandidate], context: RecallContext, n: Int, stage config: RankStageConfig, fusion: ScoreFusion,
              traces: inout [Int32: ItemTrace]?, stages: inout [StageTiming]) throws -> [MergedCandidate] {
        var candidates = merged
        let preLimit = Swift.max(config.preRankLimit, n)
        // The user's behaviour, folded once for both stages.
        let folded = (rankUsesHistory || preUsesHistory) ? attributes.history?.fold(context.history) : nil
        if let pre = preRanker, let pp = prePipeline, let cache, candidates.count > preLimit {
            let t = DispatchTime.now().uptimeNanoseconds
            let items = candidates.map(\.item)
            var scores: [Float]
            if let all = itemVectors, preUsesHistory, let preEncoder,
               items.allSatisfy({ $0 >= 0 && Int($0) < preEncoder.itemCount }) {
                // Cached item vectors, the user tower once, the cross tower per candidate.
                let batch = try preEncoder.encode(request: attributes.frame(users: [context.user], items: [items[0]], timestamps: [context.now]),
                                                  items: items, perCandidate: FeatureFrame(rowCount: items.count, columns: [:]),
                                                  numeric: attributes.history!.numbers(folded!, items: items))
                let u = pre.userVector(batch)
                let d = u.count
                let vectors = Tensor(uninitializedShape: Shape(items.count, d))
                all.withUnsafeBufferPointer { a in
                    for (r, i) in items.enumerated() { (vectors.base + r * d).update(from: a.baseAddress! + Int(i) * d, count: d) }
                }
                var scratch: [Float] = []
                scores = []
                try pre.score(user: u, items: vectors, context: batch, scratch: &scratch, into: &scores)
            } else if let all = itemVectors, !preUsesHistory {
                let one = try pp.encodeInputs(attributes.frame(users: [context.user], items: [items[0]], timestamps: [context.now]))
                let u = pre.userVector(one)
                let d = u.count
                scores = items.map { i in
                    let o = Int(i) * d
                    guard o + d <= all.count else { return -.infinity }
                    var s: Float = 0
                    for k in 0..<d { s += u[k] * all[o + k] }
                    return s
                }
            } else {
                let frame = attributes.frame(users: [Int32?](repeating: context.user, count: items.count), items: items,
                                             timestamps: [Double](repeating: context.now, count: items.count),
                                             context: preUsesHistory ? attributes.history!.values(history: context.history, items: items) : [:])
                let batch = try pp.encodeInputs(frame)
                let vectors = try cacheLock.withLock { try cache.vectors(keys: items.map { String($0) }, batch: batch) }
                var scratch: [Float] = []
                scores = []
                try pre.score(user: pre.userVector(batch), items: vectors, context: batch, scratch: &scratch, into: &scores)
            }
            let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            if traces != nil {
                for (r, k) in order.enumerated() {
                    traces![candidates[k].item, default: Self.blank].preRankScore = scores[k]
                    traces![candidates[k].item, default: Self.blank].preRankRank = r + 1
                }
            }
            candidates = order.prefix(preLimit).map { candidates[$0] }
            stages.append(StageTiming(stage: "prerank", candidatesIn: items.count, candidatesOut: candidates.count,
                                      microseconds: Double(DispatchTime.now().uptimeNanoseconds - t) / 1_000))
        }
        guard !candidates.isEmpty else { return candidates }
        let t = DispatchTime.now().uptimeNanoseconds
        let items = candidates.map(\.item)
        let batch = try encode(items: items, context: context, folded: folded)
        let tf = DispatchTime.now().uptimeNanoseconds
        stages.append(StageTiming(stage: "features", candidatesIn: items.count, candidatesOut: items.count, microseconds: Double(tf - t) / 1_000))
        var p = try serving?.predict(batch) ?? model.predict(batch, threads: 1)
        if let calibration { p = calibration.apply(p) }
        let t1 = DispatchTime.now().uptimeNanoseconds
        stages.append(StageTiming(stage: "rank", candidatesIn: items.count, candidatesOut: items.count, microseconds: Double(t1 - tf) / 1_000))
        let fused = fusion.scores(p)
        let order = fused.indices.sorted { fused[$0] > fused[$1] || (fused[$0] == fused[$1] && $0 < $1) }
        let keep = Swift.max(config.rankLimit, n)
        var out: [MergedCandidate] = []
        out.reserveCapacity(Swift.min(keep, order.count))
        for (r, k) in order.enumerated() {
            if traces != nil {
                var trace = traces![items[k], default: Self.blank]
                trace.taskScores = Dictionary(uniqueKeysWithValues: zip(model.tasks, p[k]))
                trace.fusedScore = fused[k]
                trace.rankRank = r + 1
                traces![items[k]] = trace
            }
            if r < keep {
                var c = candidates[k]
                c.score = Float(fused[k])
                out.append(c)
            }
        }
        stages.append(StageTiming(stage: "fuse", candidatesIn: items.count, candidatesOut: out.count,
                                  microseconds: Double(DispatchTime.now().uptimeNanoseconds - t1) / 1_000))
        return out
    }

    static let blank = ItemTrace(recallScore: 0, recallRank: 0)

    /// The ranker's calibrated per-task outputs for `items` in `context` (rows in the order of
    /// `items`, columns in the order of `model.tasks`): what the fusion reads, for any items, as a
    /// direct model of their engagement. Counter features read `context.counters`.
    public func probabilities(items: [Int32], context: RecallContext) throws -> [[Float]] {
        guard !items.isEmpty else { return [] }
        let folded = (rankUsesHistory || preUsesHistory) ? attributes.history?.fold(context.history) : nil
        let batch = try encode(items: items, context: context, folded: folded)
        let p = try serving?.predict(batch) ?? model.predict(batch, threads: 1)
        return calibration.map { $0.apply(p) } ?? p
    }

    /// The ranker's input rows for `items` in `context`: with counter features, one read of the
    /// store's counters for the candidates (the columns are the items' own: the user's rows are
    /// not read).
    func encode(items: [Int32], context: RecallContext, folded: HistoryFeatures.Folded?) throws -> EncodedBatch {
        var statistics: [String: [Double]] = [:]
        if rankUsesCounters, let c = attributes.counters {
            let snapshot = try context.counters?.counters(user: nil, items: items, attributes: c.attributes(items: items), now: context.now)
            statistics = c.numbers(snapshot ?? CounterSnapshot(), items: items)
        }
        return try encode(user: context.user, items: items, now: context.now, history: context.history, folded: folded,
                          statistics: statistics)
    }

    /// The statistics counters of every event of `log`, as a store holding it would keep them
    /// (nil when this ranker does not read them): what serving from an in-memory log reads.
    public func counterTable(log: EventLog, registry: EventTypeRegistry) -> CounterTable? {
        guard rankUsesCounters, let c = attributes.counters else { return nil }
        var table = CounterReplay(registry: registry, attributes: c.attributes).table(log, before: .infinity)
        table.prune(before: CounterTable.day(log.maxTimestamp))
        return table
    }

    /// `formula` for this ranker's tasks: terms of tasks the model lacks are dropped (a ranker
    /// trained without likes); with none left, the first task alone.
    public func compiledFusion(_ formula: FusionFormula) throws -> ScoreFusion { try Self.compile(formula, tasks: model.tasks) }

    static func compile(_ formula: FusionFormula, tasks: [String]) throws -> ScoreFusion {
        var f = formula
        f.terms = f.terms.filter { tasks.contains($0.task) }
        if f.terms.isEmpty { f = FusionFormula(kind: .weightedSum, terms: [FusionFormula.Term(task: tasks[0])]) }
        return try f.compiled(tasks: tasks, scene: "default", file: "funnel rank config")
    }

    /// The ranker's input rows for one request: through the per-item table when available,
    /// else the full encode of the frame (the reference the table path is tested against).
    /// `statistics`: the ``CounterFeatures`` columns of the candidates.
    func encode(user: Int32?, items: [Int32], now: Double, history: [HistoryEvent] = [], folded: HistoryFeatures.Folded? = nil,
                statistics: [String: [Double]] = [:]) throws -> EncodedBatch {
        if let encoder, items.allSatisfy({ $0 >= 0 && Int($0) < encoder.itemCount }) {
            var numeric = attributes.perCandidateNumbers(items: items, now: now)
            if rankUsesHistory, let h = attributes.history {
                numeric.merge(h.numbers(folded ?? h.fold(history), items: items)) { a, _ in a }
            }
            numeric.merge(statistics) { a, _ in a }
            let steps = rankUsesBehaviour && user != nil ? attributes.behaviour!.steps(history) : []
            return try encoder.encode(request: attributes.frame(users: [user], items: [items[0]], timestamps: [now]), items: items,
                                      perCandidate: FeatureFrame(rowCount: items.count, columns: [:]), numeric: numeric,
                                      steps: steps, now: now)
        }
        var context = rankUsesHistory ? attributes.history!.values(history: history, items: items) : [:]
        context.merge(statistics.mapValues { $0.map { String($0) } }) { a, _ in a }
        let frame = attributes.frame(users: [Int32?](repeating: user, count: items.count), items: items,
                                     timestamps: [Double](repeating: now, count: items.count), context: context)
        let behaviour = try rankUsesBehaviour ? attributes.behaviour!.history(user: user, events: history, category: attributes.itemColumns["item_category"],
                                                                            pipeline: pipeline) : nil
        return try pipeline.encodeInputs(frame, history: behaviour ?? InteractionHistory())
    }

    /// The item tower over the whole catalog, in chunks (at load; the publish-time features
    /// use the load time).
    static func allItemVectors(_ pre: ThreeTower, _ pp: FeaturePipeline, attributes: RankAttributes, count: Int) throws -> [Float] {
        let d = pre.config.vectorDim, now = Date().timeIntervalSince1970
        var out = [Float](repeating: 0, count: count * d)
        var start = 0
        while start < count {
            let end = Swift.min(count, start + 20_000)
            let items = (start..<end).map { Int32($0) }
            let frame = attributes.frame(users: [Int32?](repeating: nil, count: items.count), items: items,
                                         timestamps: [Double](repeating: now, count: items.count))
            let v = pre.itemVectors(try pp.encodeInputs(frame))
            out.withUnsafeMutableBufferPointer { o in
                (o.baseAddress! + start * d).update(from: v.base, count: items.count * d)
            }
            start = end
        }
        return out
    }
}

extension OnlineRanker {
    /// The active ranker (and pre-ranker) of `store`, or nil when none was trained. An
    /// unreadable artifact is logged and skipped: the funnel then orders by recall (or ranks
    /// without pre-ranking), it does not fail.
    public static func load(store: any Store, config: RankStageConfig, ids: (users: IdMap, items: IdMap)) -> OnlineRanker? {
        let logger = Funnel.logger
        do {
            guard let a = try store.activeArtifact(name: ModelArtifact.rank) else { return nil }
            let (model, pipeline) = try RankModelFile.decode(try ModelArtifact.data(of: a, name: ModelArtifact.rank), path: "artifact rank v\(a.info.version)")
            var pre: (ThreeTower, FeaturePipeline)?
            var preVersion: Int?
            if let p = try store.activeArtifact(name: ModelArtifact.preRank) {
                do {
                    pre = try ThreeTowerFile.decode(try ModelArtifact.data(of: p, name: ModelArtifact.preRank), path: "artifact prerank v\(p.info.version)")
                    preVersion = p.info.version
                } catch {
                    logger.error("pre-ranker skipped: unreadable artifact", metadata: ["version": "\(p.info.version)", "error": "\(error)"])
                }
            }
            let attributes = try RankAttributes.load(store: store, ids: ids)
            var calibration: RankCalibration?
            if let text = a.info.manifest[RankTraining.calibrationKey] {
                do { calibration = try JSONDecoder().decode(RankCalibration.self, from: Data(text.utf8)) } catch {
                    logger.error("ranker calibration skipped: unreadable", metadata: ["version": "\(a.info.version)", "error": "\(error)"])
                }
            }
            return try OnlineRanker(model: model, pipeline: pipeline, preRanker: pre, attributes: attributes, config: config,
                                    versions: (a.info.version, preVersion), calibration: config.calibrate ? calibration : nil)
        } catch {
            logger.error("ranker skipped: unreadable artifact", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
