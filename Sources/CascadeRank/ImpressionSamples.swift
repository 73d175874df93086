import CascadeTensor
import Foundation

/// Logged impressions with their outcomes, as plain columns (one entry per impression, in any
/// order): the input of ``ImpressionSamples/build(_:validFraction:testFraction:)``. Users and
/// items are dense indices into `userColumns` / `itemColumns` (attribute columns by index).
/// A simulator, a store or a log file can fill it; nothing here depends on where it came from.
public struct ImpressionRecords: Sendable {
    public var users: [Int32] = []
    public var items: [Int32] = []
    public var timestamps: [Double] = []
    /// Slot on the page (0 = top).
    public var positions: [Int] = []
    public var clicked: [Bool] = []
    public var liked: [Bool] = []
    /// The watch reached the item's end.
    public var finished: [Bool] = []
    /// Seconds watched (0 when not clicked); nil when not logged.
    public var watchSeconds: [Float]?
    /// True probabilities per task name ("click", "like", "finish"), when known (a simulator).
    public var truth: [String: [Float]] = [:]
    /// Attribute columns by user index, e.g. "age_band", "city", "user_tags" ('|'-separated).
    public var userColumns: [String: [String]] = [:]
    /// Attribute columns by item index, e.g. "category", "author", "item_tags".
    public var itemColumns: [String: [String]] = [:]
    /// Publish time by item index (for the item-age feature); nil when unknown.
    public var itemPublishedAt: [Double]?
    /// Further per-impression context columns (one value per impression), e.g. whether the user
    /// follows the item's author or the user-item distance.
    public var contextColumns: [String: [String]] = [:]

    public init() {}

    public var count: Int { users.count }
}

/// One time slice of impression samples: the feature frame with per-task labels, and the
/// per-row user, time and true probabilities for evaluation.
public struct ImpressionSplit: Sendable {
    /// Feature columns (see ``ImpressionSamples/featureConfig(_:)``) plus the label columns
    /// "click", "like", "finish" (0/1) and "watch_time" (seconds) when logged.
    public var frame: FeatureFrame
    public var users: [Int32]
    public var timestamps: [Double]
    /// True probabilities by task ("click", "like", "finish"), when the records had them.
    public var truth: [String: [Float]]
    public var rows: Int { frame.rowCount }

    /// The 0/1 (or seconds) labels of `task` as numbers.
    public func labels(_ task: String) -> [Float]? {
        frame.columns[task].map { $0.map { Float($0) ?? 0 } }
    }
}

/// Training data for multi-task ranking from logged impressions: one row per impression with
/// its context (user and item attributes, position, time, item age), its per-task labels and,
/// from a simulator, its true probabilities; split by time into train / valid / test.
public enum ImpressionSamples {
    /// Label columns the frames carry, in this order ("watch_time" only when logged).
    public static let labelColumns = ["click", "like", "finish", "watch_time"]

    /// Rows in time order (ties by input order); the first `1 - valid - test` share is train,
    /// then valid, then test, so evaluation is always on the future. O(n log n + n columns).
    ///
    /// With `statisticsDelay`, each row also gets streaming user and item statistics of the
    /// impressions logged at least that many seconds before it (the delay keeps the outcomes of
    /// the same page and session out, as a production counter would lag): impression counts and
    /// smoothed click, like-given-click and finish-given-click rates (``statisticsColumns``).
    ///
    /// `crossColumns` (item columns such as "category" or "author"; needs `statisticsDelay`) add
    /// the "hit" cross features of seed 002 under the same lag: how often the user was shown
    /// items with the candidate's value and how often they clicked them
    /// (``crossStatisticsColumns(_:)``).
    public static func build(_ r: ImpressionRecords, validFraction: Double = 0.1, testFraction: Double = 0.1,
                             statisticsDelay: Double? = nil, crossColumns: [String] = []) throws -> (train: ImpressionSplit, valid: ImpressionSplit, test: ImpressionSplit) {
        let n = r.count
        guard n > 0 else { throw RankError.data("no impressions") }
        guard [r.items.count, r.timestamps.count, r.positions.count, r.clicked.count, r.liked.count, r.finished.count]
            .allSatisfy({ $0 == n }), r.watchSeconds.map({ $0.count == n }) ?? true, r.truth.values.allSatisfy({ $0.count == n }),
            r.contextColumns.values.allSatisfy({ $0.count == n }) else {
            throw RankError.data("impression columns have different lengths (\(n) users)")
        }
        guard validFraction >= 0, testFraction >= 0, validFraction + testFraction < 1 else {
            throw RankError.data("valid and test fractions must be >= 0 and sum below 1")
        }
        for (name, col) in r.userColumns {
            if let bad = r.users.first(where: { $0 < 0 || Int($0) >= col.count }) {
                throw RankError.data("user index \(bad) outside user column '\(name)' (\(col.count) users)")
            }
        }
        for (name, col) in r.itemColumns {
            if let bad = r.items.first(where: { $0 < 0 || Int($0) >= col.count }) {
                throw RankError.data("item index \(bad) outside item column '\(name)' (\(col.count) items)")
            }
        }
        let order = (0..<n).sorted { r.timestamps[$0] != r.timestamps[$1] ? r.timestamps[$0] < r.timestamps[$1] : $0 < $1 }
        let testStart = n - Int((Double(n) * testFraction).rounded())
        let validStart = testStart - Int((Double(n) * validFraction).rounded())
        if !crossColumns.isEmpty && statisticsDelay == nil {
            throw RankError.data("cross statistics (\(crossColumns.joined(separator: ", "))) need a statistics delay")
        }
        for c in crossColumns where r.itemColumns[c] == nil {
            throw RankError.data("cross statistics: no item column '\(c)' (item columns: \(r.itemColumns.keys.sorted().joined(separator: ", ")))")
        }
        let stats = try statisticsDelay.map { try statistics(r, order: order, delay: $0, crossColumns: crossColumns) } ?? [:]
        return (split(r, order[0..<validStart], stats), split(r, order[validStart..<testStart], stats),
                split(r, order[testStart..<n], stats))
    }

    /// Columns added by `statisticsDelay`: log1p impression counts and smoothed rates.
    public static let statisticsColumns = [
        "user_impressions", "user_ctr", "user_like_rate", "user_finish_rate",
        "item_impressions", "item_ctr", "item_like_rate", "item_finish_rate",
    ]

    /// Streaming counters in time order; row i sees the impressions at least `delay` seconds
    /// older. Rates are smoothed toward the running global rate with a prior of 10 impressions
    /// (CTR) or 10 clicks (like and finish given click). For each of `crossColumns` (item
    /// columns), the (user, candidate's value) counters of the same pass: the impression count and
    /// a click rate smoothed toward the user's smoothed CTR with a prior of 5 impressions, so a
    /// value never shown to the user reads as the user's general rate. O(n x (1 + crosses)).
    static func statistics(_ r: ImpressionRecords, order: [Int], delay: Double,
                           crossColumns: [String] = []) throws -> [String: [String]] {
        guard delay >= 0, delay.isFinite else { throw RankError.data("statistics delay must be >= 0 seconds") }
        let n = r.count
        struct Counts { var imps = 0.0, clicks = 0.0, likes = 0.0, finishes = 0.0 }
        var users: [Int32: Counts] = [:], items: [Int32: Counts] = [:]
        var global = Counts()
        let columns = statisticsColumns + crossColumns.flatMap(crossStatisticsColumns)
        var out = Dictionary(uniqueKeysWithValues: columns.map { ($0, [String](repeating: "", count: n)) })
        let m = 10.0
        func add(_ c: inout Counts, _ k: Int) {
            c.imps += 1
            if r.clicked[k] { c.clicks += 1 }
            if r.liked[k] { c.likes += 1 }
            if r.finished[k] { c.finishes += 1 }
        }
        // Cross keys: user << 32 | interned value of the item's column.
        let crossValues: [[UInt32]] = crossColumns.map { c in
            var interned: [String: UInt32] = [:]
            return r.itemColumns[c]!.map { v in
                if let id = interned[v] { return id }
                let id = UInt32(interned.count)
                interned[v] = id
                return id
            }
        }
        var pairs = [[UInt64: Counts]](repeating: [:], count: crossColumns.count)
        func pairKey(_ x: Int, _ k: Int) -> UInt64 {
            UInt64(UInt32(bitPattern: r.users[k])) << 32 | UInt64(crossValues[x][Int(r.items[k])])
        }
        var lag = 0
        for i in order {
            while lag < n, r.timestamps[order[lag]] <= r.timestamps[i] - delay {
                let k = order[lag]
                add(&users[r.users[k], default: Counts()], k)
                add(&items[r.items[k], default: Counts()], k)
                add(&global, k)
                for x in pairs.indices { add(&pairs[x][pairKey(x, k), default: Counts()], k) }
                lag += 1
            }
            let ctr0 = (global.clicks + 1) / (global.imps + 10)
            let like0 = (global.likes + 1) / (global.clicks + 4), fin0 = (global.finishes + 1) / (global.clicks + 4)
            for (prefix, c) in [("user", users[r.users[i]] ?? Counts()), ("item", items[r.items[i]] ?? Counts())] {
                out["\(prefix)_impressions"]![i] = String(Float(c.imps))
                out["\(prefix)_ctr"]![i] = String(Float((c.clicks + m * ctr0) / (c.imps + m)))
                out["\(prefix)_like_rate"]![i] = String(Float((c.likes + m * like0) / (c.clicks + m)))
                out["\(prefix)_finish_rate"]![i] = String(Float((c.finishes + m * fin0) / (c.clicks + m)))
            }
            if !pairs.isEmpty {
                let u = users[r.users[i]] ?? Counts()
                let userRate = (u.clicks + m * ctr0) / (u.imps + m)
                for (x, c) in crossColumns.enumerated() {
                    let p = pairs[x][pairKey(x, i)] ?? Counts(), names = crossStatisticsColumns(c)
                    out[names[0]]![i] = String(Float(p.imps))
                    out[names[1]]![i] = String(Float((p.clicks + 5 * userRate) / (p.imps + 5)))
                }
            }
        }
        return out
    }

    /// Columns of the cross statistics of item column `c`: the log1p count of the user's earlier
    /// impressions of items with the candidate's value and the user's smoothed click rate on them.
    public static func crossStatisticsColumns(_ c: String) -> [String] {
        ["user_\(c)_impressions", "user_\(c)_ctr"]
    }

    static func split(_ r: ImpressionRecords, _ rows: ArraySlice<Int>, _ stats: [String: [String]] = [:]) -> ImpressionSplit {
        var c: [String: [String]] = [:]
        for (name, col) in stats { c[name] = rows.map { col[$0] } }
        func column(_ name: String, _ f: (Int) -> String) { c[name] = rows.map(f) }
        column("user") { "u\(r.users[$0])" }
        column("item") { "i\(r.items[$0])" }
        column("position") { String(r.positions[$0]) }
        column("timestamp") { String(r.timestamps[$0]) }
        if let pub = r.itemPublishedAt {
            column("item_age_hours") { i in
                let item = Int(r.items[i])
                return item < pub.count ? String(Swift.max(0, (r.timestamps[i] - pub[item]) / 3_600)) : ""
            }
        }
        for (name, col) in r.userColumns { column(name) { col[Int(r.users[$0])] } }
        for (name, col) in r.itemColumns { column(name) { col[Int(r.items[$0])] } }
        for (name, col) in r.contextColumns { column(name) { col[$0] } }
        column("click") { r.clicked[$0] ? "1" : "0" }
        column("like") { r.liked[$0] ? "1" : "0" }
        column("finish") { r.finished[$0] ? "1" : "0" }
        if let w = r.watchSeconds { column("watch_time") { String(w[$0]) } }
        return ImpressionSplit(frame: FeatureFrame(rowCount: rows.count, columns: c),
                               users: rows.map { r.users[$0] }, timestamps: rows.map { r.timestamps[$0] },
                               truth: r.truth.mapValues { t in rows.map { t[$0] } })
    }

    /// The features of an impression frame: user and item ids, position, hour and weekday of the
    /// impression, item age (buckets and log) when known, and every user / item / context column
    /// (columns whose values contain '|' become bags, numeric-looking ones with many values
    /// quantile buckets, the rest categorical).
    /// With `statistics`, the ``statisticsColumns`` too (counts as log1p, rates standardized).
    /// With `crossColumns`, their ``crossStatisticsColumns(_:)`` as well.
    public static func featureConfig(_ r: ImpressionRecords, minCount: Int = 1, statistics: Bool = false,
                                     crossColumns: [String] = []) -> FeatureConfig {
        var f: [FeatureSpec] = [
            FeatureSpec(name: "user", kind: .categorical, minCount: minCount),
            FeatureSpec(name: "item", kind: .categorical, minCount: minCount),
            FeatureSpec(name: "position", kind: .categorical),
            FeatureSpec(name: "hour", source: "timestamp", kind: .categorical, derive: .hour),
            FeatureSpec(name: "weekday", source: "timestamp", kind: .categorical, derive: .weekday),
        ]
        if r.itemPublishedAt != nil {
            f.append(FeatureSpec(name: "item_age", source: "item_age_hours", kind: .buckets, buckets: 16))
            f.append(FeatureSpec(name: "item_age_log", source: "item_age_hours", kind: .numeric, transform: .log1pStandardize))
        }
        let attributes = r.userColumns.sorted { $0.key < $1.key } + r.itemColumns.sorted { $0.key < $1.key }
            + r.contextColumns.sorted { $0.key < $1.key }
        for (name, col) in attributes {
            let sample = col.prefix(2_000)
            if sample.contains(where: { $0.contains("|") }) {
                f.append(FeatureSpec(name: name, kind: .bag, minCount: minCount, separator: "|"))
            } else if sample.allSatisfy({ $0.isEmpty || Double($0) != nil }) && Set(sample).count > 50 {
                f.append(FeatureSpec(name: name, kind: .buckets, buckets: 16))
            } else {
                f.append(FeatureSpec(name: name, kind: .categorical, minCount: minCount))
            }
        }
        if statistics {
            for name in statisticsColumns + crossColumns.flatMap(crossStatisticsColumns) {
                f.append(FeatureSpec(name: name, kind: .numeric, transform: name.hasSuffix("impressions") ? .log1pStandardize : .standardize))
            }
        }
        return FeatureConfig(label: nil, features: f)
    }
}

extension FeaturePipeline {
    /// Encodes `frame` with a label tensor [rows, labelColumns.count] read from those columns
    /// (a multi-task batch; column t is task t). Every named column must be present and numeric.
    public func encode(_ frame: FeatureFrame, history: InteractionHistory? = nil, labelColumns: [String]) throws -> EncodedBatch {
        let b = try encodeInputs(frame, history: history)
        let n = frame.rowCount, t = labelColumns.count
        let labels = Tensor(shape: [n, t])
        for (j, name) in labelColumns.enumerated() {
            guard let col = frame.columns[name] else {
                throw RankError.data("no label column '\(name)' (columns: \(frame.columns.keys.sorted().joined(separator: ", ")))")
            }
            for r in 0..<n {
                guard let y = Float(col[r]), y.isFinite else {
                    throw RankError.data("row \(r + 1): label '\(col[r])' in column '\(name)' is not a number")
                }
                labels.base[r * t + j] = y
            }
        }
        return EncodedBatch(rows: n, sparseIds: b.sparseIds, bags: b.bags, dense: b.dense, labels: labels, histories: b.histories,
                            positions: b.positions)
    }
}

extension EncodedBatch {
    /// The same rows with `labels` [rows, tasks] instead (e.g. one task column of a multi-task
    /// batch for a single-task model). O(1): the inputs are shared.
    public func withLabels(_ labels: Tensor) throws -> EncodedBatch { try replacingLabels(labels) }
}
