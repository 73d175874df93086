/// Per-key event counters over sliding windows of days: how many impressions, clicks, likes ...
/// a user or an item had in the last 1, 7 and 30 days and in all time. The statistics features
/// of ranking (seed 004: a 30-day count that is high while the 1-day count is low means an item
/// going stale) are read from these, and smoothed rates are derived from pairs of counts.
///
/// Storage: per key, a ring of `horizonDays` daily buckets per event kind plus an all-time
/// total. `add` is O(1) amortized; `count(window:)` is O(window) (at most 30 buckets).
/// Buckets older than the horizon are recycled as days advance. Not thread-safe: one writer.
public struct WindowedCounters: Sendable {
    public let kinds: Int
    public let horizonDays: Int
    private var slots: [String: Int] = [:]
    /// Per slot: `horizonDays * kinds` daily counts, then `kinds` totals.
    private var counts: [[Float]] = []
    /// Per slot: the day each ring position currently holds.
    private var days: [[Int32]] = []

    public init(kinds: Int, horizonDays: Int = 30) {
        precondition(kinds > 0 && horizonDays > 0)
        self.kinds = kinds
        self.horizonDays = horizonDays
    }

    /// Adds `amount` to event kind `kind` of `key` on `day` (days since the epoch).
    public mutating func add(_ key: String, kind: Int, day: Int, amount: Float = 1) {
        let s = slot(key)
        let pos = ((day % horizonDays) + horizonDays) % horizonDays
        if days[s][pos] != Int32(day) {
            days[s][pos] = Int32(day)
            for k in 0..<kinds { counts[s][pos * kinds + k] = 0 }
        }
        counts[s][pos * kinds + kind] += amount
        counts[s][horizonDays * kinds + kind] += amount
    }

    /// Events of `kind` for `key` in the `window` days ending with `day` (inclusive), or over
    /// all time when `window` is nil. Unknown keys count 0.
    public func count(_ key: String, kind: Int, day: Int, window: Int?) -> Float {
        guard let s = slots[key] else { return 0 }
        guard let w = window else { return counts[s][horizonDays * kinds + kind] }
        var total: Float = 0
        for d in Swift.max(day - Swift.min(w, horizonDays) + 1, Int(Int32.min))...day {
            let pos = ((d % horizonDays) + horizonDays) % horizonDays
            if days[s][pos] == Int32(d) { total += counts[s][pos * kinds + kind] }
        }
        return total
    }

    private mutating func slot(_ key: String) -> Int {
        if let s = slots[key] { return s }
        let s = counts.count
        slots[key] = s
        counts.append([Float](repeating: 0, count: (horizonDays + 1) * kinds))
        days.append([Int32](repeating: Int32.min, count: horizonDays))
        return s
    }

    /// Bayesian-smoothed rate (successes + prior * mean) / (trials + prior): a rate that starts
    /// at the global `mean` and moves to the observed rate as trials accumulate.
    public static func smoothedRate(successes: Float, trials: Float, prior: Float, mean: Float) -> Float {
        (successes + prior * mean) / (trials + prior)
    }
}
