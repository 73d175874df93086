/// Real-time statistics features (seed 002's statistics features): impressions, clicks, likes
/// and seconds watched, per user, per (user, finest category), (user, top category),
/// (user, author) and per item, over the last day, the last seven days and all time.
///
/// The counts live in rows keyed by the UTC day of the event (plus one all-time row per key),
/// which is how both stores keep them, updated in the transaction of every event write. One
/// definition serves all paths:
/// - a store's write folds its batch into a ``CounterTable`` and adds the rows to its tables;
/// - a store's read returns the rows of one user and some items, and ``CounterTable/snapshot``
///   sums them into windows;
/// - training replays the event log into a ``CounterTable`` in time order and reads each
///   impression's values from it before the events of that instant are added.
///
/// Window semantics at instant `now` (UTC day `d`): `day1` sums the rows of day `d`, `day7`
/// the rows of days `d-6 ... d`, `all` every event ever counted. A served value thus equals the
/// offline reconstruction at `now` when every counted event is earlier than `now`.
///
/// Cost: a write adds at most 10 rows per event (5 keys, day and all-time), merged within a
/// batch; a read touches the rows of the last 7 days and the all-time rows of its keys.

/// The four counts of one key over one period.
public struct CounterTally: Sendable, Equatable, Hashable, Codable {
    public var impressions: Int64 = 0
    public var clicks: Int64 = 0
    public var likes: Int64 = 0
    /// Seconds watched (the `value` of `watch` events).
    public var watchSeconds: Double = 0
    public init(impressions: Int64 = 0, clicks: Int64 = 0, likes: Int64 = 0, watchSeconds: Double = 0) {
        self.impressions = impressions; self.clicks = clicks; self.likes = likes; self.watchSeconds = watchSeconds
    }
    public static func += (a: inout CounterTally, b: CounterTally) {
        a.impressions += b.impressions; a.clicks += b.clicks; a.likes += b.likes; a.watchSeconds += b.watchSeconds
    }

    /// What one event adds, by its type name; nil for types that are not counted.
    public static func of(type: String, value: Double?) -> CounterTally? {
        switch type {
        case EventType.impression.name: return CounterTally(impressions: 1)
        case EventType.click.name: return CounterTally(clicks: 1)
        case EventType.like.name: return CounterTally(likes: 1)
        case EventType.watch.name:
            guard let v = value, v.isFinite, v > 0 else { return nil }
            return CounterTally(watchSeconds: v)
        default: return nil
        }
    }
}

/// What a key's counts add up to at one instant.
public struct CounterWindows: Sendable, Equatable, Codable {
    public var day1 = CounterTally()
    public var day7 = CounterTally()
    public var all = CounterTally()
    public init(day1: CounterTally = CounterTally(), day7: CounterTally = CounterTally(), all: CounterTally = CounterTally()) {
        self.day1 = day1; self.day7 = day7; self.all = all
    }
    /// Adds a row of `day` as seen on day `today`.
    mutating func add(_ t: CounterTally, day: Int64, today: Int64) {
        if day == CounterTable.allTime { all += t; return }
        if day == today { day1 += t }
        if day <= today && day > today - 7 { day7 += t }
    }
}

/// The user-side keys: the user, and the user with one attribute of the item.
public enum CounterScope: UInt8, Sendable, CaseIterable, Codable {
    case user = 0, category = 1, topCategory = 2, author = 3
}

/// The attributes of an item that user-side counters are kept by (as stored when the event is
/// written: a later change of the item's category does not move its past counts).
public struct CounterAttributes: Sendable, Equatable, Hashable {
    public var category: String?
    public var topCategory: String?
    public var author: String?
    public init(category: String? = nil, topCategory: String? = nil, author: String? = nil) {
        self.category = category; self.topCategory = topCategory; self.author = author
    }
    public init(_ item: Item) {
        self.init(category: item.categories.last, topCategory: item.categories.first, author: item.author)
    }
    public static let none = CounterAttributes()

    /// The attributes of `items` by dense index of `ids` (none where an index has no item).
    public static func byIndex(items: [Item], ids: IdMap) -> [CounterAttributes] {
        var a = [CounterAttributes](repeating: .none, count: ids.count)
        for item in items { if let i = ids.index(of: item.id) { a[Int(i)] = CounterAttributes(item) } }
        return a
    }

    /// Entry `item` of a table built by ``byIndex(items:ids:)`` (none outside it).
    public static func of(_ item: Int32, in table: [CounterAttributes]) -> CounterAttributes {
        item >= 0 && Int(item) < table.count ? table[Int(item)] : .none
    }

    /// The (scope, attribute) pairs of this item, the user's own key first.
    public var keys: [(CounterScope, String)] {
        var k: [(CounterScope, String)] = [(.user, "")]
        if let c = category { k.append((.category, c)) }
        if let t = topCategory { k.append((.topCategory, t)) }
        if let a = author { k.append((.author, a)) }
        return k
    }
}

/// Counter rows in memory: a batch about to be written, the rows a store read back, or the
/// whole state replayed from an event log.
public struct CounterTable: Sendable, Equatable {
    /// The day of the all-time rows (above every real day, so "day >= d - 6" reads them too).
    public static let allTime: Int64 = Int64(Int32.max)

    public struct UserRow: Sendable, Hashable {
        public var user: Int32, day: Int64, scope: CounterScope, attribute: String
        public init(user: Int32, day: Int64, scope: CounterScope, attribute: String) {
            self.user = user; self.day = day; self.scope = scope; self.attribute = attribute
        }
    }
    public struct ItemRow: Sendable, Hashable {
        public var item: Int32, day: Int64
        public init(item: Int32, day: Int64) { self.item = item; self.day = day }
    }

    public var users: [UserRow: CounterTally] = [:]
    public var items: [ItemRow: CounterTally] = [:]
    public init() {}

    /// The UTC day of a timestamp.
    @inline(__always) public static func day(_ ts: Double) -> Int64 {
        Int64(Swift.min(1e15, Swift.max(-1e15, (ts / 86_400).rounded(.down))))
    }

    public var isEmpty: Bool { users.isEmpty && items.isEmpty }

    /// Counts one event of `user` on `item` (with the item's `attributes`); types that are not
    /// counted change nothing.
    public mutating func add(user: Int32, item: Int32, attributes: CounterAttributes, type: String, value: Double?, timestamp: Double) {
        guard let t = CounterTally.of(type: type, value: value) else { return }
        add(user: user, item: item, attributes: attributes, tally: t, day: Self.day(timestamp))
    }

    public mutating func add(user: Int32, item: Int32, attributes a: CounterAttributes, tally t: CounterTally, day: Int64) {
        addRows(user: user, item: item, attributes: a, tally: t, day: day)
        addRows(user: user, item: item, attributes: a, tally: t, day: Self.allTime)
    }

    @inline(__always) private mutating func addRows(user: Int32, item: Int32, attributes a: CounterAttributes, tally t: CounterTally, day d: Int64) {
        users[UserRow(user: user, day: d, scope: .user, attribute: ""), default: CounterTally()] += t
        if let c = a.category { users[UserRow(user: user, day: d, scope: .category, attribute: c), default: CounterTally()] += t }
        if let c = a.topCategory { users[UserRow(user: user, day: d, scope: .topCategory, attribute: c), default: CounterTally()] += t }
        if let c = a.author { users[UserRow(user: user, day: d, scope: .author, attribute: c), default: CounterTally()] += t }
        items[ItemRow(item: item, day: d), default: CounterTally()] += t
    }

    /// Drops day rows older than the 7-day window of `day` (all-time rows stay): what a replay in
    /// time order no longer needs.
    public mutating func prune(before day: Int64) {
        let cut = day - 6
        users = users.filter { $0.key.day >= cut }
        items = items.filter { $0.key.day >= cut }
    }

    /// Every row summed into windows at `now` (what a store does with the rows of one request).
    /// O(rows).
    public func snapshot(now: Double) -> CounterSnapshot {
        let today = Self.day(now)
        var s = CounterSnapshot()
        for (k, t) in users {
            s.user[CounterSnapshot.Key(scope: k.scope, attribute: k.attribute), default: CounterWindows()].add(t, day: k.day, today: today)
        }
        for (k, t) in items { s.items[k.item, default: CounterWindows()].add(t, day: k.day, today: today) }
        return s
    }

    /// The windows of `user` on the keys of `attributes` and of `items`, at `now`, by lookups
    /// (what a large in-memory table answers). O(8 * (keys + items)).
    public func snapshot(user: Int32?, items wanted: [Int32], attributes: [CounterAttributes], now: Double) -> CounterSnapshot {
        let today = Self.day(now)
        var s = CounterSnapshot()
        if let user {
            var keys = Set<CounterSnapshot.Key>()
            for a in attributes { for (scope, attribute) in a.keys { keys.insert(CounterSnapshot.Key(scope: scope, attribute: attribute)) } }
            if keys.isEmpty { keys.insert(CounterSnapshot.Key(scope: .user, attribute: "")) }
            for k in keys {
                let w = windows(user: user, scope: k.scope, attribute: k.attribute, today: today)
                if w != CounterWindows() { s.user[k] = w }
            }
        }
        for i in wanted {
            let w = windows(item: i, today: today)
            if w != CounterWindows() { s.items[i] = w }
        }
        return s
    }

    /// The windows of one user-side key at day `today`: 8 lookups.
    public func windows(user: Int32, scope: CounterScope, attribute: String, today: Int64) -> CounterWindows {
        var w = CounterWindows()
        if let t = users[UserRow(user: user, day: Self.allTime, scope: scope, attribute: attribute)] { w.all = t }
        for d in (today - 6)...today {
            if let t = users[UserRow(user: user, day: d, scope: scope, attribute: attribute)] { w.add(t, day: d, today: today) }
        }
        return w
    }

    /// The windows of one item at day `today`: 8 lookups.
    public func windows(item: Int32, today: Int64) -> CounterWindows {
        var w = CounterWindows()
        if let t = items[ItemRow(item: item, day: Self.allTime)] { w.all = t }
        for d in (today - 6)...today {
            if let t = items[ItemRow(item: item, day: d)] { w.add(t, day: d, today: today) }
        }
        return w
    }
}

/// Counted events of a batch folded by (user, item, day) before they are expanded into the
/// rows of ``CounterTable`` (a user's impression, click and watch of one item become one entry).
public struct CounterBatch: Sendable {
    public struct Pair: Hashable, Sendable { public var user: Int32, item: Int32, day: Int64 }
    public var pairs: [Pair: CounterTally] = [:]
    public init() {}
    public var isEmpty: Bool { pairs.isEmpty }
    /// Counts one event by its type name (types that are not counted are ignored).
    public mutating func add(user: Int32, item: Int32, type: String, value: Double?, timestamp: Double) {
        guard let t = CounterTally.of(type: type, value: value) else { return }
        pairs[Pair(user: user, item: item, day: CounterTable.day(timestamp)), default: CounterTally()] += t
    }
    public var items: Set<Int32> { Set(pairs.keys.map(\.item)) }

    /// The rows of ``CounterTable`` (its one definition of which keys an event counts under),
    /// with each item's attributes from `attributes`.
    public func table(_ attributes: [Int32: CounterAttributes]) -> CounterTable {
        var table = CounterTable()
        for (p, t) in pairs { table.add(user: p.user, item: p.item, attributes: attributes[p.item] ?? .none, tally: t, day: p.day) }
        return table
    }
}

extension CounterTable {
    /// The rows in a fixed order (user, day, scope, attribute; then item, day), so two
    /// concurrent writers lock shared rows in the same order.
    public var sortedRows: (users: [(UserRow, CounterTally)], items: [(ItemRow, CounterTally)]) {
        (users.sorted { a, b in
            let x = a.key, y = b.key
            if x.user != y.user { return x.user < y.user }
            if x.day != y.day { return x.day < y.day }
            if x.scope != y.scope { return x.scope.rawValue < y.scope.rawValue }
            return x.attribute < y.attribute
        }.map { ($0.key, $0.value) },
         items.sorted { $0.key.item != $1.key.item ? $0.key.item < $1.key.item : $0.key.day < $1.key.day }.map { ($0.key, $0.value) })
    }
}

/// One request's counters: the user's keys and the candidates', summed into windows.
public struct CounterSnapshot: Sendable, Equatable {
    public struct Key: Sendable, Hashable {
        public var scope: CounterScope
        public var attribute: String
        public init(scope: CounterScope, attribute: String) { self.scope = scope; self.attribute = attribute }
    }
    public var user: [Key: CounterWindows] = [:]
    public var items: [Int32: CounterWindows] = [:]
    public init() {}

    public func user(_ scope: CounterScope, _ attribute: String? = "") -> CounterWindows {
        guard let attribute else { return CounterWindows() }
        return user[Key(scope: scope, attribute: attribute)] ?? CounterWindows()
    }
    public func item(_ i: Int32) -> CounterWindows { items[i] ?? CounterWindows() }
}

/// Where a request reads its counters from: a store (one round trip), or an in-memory table.
public protocol CounterSource: Sendable {
    /// The windows of `user` (nil: a stranger, no user keys) and of `items` at `now`; the user's
    /// keys include at least those of `attributes` (the candidates' attributes, parallel to
    /// `items`).
    func counters(user: Int32?, items: [Int32], attributes: [CounterAttributes], now: Double) throws -> CounterSnapshot
}

extension CounterTable: CounterSource {
    public func counters(user: Int32?, items: [Int32], attributes: [CounterAttributes], now: Double) throws -> CounterSnapshot {
        snapshot(user: user, items: items, attributes: attributes, now: now)
    }
}

/// Two sources added together (a frozen table and the rows of events since).
public struct CombinedCounters: CounterSource {
    public let sources: [any CounterSource]
    public init(_ sources: [any CounterSource]) { self.sources = sources }
    public func counters(user: Int32?, items: [Int32], attributes: [CounterAttributes], now: Double) throws -> CounterSnapshot {
        var out = CounterSnapshot()
        for s in sources {
            let part = try s.counters(user: user, items: items, attributes: attributes, now: now)
            for (k, w) in part.user { out.user[k, default: CounterWindows()].addAll(w) }
            for (k, w) in part.items { out.items[k, default: CounterWindows()].addAll(w) }
        }
        return out
    }
}

extension CounterWindows {
    mutating func addAll(_ w: CounterWindows) { day1 += w.day1; day7 += w.day7; all += w.all }
}
