import CascadeCore
import CascadeRank
import CascadeRecall

/// Behaviour ("hit") features of a user toward a candidate item (seed 002's statistics and hit
/// features): over the user's most recent events, how many positive events and impressions
/// they had in all, on the candidate's finest category, on its top category and on its author,
/// and the smoothed positive rates on the category and the author.
///
/// Served from the request's history (the newest `limit` events the funnel reads per request);
/// rebuilt for training from the event log, for every impression, over the user's newest
/// `limit` events strictly before it. Both paths go through the same ``Window``, so a trained
/// value and a served one are the same function of the same events (tested).
///
/// Cost: O(limit) to fold a request's history, then O(1) hash lookups per candidate; for
/// training O(events) over the whole log (each event enters and leaves one window once).
public struct HistoryFeatures: Sendable {
    /// Column names, in the order ``Window/values(item:features:into:)`` writes them.
    public static let columnNames = ["h_pos", "h_imp", "h_cat_pos", "h_cat_imp", "h_cat_rate", "h_top_pos", "h_top_imp",
                                 "h_author_pos", "h_author_imp", "h_author_rate"]
    /// Events of the user that count (the funnel's default history length).
    public static let defaultLimit = 500

    /// Finest category, top category and author of item i at 3i, 3i + 1, 3i + 2 (-1: none): one
    /// cache line per candidate on a large catalog, not three.
    let codes: [Int32]
    var itemCount: Int { codes.count / 3 }
    /// Per event type code: counts as a positive (a positive weight in the registry).
    let positive: [Bool]
    let impression: Int
    public let limit: Int

    public init(items: [Item], ids: IdMap, registry: EventTypeRegistry, limit: Int = HistoryFeatures.defaultLimit) {
        var codes = [Int32](repeating: -1, count: 3 * ids.count)
        var names: [String: Int32] = [:]
        func code(_ s: String) -> Int32 {
            if let c = names[s] { return c }
            let c = Int32(names.count)
            names[s] = c
            return c
        }
        for item in items {
            guard let i = ids.index(of: item.id).map(Int.init) else { continue }
            if let c = item.categories.last { codes[3 * i] = code("c:" + c) }
            if let c = item.categories.first { codes[3 * i + 1] = code("t:" + c) }
            if let a = item.author { codes[3 * i + 2] = code("a:" + a) }
        }
        self.codes = codes
        positive = registry.weightsByCode.map { $0 > 0 }
        impression = registry.code(of: .impression).map(Int.init) ?? -1
        self.limit = Swift.max(1, limit)
    }

    /// Feature declarations of the columns: quantile buckets, evaluated per candidate (the
    /// three-tower pre-ranker's cross side).
    public static var featureSpecs: [FeatureSpec] {
        columnNames.map { FeatureSpec(name: $0, kind: .buckets, buckets: 8, side: .context) }
    }

    /// Counts over a multiset of one user's events.
    struct Window: Sendable {
        struct Tally { var pos: Int32 = 0, imp: Int32 = 0 }
        var all = Tally()
        var byKey = TallyTable()

        @inline(__always) static func key(_ kind: Int64, _ value: Int32) -> Int64 { kind << 32 | Int64(UInt32(bitPattern: value)) }

        mutating func add(item: Int32, type: UInt8, sign: Int32, features f: HistoryFeatures) {
            let i = Int(item)
            guard i >= 0, i < f.itemCount else { return }
            let isImpression = Int(type) == f.impression
            guard isImpression || f.positive[Int(type)] else { return }
            let dp = isImpression ? 0 : sign, di = isImpression ? sign : 0
            all.pos += dp; all.imp += di
            // Three keyed tallies, without an array per event (this runs per history event).
            for kind in 0..<3 where f.codes[3 * i + kind] >= 0 { byKey.add(Self.key(Int64(kind), f.codes[3 * i + kind]), pos: dp, imp: di) }
        }

        /// The feature values of `item`, in ``HistoryFeatures/columnNames`` order. Numbers
        /// whose text (`String(_:)`, which reads back exactly) is what training stores, so a
        /// served number and a trained text bucket alike.
        func values(item: Int32, features f: HistoryFeatures, into out: inout [Double]) {
            let i = Int(item)
            func tally(_ kind: Int) -> Tally {
                guard i >= 0, i < f.itemCount, f.codes[3 * i + kind] >= 0 else { return Tally() }
                return byKey[Self.key(Int64(kind), f.codes[3 * i + kind])]
            }
            func rate(_ t: Tally) -> Double { (Double(t.pos) + 0.5) / (Double(t.imp) + 5) }
            let c = tally(0), t = tally(1), a = tally(2)
            out[0] = Double(all.pos); out[1] = Double(all.imp)
            out[2] = Double(c.pos); out[3] = Double(c.imp); out[4] = rate(c)
            out[5] = Double(t.pos); out[6] = Double(t.imp)
            out[7] = Double(a.pos); out[8] = Double(a.imp); out[9] = rate(a)
        }
    }

    /// A user's history folded into counts once per request (newest first; only the newest
    /// `limit` events count). O(limit).
    public struct Folded: Sendable { let window: Window }

    public func fold(_ history: [HistoryEvent]) -> Folded {
        var w = Window()
        for e in history.prefix(limit) { w.add(item: e.item, type: e.type, sign: 1, features: self) }
        return Folded(window: w)
    }

    /// The columns for one request's candidates as numbers, from the user's history (newest
    /// first; only the newest `limit` events count). O(limit + candidates).
    public func numbers(history: [HistoryEvent], items: [Int32]) -> [String: [Double]] {
        numbers(fold(history), items: items)
    }

    /// The columns for candidates `items` from a folded history. O(candidates).
    public func numbers(_ folded: Folded, items: [Int32]) -> [String: [Double]] {
        let w = folded.window, n = items.count, c = Self.columnNames.count
        var row = [Double](repeating: 0, count: c)
        var columns = [[Double]](repeating: [], count: c)
        for k in 0..<c { columns[k].reserveCapacity(n) }
        for item in items {
            w.values(item: item, features: self, into: &row)
            for k in 0..<c { columns[k].append(row[k]) }
        }
        return Dictionary(uniqueKeysWithValues: zip(Self.columnNames, columns))
    }

    /// The same as text columns (the frame path).
    public func values(history: [HistoryEvent], items: [Int32]) -> [String: [String]] {
        numbers(history: history, items: items).mapValues { $0.map { String($0) } }
    }

    /// The columns for logged impressions `rows` (event indices into `log`, any order): each
    /// from the user's newest `limit` events strictly before the impression's time, as text.
    public func values(log: EventLog, rows: [Int], userCount: Int) -> [String: [String]] {
        numbers(log: log, rows: rows, userCount: userCount).mapValues { $0.map { String($0) } }
    }

    /// The same as numbers (whose text is what ``values(log:rows:userCount:)`` gives).
    ///
    /// With `gap` > 0 a row sees only the events at least `gap` seconds older than it: the
    /// impressions logged with it on its own page (a few milliseconds apart, one slot after the
    /// other) then stay out, as they are at serving, where the page does not exist yet; without
    /// it the slot leaks into the counts (a row at slot k sees k impressions of its own page).
    /// O(events + rows).
    public func numbers(log: EventLog, rows: [Int], userCount: Int, gap: Double = 0) -> [String: [Double]] {
        var rowOf = [Int32](repeating: -1, count: log.count)
        for (r, e) in rows.enumerated() { rowOf[e] = Int32(r) }
        var out = [[Double]](repeating: [Double](repeating: 0, count: rows.count), count: Self.columnNames.count)
        let index = log.indexByUser(userCount: userCount)
        var row = [Double](repeating: 0, count: Self.columnNames.count)
        let gap = Swift.max(0, gap)
        for u in 0..<userCount {
            let lo = index.offsets[u], hi = index.offsets[u + 1]
            guard hi > lo else { continue }
            var w = Window()
            var first = lo  // oldest event still in the window
            var added = lo  // next event to enter it
            var p = lo
            while p < hi {
                // Events at one instant: each sees only what came strictly before (by `gap`).
                let t = log.timestamps[index.events[p]]
                var q = p
                while q < hi && log.timestamps[index.events[q]] == t { q += 1 }
                while added < hi && log.timestamps[index.events[added]] < t - gap {
                    let e = index.events[added]
                    w.add(item: log.items[e], type: log.types[e], sign: 1, features: self)
                    if added - first + 1 > limit {
                        let old = index.events[first]
                        w.add(item: log.items[old], type: log.types[old], sign: -1, features: self)
                        first += 1
                    }
                    added += 1
                }
                for k in p..<q {
                    let r = Int(rowOf[index.events[k]])
                    guard r >= 0 else { continue }
                    w.values(item: log.items[index.events[k]], features: self, into: &row)
                    for c in row.indices { out[c][r] = row[c] }
                }
                p = q
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(Self.columnNames, out))
    }
}

/// Tallies by non-negative Int64 key: open addressing with linear probing and a multiplicative
/// hash (the history features look up three keys per candidate of every request, where the
/// standard dictionary's seeded SipHash cost 5% of a request). Keys are never removed (a tally
/// that returns to zero stays), so a probe ends at the first empty slot. O(1) expected per
/// operation at load factor <= 1/2.
struct TallyTable: Sendable {
    private var keys: [Int64]
    private var tallies: [HistoryFeatures.Window.Tally]
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int = 256) {
        var size = 16
        while size < 2 * capacity { size <<= 1 }
        keys = [Int64](repeating: -1, count: size)
        tallies = [HistoryFeatures.Window.Tally](repeating: .init(), count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always) private func slot(_ key: Int64) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The tally of `key` (zero when absent).
    subscript(key: Int64) -> HistoryFeatures.Window.Tally {
        let mask = keys.count - 1
        var s = slot(key)
        while true {
            let k = keys[s]
            if k == key { return tallies[s] }
            if k < 0 { return .init() }
            s = (s + 1) & mask
        }
    }

    mutating func add(_ key: Int64, pos: Int32, imp: Int32) {
        precondition(key >= 0, "tally keys are non-negative")
        let mask = keys.count - 1
        var s = slot(key)
        while true {
            let k = keys[s]
            if k == key { break }
            if k < 0 {
                if 2 * (count + 1) > keys.count {
                    grow()
                    add(key, pos: pos, imp: imp)
                    return
                }
                keys[s] = key
                count += 1
                break
            }
            s = (s + 1) & mask
        }
        tallies[s].pos += pos
        tallies[s].imp += imp
    }

    private mutating func grow() {
        var bigger = TallyTable(capacity: keys.count)
        for (s, k) in keys.enumerated() where k >= 0 { bigger.add(k, pos: tallies[s].pos, imp: tallies[s].imp) }
        self = bigger
    }
}
