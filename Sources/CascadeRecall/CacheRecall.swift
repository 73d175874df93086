import CascadeCore
import Foundation

/// Cache recall: the user's previous candidates that were good enough to be merged (or ranked)
/// but were not shown. After a request the funnel writes the candidates it did not show with
/// ``remember(user:merged:now:)`` (or one of its overloads); at the next request ``recall(_:quota:filter:)`` returns
/// them, best stored score first, minus whatever the filter forbids (hidden, seen, exposed since).
///
/// An entry leaves the cache when the user has been passed over it `maxPasses` times (every
/// write that contains it again counts one pass), when it is older than `maxAge` seconds since
/// it was first written, when the user's list exceeds `maxItemsPerUser` (lowest scores go first),
/// or when ``forget(user:items:)`` removes it (call it with the items actually shown). Users are
/// kept in least-recently-written order and the least recently written user is evicted beyond
/// `maxUsers`; memory is at most about 24 bytes x `maxUsers` x `maxItemsPerUser`.
/// Reading does not change recency: the funnel writes after every request, which refreshes it.
///
/// Unlike the other channels there is no offline artifact: the content is built online. It still
/// conforms to ``RecallChannel``: ``serialized()`` returns the current content (users in recency
/// order) and ``init(serialized:)`` restores it, so the cache survives a restart.
/// Users unknown to the store (`context.user == nil`) are never cached.
///
/// Thread safety: this is shared mutable state. Every method takes an internal lock, so one
/// instance may be used from any number of concurrent requests; each call holds the lock for
/// O(entries of one user) (``serialized()``: O(all entries)).
/// Complexity: recall O(entries of the user); remember O((stored + new) log(stored + new));
/// forget O(entries of the user + items); eviction O(1).
public final class CacheRecall: RecallChannel, @unchecked Sendable {
    /// One cached candidate.
    public struct Entry: Sendable, Equatable {
        public var item: Int32
        /// The score given at the latest write.
        public var score: Float
        /// When the item was first written, seconds since 1970 UTC.
        public var since: Double
        /// How many writes contained it (the user was passed over it this many times).
        public var passes: Int32
        public init(item: Int32, score: Float, since: Double, passes: Int32) {
            self.item = item
            self.score = score
            self.since = since
            self.passes = passes
        }
    }

    public struct Parameters: Sendable, Equatable {
        /// Users kept; the least recently written goes first.
        public var maxUsers = 100_000
        /// Entries kept per user, highest scores first.
        public var maxItemsPerUser = 50
        /// Seconds an entry lives after its first write; nil for no limit.
        public var maxAge: Double? = 3 * 86_400
        /// Writes after which an entry that is still not shown leaves.
        public var maxPasses = 10
        public init() {}
    }

    public let name: String
    public let parameters: Parameters

    private struct Slot {
        var user: Int32
        var prev: Int
        var next: Int
        var entries: [Entry]
    }

    private let lock = NSLock()
    private var slots: [Slot] = []
    private var slotOf: [Int32: Int] = [:]
    private var freeSlots: [Int] = []
    /// Most recently written user's slot, and least recently written; -1 when empty.
    private var head = -1, tail = -1

    public init(name: String = "cache", parameters: Parameters = Parameters()) {
        self.name = name
        self.parameters = parameters
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Users cached.
    public var userCount: Int { locked { slotOf.count } }

    /// Users from most to least recently written.
    public var users: [Int32] {
        locked {
            var out: [Int32] = []
            var s = head
            while s >= 0 { out.append(slots[s].user); s = slots[s].next }
            return out
        }
    }

    /// The entries of `user`, best score first (empty when not cached).
    public func entries(of user: Int32) -> [Entry] {
        locked { slotOf[user].map { slots[$0].entries } ?? [] }
    }

    /// Stores the candidates a request recalled but did not show, best first or in any order
    /// (entries are kept by score). Items already cached keep their first-write time and gain a
    /// pass; expired or over-passed entries leave. `now` is the request time.
    public func remember(user: Int32, items: [(item: Int32, score: Float)], now: Double) {
        guard user >= 0, parameters.maxUsers > 0 else { return }
        locked {
            var merged: [Int32: Entry] = [:]
            if let s = slotOf[user] { for e in slots[s].entries { merged[e.item] = e } }
            for c in items where c.item >= 0 && c.score.isFinite {
                if var e = merged[c.item] {
                    e.score = c.score
                    e.passes += 1
                    merged[c.item] = e
                } else {
                    merged[c.item] = Entry(item: c.item, score: c.score, since: now, passes: 1)
                }
            }
            var list = merged.values.filter { e in
                e.passes <= parameters.maxPasses && !(parameters.maxAge.map { now - e.since > $0 } ?? false)
            }
            list.sort { $0.score != $1.score ? $0.score > $1.score : $0.item < $1.item }
            if list.count > parameters.maxItemsPerUser { list.removeLast(list.count - max(0, parameters.maxItemsPerUser)) }
            put(user, list)
        }
    }

    /// ``remember(user:items:now:)`` with channel candidates (the channel tag is ignored).
    public func remember(user: Int32, candidates: [Candidate], now: Double) {
        remember(user: user, items: candidates.map { (item: $0.item, score: $0.score) }, now: now)
    }

    /// ``remember(user:items:now:)`` with merged candidates, keeping their merged scores.
    public func remember(user: Int32, merged: [MergedCandidate], now: Double) {
        remember(user: user, items: merged.map { (item: $0.item, score: $0.score) }, now: now)
    }

    /// Removes `items` from the user's entries (call it with the items that were shown).
    public func forget(user: Int32, items: some Sequence<Int32>) {
        let gone = Set(items)
        locked {
            guard let s = slotOf[user] else { return }
            slots[s].entries.removeAll { gone.contains($0.item) }
        }
    }

    /// Drops everything cached for `user`.
    public func removeUser(_ user: Int32) {
        locked {
            guard let s = slotOf[user] else { return }
            unlink(s)
            release(s)
        }
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0, let user = context.user else { return [] }
        return locked {
            guard let s = slotOf[user] else { return [] }
            var out: [Candidate] = []
            for e in slots[s].entries where out.count < quota {
                guard e.since <= context.now else { continue }
                if let a = parameters.maxAge, context.now - e.since > a { continue }
                if filter.allows(e.item) { out.append(Candidate(item: e.item, score: e.score, channel: name)) }
            }
            return out
        }
    }

    // MARK: LRU list (called with the lock held)

    /// Replaces the user's entries and makes them the most recent user, evicting beyond `maxUsers`.
    private func put(_ user: Int32, _ entries: [Entry]) {
        if let s = slotOf[user] {
            slots[s].entries = entries
            unlink(s)
            pushFront(s)
            return
        }
        let s: Int
        if let f = freeSlots.popLast() {
            s = f
            slots[s] = Slot(user: user, prev: -1, next: -1, entries: entries)
        } else {
            s = slots.count
            slots.append(Slot(user: user, prev: -1, next: -1, entries: entries))
        }
        slotOf[user] = s
        pushFront(s)
        while slotOf.count > parameters.maxUsers, tail >= 0 {
            let t = tail
            unlink(t)
            release(t)
        }
    }

    private func unlink(_ s: Int) {
        let p = slots[s].prev, n = slots[s].next
        if p >= 0 { slots[p].next = n } else { head = n }
        if n >= 0 { slots[n].prev = p } else { tail = p }
        slots[s].prev = -1
        slots[s].next = -1
    }

    private func pushFront(_ s: Int) {
        slots[s].prev = -1
        slots[s].next = head
        if head >= 0 { slots[head].prev = s }
        head = s
        if tail < 0 { tail = s }
    }

    private func release(_ s: Int) {
        slotOf[slots[s].user] = nil
        slots[s].entries = []
        freeSlots.append(s)
    }

    // MARK: Serialization

    static let magic = "CCCH"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        w.write(Int64(parameters.maxUsers))
        w.write(Int64(parameters.maxItemsPerUser))
        w.write(parameters.maxAge ?? -1)
        w.write(Int64(parameters.maxPasses))
        var users: [Int32] = [], offsets: [Int64] = [0], items: [Int32] = [], scores: [Float] = []
        var since: [Double] = [], passes: [Int32] = []
        locked {
            var s = head
            while s >= 0 {
                users.append(slots[s].user)
                for e in slots[s].entries {
                    items.append(e.item); scores.append(e.score); since.append(e.since); passes.append(e.passes)
                }
                offsets.append(Int64(items.count))
                s = slots[s].next
            }
        }
        w.write(array: users)
        w.write(array: offsets)
        w.write(array: items)
        w.write(array: scores)
        w.write(array: since)
        w.write(array: passes)
        return [UInt8](w.data)
    }

    /// Restores a cache from ``serialized()``, checking every bound and invariant.
    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        let what = "cache artifact"
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: what)
        guard r.version == 1 else { throw .corrupt("\(what): unknown version \(r.version)") }
        let name = try r.readString("name")
        var p = Parameters()
        let maxUsers = try r.read(Int64.self, "maxUsers"), maxItems = try r.read(Int64.self, "maxItemsPerUser")
        let maxAge = try r.readDouble("maxAge")
        let maxPasses = try r.read(Int64.self, "maxPasses")
        guard (0...Int64(Int32.max)).contains(maxUsers), (0...Int64(Int32.max)).contains(maxItems),
              (0...Int64(Int32.max)).contains(maxPasses), maxAge.isFinite else { throw .corrupt("\(what): parameters out of range") }
        p.maxUsers = Int(maxUsers)
        p.maxItemsPerUser = Int(maxItems)
        p.maxAge = maxAge < 0 ? nil : maxAge
        p.maxPasses = Int(maxPasses)
        let users = try r.readArray(Int32.self, "users")
        let offsets = try r.readArray(Int64.self, "offsets")
        let items = try r.readArray(Int32.self, "items")
        let scores = try r.readFloats("scores")
        let since = try r.readDoubles("since")
        let passes = try r.readArray(Int32.self, "passes")
        guard r.isAtEnd else { throw .corrupt("\(what): trailing bytes") }
        guard users.count <= p.maxUsers, Set(users).count == users.count, users.allSatisfy({ $0 >= 0 }) else {
            throw .corrupt("\(what): \(users.count) users, repeated or negative ids, or more than maxUsers \(p.maxUsers)")
        }
        guard offsets.count == users.count + 1, offsets.first == 0, offsets.last == Int64(items.count),
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 && $1 - $0 <= maxItems }) else {
            throw .corrupt("\(what): user offsets are inconsistent or exceed maxItemsPerUser")
        }
        guard scores.count == items.count, since.count == items.count, passes.count == items.count else {
            throw .corrupt("\(what): \(items.count) items, \(scores.count) scores, \(since.count) times, \(passes.count) passes")
        }
        var lists: [[Entry]] = []
        lists.reserveCapacity(users.count)
        for u in users.indices {
            let range = Int(offsets[u])..<Int(offsets[u + 1])
            let list = range.map { Entry(item: items[$0], score: scores[$0], since: since[$0], passes: passes[$0]) }
            guard list.allSatisfy({ $0.item >= 0 && $0.score.isFinite && $0.since.isFinite && $0.passes >= 1 }),
                  Set(list.map(\.item)).count == list.count,
                  zip(list, list.dropFirst()).allSatisfy({ $0.score > $1.score || ($0.score == $1.score && $0.item < $1.item) }) else {
                throw .corrupt("\(what): entries of user \(users[u]) are invalid or out of order")
            }
            lists.append(list)
        }
        self.name = name
        self.parameters = p
        // Least recent first, so the most recent ends at the head.
        for u in users.indices.reversed() { put(users[u], lists[u]) }
    }
}

/// The cache channel ("cache"): no training; the funnel keeps each user's ranked candidates that
/// missed the page and recalls them next time.
public enum CacheChannel: ChannelDefinition {
    public static let name = "cache"
    public static let summary = "no training: the funnel keeps each user's passed-over ranked candidates"
    public static let defaultParameters = CacheRecall.Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (30, 0.5)
    public static let trainedByDefault = false
    public static let settings: [Setting<CacheRecall.Parameters>] = [
        .int("maxUsers", "Users kept; the least recently written goes first.", \.maxUsers, 1...Int.max),
        .int("maxItemsPerUser", "Entries kept per user, highest scores first.", \.maxItemsPerUser, 1...Int.max),
        .optionalDouble("maxAgeDays", "Days an entry lives after its first write (none: no limit).", \.maxAge, "> 0", unit: 86_400) { $0 > 0 },
        .int("maxPasses", "Writes after which an entry that is still not shown leaves.", \.maxPasses, 1...Int.max),
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: CacheRecall.Parameters) throws -> any RecallChannel {
        CacheRecall(name: name, parameters: parameters)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel { try CacheRecall(serialized: bytes) }
    public static func online(parameters: CacheRecall.Parameters) -> (any RecallChannel)? { CacheRecall(name: name, parameters: parameters) }
}
