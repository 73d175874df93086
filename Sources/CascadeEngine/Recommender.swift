import CascadeCore
import CascadeRecall
import CascadeStore
import Foundation

/// Serves recommendations from a store: the active channel artifacts, the id maps, and each
/// user's recent events. Unknown users get the cold-start path (popular and trending items).
public struct Recommender: Sendable {
    public let funnel: Funnel
    public let users: IdMap
    public let items: IdMap
    public let unavailable: Set<Int32>
    public let registry: EventTypeRegistry

    public init(funnel: Funnel, users: IdMap, items: IdMap, unavailable: Set<Int32>, registry: EventTypeRegistry) {
        self.funnel = funnel
        self.users = users
        self.items = items
        self.unavailable = unavailable
        self.registry = registry
    }

    /// Loads the active models of `store`. Throws when nothing was trained yet.
    public static func load(store: any Store, config: FunnelConfig = FunnelConfig()) throws -> Recommender {
        let channels = try Trainer.loadChannels(store: store, config: config)
        guard !channels.isEmpty else {
            throw CascadeError.notFound("no trained models in the store; run `cascade train` first")
        }
        let ids = try store.idSnapshot()
        return Recommender(funnel: Funnel(channels: channels, config: config, itemCount: ids.items.count),
                           users: ids.users, items: ids.items, unavailable: try store.unavailableItems(),
                           registry: try store.eventTypes())
    }

    /// The filter for a user whose recent events are `history`: those items count as seen.
    public func filter(seen history: [HistoryEvent]) -> CandidateFilter {
        CandidateFilter(itemCount: items.count, unavailable: unavailable, seen: Set(history.map(\.item)))
    }

    /// Recommends for `user` given their recent events, newest first (dense ids).
    public func recommend(user: String, history: [HistoryEvent], n: Int, now: Double, scene: String? = nil) -> [Recommendation] {
        let ctx = RecallContext(user: users.index(of: user), history: history, now: now, scene: scene)
        return funnel.recommend(ctx, n: n, filter: filter(seen: history))
    }

    /// Recommends for `user`, reading their recent events from `store`.
    public func recommend(user: String, n: Int, store: any Store, now: Double? = nil, scene: String? = nil) throws -> [Recommendation] {
        let events = try store.lastEvents(user: user, limit: funnel.config.historyLength, types: nil)
        let history = events.compactMap { e -> HistoryEvent? in
            guard let i = items.index(of: e.item), let c = registry.code(of: e.type) else { return nil }
            return HistoryEvent(item: i, type: c, timestamp: e.timestamp)
        }
        return recommend(user: user, history: history, n: n, now: now ?? Date().timeIntervalSince1970, scene: scene)
    }

    /// Recommends for many users at once from an in-memory log (batch jobs, evaluation).
    /// Users not in `users` get the cold-start path. Runs over both cores.
    public func recommendAll(_ requested: [String], log: EventLog, n: Int, now: Double? = nil) -> [[Recommendation]] {
        let index = log.indexByUser(userCount: users.count)
        let reference = now ?? log.maxTimestamp
        let limit = funnel.config.historyLength
        let box = ResultBox(count: requested.count)
        Parallel.forRanges(requested.count, minimumChunk: 16) { range in
            for r in range {
                var history: [HistoryEvent] = []
                if let u = users.index(of: requested[r]) {
                    let lo = index.offsets[Int(u)], hi = index.offsets[Int(u) + 1]
                    var p = hi - 1
                    while p >= lo && history.count < limit {
                        let e = index.events[p]
                        history.append(HistoryEvent(item: log.items[e], type: log.types[e], timestamp: log.timestamps[e]))
                        p -= 1
                    }
                }
                box.set(r, recommend(user: requested[r], history: history, n: n, now: reference))
            }
        }
        return box.values
    }
}

/// Results written by parallel chunks, each to its own slot.
final class ResultBox: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<[Recommendation]>
    private let count: Int
    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: max(1, count))
        slots.initialize(repeating: [], count: count)
    }
    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }
    func set(_ i: Int, _ v: [Recommendation]) { slots[i] = v }
    var values: [[Recommendation]] { Array(UnsafeBufferPointer(start: slots, count: count)) }
}
