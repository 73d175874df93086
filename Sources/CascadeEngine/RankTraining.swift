import CascadeCore
import CascadeEval
import CascadeRank
import CascadeRecall
import CascadeStore
import CascadeTensor
import Foundation
import Logging

/// Trains the funnel's ranker and pre-ranker from the store's logged impressions and publishes
/// them as the artifacts `rank` and `prerank`.
///
/// Samples: one row per logged impression of the window (`windowDays`; at most the newest
/// `maxSamples` when given), encoded in chunks. Labels: `click` when
/// the user acted positively on the item (any event type with a positive weight) within a day
/// after the impression, `like` for a like, favorite or share, `finish` for a completion,
/// `watch_time` the seconds of its `watch` events (learned by weighted logistic regression:
/// the head predicts expected seconds, Covington et al. 2016).
/// Features: ``RankAttributes`` (ids, hour, weekday, item age, user and item attributes, the
/// user's behaviour toward the item, the statistics counters and the behaviour sequence, each when
/// its setting asks for it).
/// Split by time: the last 10% of the samples validate (early stopping, the reported AUC).
public enum RankTraining {
    static let logger = Logger(label: "cascade.train")

    public struct Report: Sendable {
        public var samples: Int
        public var tasks: [String]
        /// Validation AUC per task.
        public var validAUC: [String: Double]
        public var versions: [String: Int]
        public var seconds: Double
        /// Per task: mean predicted over mean observed on held-out rows, before and after calibration.
        public var calibration: [CalibrationReport] = []
        /// How many of the ranker's favourites the pre-ranker keeps (see ``PreRankFidelity``).
        public var preRankFidelity: PreRankFidelity.Result?
        /// The learned relative click rate per slot (with `positionBias` and logged slots).
        public var positionCurve: [Double]?
    }

    /// Label window after an impression, seconds.
    public static let labelWindow: Double = 86_400

    /// Impression rows with their labels, from a dense event log; with `history`, each row's
    /// behaviour features (point in time: from the user's events before it) in `contextColumns`.
    public static func records(log: EventLog, registry: EventTypeRegistry, maxSamples: Int?, windowDays: Double? = nil,
                               history: HistoryFeatures? = nil, counters: CounterFeatures? = nil, userCount: Int? = nil) -> ImpressionRecords {
        let s = samples(log: log, registry: registry, maxSamples: maxSamples, windowDays: windowDays, history: history, counters: counters,
                        userCount: userCount)
        var r = s.records
        r.contextColumns = s.numbers.mapValues { $0.map { String($0) } }
        return r
    }

    /// Impressions with their labels and their per-row features as numbers (not text: a row's
    /// text exists only while its chunk is encoded).
    public struct Samples: Sendable {
        public var records: ImpressionRecords
        /// Per-impression columns (``HistoryFeatures``, ``CounterFeatures``) as numbers.
        public var numbers: [String: [Double]]
    }

    /// The ranker's rows `r` of `samples` as text, one chunk at a time: attributes joined to each
    /// impression, its per-row features, and the label columns of `tasks` from `labels`.
    static func frameOf(_ r: Range<Int>, samples: Samples, attributes: RankAttributes, labels: [String: [Float]], tasks: [String]) -> FeatureFrame {
        let records = samples.records
        var f = attributes.frame(users: records.users[r].map { Optional($0) }, items: Array(records.items[r]),
                                 timestamps: Array(records.timestamps[r]), context: samples.numbers.mapValues { $0[r].map { String($0) } })
        for t in tasks { f.columns[t] = labels[t]![r].map { String($0) } }
        return f
    }

    /// Every impression of the last `windowDays` of the log (nil: all of it), the most recent
    /// `maxSamples` of them when given, time-ordered, with their labels and features.
    public static func samples(log: EventLog, registry: EventTypeRegistry, maxSamples: Int?, windowDays: Double? = nil,
                               history: HistoryFeatures? = nil, counters: CounterFeatures? = nil, userCount: Int? = nil,
                               historyGap: Double = 0) -> Samples {
        guard let impression = registry.code(of: .impression) else { return Samples(records: ImpressionRecords(), numbers: [:]) }
        let weights = registry.weightsByCode
        let likeCodes = Set([EventType.like, .favorite, .share].compactMap { registry.code(of: $0) })
        let finishCode = registry.code(of: .completion)
        let watchCode = registry.code(of: .watch)
        let since = windowDays.map { log.maxTimestamp - $0 * 86_400 } ?? -.infinity
        // Positive events by (user, item): (time, type, value).
        var outcomes: [UInt64: [(Double, UInt8, Float)]] = [:]
        var impressions: [Int] = []
        for e in 0..<log.count {
            let t = log.types[e]
            if t == impression {
                if log.timestamps[e] >= since { impressions.append(e) }
                continue
            }
            guard Int(t) < weights.count, weights[Int(t)] > 0, log.timestamps[e] >= since - 1 else { continue }
            outcomes[UInt64(UInt32(bitPattern: log.users[e])) << 32 | UInt64(UInt32(bitPattern: log.items[e])), default: []]
                .append((log.timestamps[e], t, log.values[e]))
        }
        impressions.sort { log.timestamps[$0] != log.timestamps[$1] ? log.timestamps[$0] < log.timestamps[$1] : $0 < $1 }
        if let maxSamples, impressions.count > maxSamples { impressions = Array(impressions.suffix(maxSamples)) }
        var r = ImpressionRecords()
        var watched: [Float] = []
        r.users.reserveCapacity(impressions.count)
        r.items.reserveCapacity(impressions.count)
        r.timestamps.reserveCapacity(impressions.count)
        watched.reserveCapacity(impressions.count)
        for e in impressions {
            let ts = log.timestamps[e]
            var click = false, like = false, finish = false
            var seconds: Float = 0
            for (t, type, value) in outcomes[UInt64(UInt32(bitPattern: log.users[e])) << 32 | UInt64(UInt32(bitPattern: log.items[e]))] ?? []
            where t >= ts - 1 && t <= ts + labelWindow {
                click = true
                if likeCodes.contains(type) { like = true }
                if type == finishCode { finish = true }
                if type == watchCode, value.isFinite, value > 0 { seconds += value }
            }
            watched.append(seconds)
            r.users.append(log.users[e])
            r.items.append(log.items[e])
            r.timestamps.append(ts)
            r.positions.append(log.position(e) ?? -1)
            r.clicked.append(click)
            r.liked.append(like)
            r.finished.append(finish)
        }
        r.watchSeconds = watched
        outcomes = [:]
        var numbers: [String: [Double]] = [:]
        if let history {
            let users = userCount ?? (Int(log.users.max() ?? -1) + 1)
            numbers = history.numbers(log: log, rows: impressions, userCount: users, gap: historyGap)
        }
        if let counters {
            numbers.merge(counters.numbers(log: log, rows: impressions, registry: registry)) { a, _ in a }
        }
        return Samples(records: r, numbers: numbers)
    }

    /// A ranker and pre-ranker fitted in memory, not yet published.
    public struct Fitted {
        public var model: any RankModel
        public var pipeline: FeaturePipeline
        public var modelConfig: RankModelParameters
        public var preRanker: ThreeTower?
        public var attributes: RankAttributes
        public var samples: Int
        public var tasks: [String]
        public var validAUC: [String: Double]
        public var epochs: Int
        /// Per-task calibration of the probabilities (nil with too few held-out rows), and how
        /// calibrated each task is before and after it on held-out rows it was not fitted on.
        public var calibration: RankCalibration?
        public var calibrationReport: [CalibrationReport]
        /// The pre-ranker's recall of the ranker's favourites on sampled requests (nil without a pre-ranker).
        public var preRankFidelity: PreRankFidelity.Result?
        /// With `positionBias`: the learned relative click rate per slot, top = 1
        /// (``PositionBiasTower/curve(task:baseRate:)`` at the training click rate).
        public var positionCurve: [Double]?

        /// The ranker as the funnel serves it.
        public func online(config: RankStageConfig) throws -> OnlineRanker {
            try OnlineRanker(model: model, pipeline: pipeline, preRanker: preRanker.map { ($0, pipeline) }, attributes: attributes,
                             config: config, versions: (0, preRanker == nil ? nil : 0), calibration: calibration)
        }
    }

    /// Trains on `store` and publishes; returns nil (with the reason logged) when the store has
    /// too few impressions or the ranker is disabled (`config.enabled`).
    public static func train(store: any Store, log: EventLog, config: RankStageConfig) throws -> Report? {
        guard config.enabled else { return nil }
        let start = Date()
        let ids = try store.idSnapshot()
        let attributes = try RankAttributes.load(store: store, ids: ids)
        guard let f = try fit(log: log, registry: try store.eventTypes(), attributes: attributes, userCount: ids.users.count, config: config) else {
            return nil
        }
        var versions: [String: Int] = [:]
        var manifest = ["kind": "rank", "model": f.model.kind, "tasks": f.tasks.joined(separator: ","), "samples": "\(f.samples)",
                        "valid_auc": f.tasks.map { String(format: "%.4f", f.validAUC[$0] ?? .nan) }.joined(separator: ",")]
        // The calibration travels in the ranker's own manifest: served together or not at all.
        if let c = f.calibration { manifest[calibrationKey] = String(decoding: try JSONEncoder().encode(c), as: UTF8.self) }
        // The newest event it learned from: replays of served pages must not use models that saw their outcomes.
        manifest[trainedUntilKey] = String(log.maxTimestamp)
        // The learned position curve, which counterfactual estimates of served pages read.
        if let curve = f.positionCurve { manifest[positionCurveKey] = curve.map { String(format: "%.6g", $0) }.joined(separator: ",") }
        // The pre-ranker first: a ranker is never served with a pre-ranker of another training.
        if let student = f.preRanker {
            versions["prerank"] = try ModelArtifact.publish(store: store, name: ModelArtifact.preRank,
                                                            manifest: ["kind": "prerank", "rank_samples": "\(f.samples)"],
                                                            payload: try ThreeTowerFile.encode(student, pipeline: f.pipeline))
        }
        versions["rank"] = try ModelArtifact.publish(store: store, name: ModelArtifact.rank, manifest: manifest,
                                                     payload: try RankModelFile.encode(model: f.model, pipeline: f.pipeline, config: f.modelConfig))
        logger.info("trained ranker", metadata: ["model": "\(f.model.kind)", "samples": "\(f.samples)", "epochs": "\(f.epochs)",
                                                 "valid_auc": "\(f.validAUC)"])
        return Report(samples: f.samples, tasks: f.tasks, validAUC: f.validAUC, versions: versions, seconds: Date().timeIntervalSince(start),
                      calibration: f.calibrationReport, preRankFidelity: f.preRankFidelity, positionCurve: f.positionCurve)
    }

    /// The manifest key of the time of the newest event the ranker learned from.
    public static let trainedUntilKey = "trained_until"

    /// The manifest key of the ranker's learned position curve (comma-separated, top slot = 1).
    public static let positionCurveKey = "position_curve"

    /// The manifest key of the ranker's calibration (JSON of ``RankCalibration``).
    public static let calibrationKey = "calibration"

    /// Fits the ranker (and, with `config.preRank`, its pre-ranker) on the impressions of `log`;
    /// nil (with the reason logged) when there are too few impressions or no positive label.
    public static func fit(log: EventLog, registry: EventTypeRegistry, attributes loaded: RankAttributes, userCount: Int,
                           config: RankStageConfig) throws -> Fitted? {
        guard config.enabled else { return nil }
        var attributes = loaded
        if !config.historyFeatures { attributes.history = nil }
        if !config.counterFeatures { attributes.counters = nil }
        attributes.behaviour = config.behaviourLength > 0 ? BehaviourSequence(registry: registry, length: config.behaviourLength) : nil
        let samples = samples(log: log, registry: registry, maxSamples: config.maxSamples, windowDays: config.windowDays,
                              history: attributes.history, counters: attributes.counters, userCount: userCount,
                              historyGap: config.historyGap)
        let records = samples.records
        guard records.count >= config.minImpressions else {
            logger.info("ranker not trained: too few impressions", metadata: ["impressions": "\(records.count)", "needed": "\(config.minImpressions)"])
            return nil
        }
        let (trainRows, validRows) = split(records.count)
        let labels = labels(records)
        let candidates = config.tasks.filter { labels[$0].map { $0.count == records.count && $0[trainRows].contains { $0 > 0 } } == true }
        guard !candidates.isEmpty else {
            logger.info("ranker not trained: no positive labels among the impressions")
            return nil
        }
        // The ranker's rows, chunk by chunk (the text of one chunk at a time).
        func frame(_ r: Range<Int>) -> FeatureFrame { frameOf(r, samples: samples, attributes: attributes, labels: labels, tasks: candidates) }
        let pipeline = try FeaturePipeline(config: attributes.featureConfig(), rows: trainRows.count, frame: frame)
        var mc = config.parameters
        mc.tasks = candidates
        let model = try RankModelRegistry.make(config.model, pipeline: pipeline, parameters: mc)
        // Single-task models (LR, FM, DeepFM, ...) learn the click alone, whatever tasks were asked.
        let tasks = model.tasks
        if let missing = tasks.first(where: { !candidates.contains($0) }) {
            throw CascadeError.invalid("ranker \(config.model) learns \(missing), which has no positive among the impressions")
        }
        mc.tasks = tasks
        // The behaviour sequences: each row sees the positives strictly before it.
        let behaviour = try attributes.behaviour.map { try $0.history(log: log, category: attributes.itemColumns["item_category"], pipeline: pipeline) }
        var train = try pipeline.encode(rows: trainRows, history: behaviour, labelColumns: tasks, frame: frame)
        var valid = try pipeline.encode(rows: validRows, history: behaviour, labelColumns: tasks, frame: frame)
        // Position bias: the tower trains beside the ranker on the logged slots, then is dropped.
        var tower: PositionBiasTower?
        if config.positionBias, let deepest = records.positions.max(), deepest > 0 {
            tower = try config.positionCurve.map { try PositionBiasTower(inner: model, curve: $0) }
                ?? PositionBiasTower(inner: model, slots: Swift.min(deepest + 1, 100))
            train.positions = trainRows.map { Int32(records.positions[$0]) }
            valid.positions = validRows.map { Int32(records.positions[$0]) }
        }

        var options = RankTrainingOptions()
        options.epochs = config.epochs
        options.patience = 1
        options.threads = nil
        options.learningRate = config.learningRate
        options.embeddingL2 = config.embeddingL2
        options.weightAverageDecay = config.weightAverageDecay
        options.idDropout = try config.idDropout.keys.sorted().map { try pipeline.idDropout($0, rate: config.idDropout[$0]!) }
        let fit = try RankTrainer.fit(tower ?? model, train: train, valid: valid.rows > 0 ? valid : nil, options: options)
        let positionCurve = tower.map { t in
            let clicks = labels["click"].map { c in trainRows.reduce(0.0) { $0 + Double(c[$1]) } / Double(Swift.max(1, trainRows.count)) }
            return t.curve(task: Swift.max(0, tasks.firstIndex(of: "click") ?? 0), baseRate: clicks ?? 0.1)
        }
        var auc: [String: Double] = [:]
        if valid.rows > 0 {
            let p = try model.predict(valid, threads: nil)
            for (j, t) in tasks.enumerated() {
                // Watch time: how well it orders watched over not watched.
                auc[t] = try ClassificationMetrics.auc(labels: (valid.labelColumn(j) ?? []).map { TaskKind.inferred(t).binarized($0) },
                                                       scores: p.map { $0[j] })
            }
        }
        // Calibration: piecewise-linear per task (monotone, so each task's order is kept), fitted
        // on the first half of the held-out rows and reported on the second.
        var calibration: RankCalibration?
        var calibrationReport: [CalibrationReport] = []
        if config.calibrate, valid.rows >= 200 {
            let half = valid.rows / 2
            let p = try model.predict(valid, threads: nil)
            let w = tasks.count
            let y = (0..<valid.rows).map { r in (0..<w).map { valid.labels!.base[r * w + $0] } }
            if let c = try? RankCalibration.fit(.piecewiseLinear, tasks: tasks, predictions: Array(p[..<half]), labels: Array(y[..<half])) {
                calibration = c
                calibrationReport = (try? c.report(predictions: Array(p[half...]), labels: Array(y[half...]))) ?? []
            }
        }
        var student: ThreeTower?
        if config.preRank {
            var tc = ThreeTowerParameters()
            tc.embeddingDim = config.parameters.embeddingDim
            tc.hidden = [64]
            let s = try ThreeTower(pipeline: pipeline, config: tc)
            var d = DistillationOptions()
            d.epochs = Swift.max(1, config.epochs - 1)
            d.threads = nil
            _ = try ThreeTowerTrainer.distill(s, teacher: model, train: train, options: d)
            student = s
        }
        var fidelity: PreRankFidelity.Result?
        if let student, validRows.count > 0 {
            let fusion = try OnlineRanker.compile(config.fusion, tasks: tasks)
            fidelity = try PreRankFidelity.measure(ranker: model, preRanker: student, pipeline: pipeline, attributes: attributes, fusion: fusion,
                                                   log: log, registry: registry, userCount: userCount,
                                                   heldOut: (Array(records.users[validRows]), Array(records.items[validRows]), Array(records.timestamps[validRows])))
        }
        return Fitted(model: model, pipeline: pipeline, modelConfig: mc, preRanker: student, attributes: attributes,
                      samples: records.count, tasks: tasks, validAUC: auc, epochs: fit.epochs.count,
                      calibration: calibration, calibrationReport: calibrationReport, preRankFidelity: fidelity,
                      positionCurve: positionCurve)
    }

    /// Every task's label column of `records`: 0/1 for click, like and finish, seconds for
    /// watch_time (the one place a task name meets its label).
    static func labels(_ r: ImpressionRecords) -> [String: [Float]] {
        func binary(_ b: [Bool]) -> [Float] { b.map { $0 ? 1 : 0 } }
        return ["click": binary(r.clicked), "like": binary(r.liked), "finish": binary(r.finished),
                "watch_time": r.watchSeconds ?? [Float](repeating: 0, count: r.count)]
    }

    /// Time split of `n` rows sorted by time: 90% train, the last 10% valid.
    static func split(_ n: Int) -> (Range<Int>, Range<Int>) {
        let v = n >= 50 ? n / 10 : 0
        return (0..<(n - v), (n - v)..<n)
    }
}
