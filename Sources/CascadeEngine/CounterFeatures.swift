import CascadeCore
import CascadeRank
import CascadeRecall

/// The ranker's statistics features (seed 002), from the store's real-time counters
/// (``CounterTable``): the candidate's impressions and smoothed click-through over the last day,
/// its click-through over the last week and all time, and its likes and watch seconds per click
/// over the last week.
///
/// Chosen by the closed loop: a larger set that added the user's activity and the user's
/// click-through on the candidate's category, top category and author (which the user's own
/// history already tells the ranker, see ``HistoryFeatures``) scored no better and cost twice
/// the ranking time; the store keeps those counts all the same.
///
/// Served from one read of the store's counters per request (the ranked candidates' rows);
/// rebuilt for training by replaying the event log point in time (``CounterReplay``), so a
/// trained value and a served one are the same function of the same events (tested in both
/// stores). Declared with side `rank`: the pre-ranker does not read them.
///
/// Cost: 8 lookups per candidate.
public struct CounterFeatures: Sendable {
    /// Column names, in the order ``values(item:into:)`` writes them.
    public static let columnNames = [
        "s_item_imp_1d", "s_item_ctr_1d", "s_item_ctr_7d", "s_item_like_7d", "s_item_watch_7d", "s_item_ctr_all",
    ]

    /// The attributes counters are kept by, per dense item index.
    public let attributes: [CounterAttributes]

    public init(items: [Item], ids: IdMap) {
        attributes = CounterAttributes.byIndex(items: items, ids: ids)
    }

    /// Quantile buckets, read by the ranker only.
    public static var featureSpecs: [FeatureSpec] {
        columnNames.map { FeatureSpec(name: $0, kind: .buckets, buckets: 8, side: .rank) }
    }

    /// Click-through smoothed toward 5% with the weight of 20 impressions.
    @inline(__always) static func ctr(_ t: CounterTally) -> Double { (Double(t.clicks) + 1) / (Double(t.impressions) + 20) }

    /// One candidate's values from its windows.
    static func values(item w: CounterWindows, into out: inout [Double]) {
        out[0] = Double(w.day1.impressions); out[1] = ctr(w.day1)
        out[2] = ctr(w.day7)
        out[3] = (Double(w.day7.likes) + 0.1) / (Double(w.day7.clicks) + 1)
        out[4] = w.day7.watchSeconds / (Double(w.day7.clicks) + 1)
        out[5] = ctr(w.all)
    }

    /// The candidates' attributes (what a counter read needs for the user's keys).
    public func attributes(items: [Int32]) -> [CounterAttributes] { items.map { CounterAttributes.of($0, in: attributes) } }

    /// The columns for one request's candidates from its counters.
    public func numbers(_ s: CounterSnapshot, items: [Int32]) -> [String: [Double]] {
        var out = [[Double]](repeating: [Double](repeating: 0, count: items.count), count: Self.columnNames.count)
        var row = [Double](repeating: 0, count: Self.columnNames.count)
        for (r, i) in items.enumerated() {
            Self.values(item: s.item(i), into: &row)
            for k in row.indices { out[k][r] = row[k] }
        }
        return Dictionary(uniqueKeysWithValues: zip(Self.columnNames, out))
    }

    /// The columns for logged impressions `rows` (event indices into `log`), each from the
    /// events strictly before it (text, as training frames hold them). O(events + rows).
    public func values(log: EventLog, rows: [Int], registry: EventTypeRegistry) -> [String: [String]] {
        numbers(log: log, rows: rows, registry: registry).mapValues { $0.map { String($0) } }
    }

    /// The same as numbers. O(events + rows).
    public func numbers(log: EventLog, rows: [Int], registry: EventTypeRegistry) -> [String: [Double]] {
        var rowOf = [Int32](repeating: -1, count: log.count)
        for (r, e) in rows.enumerated() { rowOf[e] = Int32(r) }
        var out = [[Double]](repeating: [Double](repeating: 0, count: rows.count), count: Self.columnNames.count)
        var row = [Double](repeating: 0, count: Self.columnNames.count)
        CounterReplay(registry: registry, attributes: attributes).replay(log, queries: rows) { e, table in
            Self.values(item: table.windows(item: log.items[e], today: CounterTable.day(log.timestamps[e])), into: &row)
            let r = Int(rowOf[e])
            for k in row.indices { out[k][r] = row[k] }
        }
        return Dictionary(uniqueKeysWithValues: zip(Self.columnNames, out))
    }
}
