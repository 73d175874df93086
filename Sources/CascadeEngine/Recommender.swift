import CascadeCore
import CascadeRecall
import CascadeStore
import Foundation

/// Serves recommendations from a store: the active channel artifacts, the id maps, the item
/// catalog, and each user's recent events and exposure filter. Unknown users get the
/// cold-start path (popular and trending items), never an error.
public struct Recommender: Sendable {
    public internal(set) var funnel: Funnel
    public let users: IdMap
    public let items: IdMap
    /// Item metadata and availability (a server flips availability when items are hidden live).
    public var catalog: ItemCatalog
    public let registry: EventTypeRegistry
    /// Exposure key per item (a hash of its external id).
    let exposureKeys: [UInt64]
    let typeWeights: [Float]
    /// Home location per user index, when the profile has one (geo recall).
    public let userLocations: [GeoPoint?]

    /// How dislikes turn into blocks: a disliked item is never shown again; this many dislikes
    /// of one author's items block the author, and of one category's items block the category.
    public static let dislikesToBlockAuthor = 2
    public static let dislikesToBlockCategory = 3

    public init(funnel: Funnel, users: IdMap, items: IdMap, catalog: ItemCatalog, registry: EventTypeRegistry,
                userLocations: [GeoPoint?] = []) {
        self.userLocations = userLocations
        self.funnel = funnel
        self.users = users
        self.items = items
        self.catalog = catalog
        self.registry = registry
        exposureKeys = items.ids.map(ExposureFilter.key)
        typeWeights = registry.weightsByCode
    }

    /// Loads the active models of `store`. A channel whose artifact is missing or unreadable is
    /// skipped (and logged); throws only when no channel at all is available.
    public static func load(store: any Store, config: FunnelConfig = FunnelConfig()) throws -> Recommender {
        let channels = try Trainer.loadChannels(store: store, config: config)
        guard !channels.isEmpty else {
            throw CascadeError.notFound("no trained models in the store; run `cascade train` first")
        }
        let ids = try store.idSnapshot()
        let catalog = ItemCatalog(items: try store.allItems(), ids: ids.items, unavailable: try store.unavailableItems())
        let ranker = !config.rank.enabled ? nil : OnlineRanker.load(store: store, config: config.rank, ids: ids)
        return Recommender(funnel: Funnel(channels: channels, config: config, itemCount: ids.items.count, ranker: ranker,
                                          catalog: catalog),
                           users: ids.users, items: ids.items, catalog: catalog, registry: try store.eventTypes(),
                           userLocations: try userLocations(store: store, ids: ids.users))
    }

    /// The "now" of offline commands (recommend, eval, quickstart): the time of the store's
    /// newest event, so a page computed from a store is the same whenever it is computed and
    /// fresh, trending and item-age features measure from the data's present; the wall clock
    /// for an empty store. A server answers live traffic and takes the wall clock.
    public static func referenceTime(store: any Store) throws -> Double {
        try store.newestEventTime() ?? Date().timeIntervalSince1970
    }

    /// Home locations by user index, from the stored profiles.
    public static func userLocations(store: any Store, ids: IdMap) throws -> [GeoPoint?] {
        var out = [GeoPoint?](repeating: nil, count: ids.count)
        for u in try store.allUsers() where u.location != nil {
            if let i = ids.index(of: u.id) { out[Int(i)] = u.location }
        }
        return out
    }

    /// The filter for a user whose recent events are `history` (newest first): items they acted on
    /// (any type with a non-zero weight) count as seen for good, their dislikes block items,
    /// authors and categories; impressions alone go through `exposure`, which forgets them in time.
    public func filter(history: [HistoryEvent], exposure: ExposureFilter? = nil, now: Double = 0) -> CandidateFilter {
        let acted = history.filter { Int($0.type) < typeWeights.count && typeWeights[Int($0.type)] != 0 }
        var f = CandidateFilter(unavailable: catalog.unavailable, seen: Set(acted.map(\.item)), exposure: exposure, now: now)
        f.exposureKeys = exposureKeys
        var authorDislikes: [Int32: Int] = [:], categoryDislikes: [Int32: Int] = [:]
        for e in history where Int(e.type) < typeWeights.count && typeWeights[Int(e.type)] < 0 && Int(e.item) < catalog.count {
            let a = catalog.author[Int(e.item)], c = catalog.category[Int(e.item)]
            if a >= 0 { authorDislikes[a, default: 0] += 1 }
            if c >= 0 { categoryDislikes[c, default: 0] += 1 }
        }
        f.blockedAuthors = Set(authorDislikes.filter { $0.value >= Self.dislikesToBlockAuthor }.keys)
        f.blockedCategories = Set(categoryDislikes.filter { $0.value >= Self.dislikesToBlockCategory }.keys)
        if !f.blockedAuthors.isEmpty { f.itemAuthor = catalog.author }
        if !f.blockedCategories.isEmpty { f.itemCategory = catalog.category }
        return f
    }

    /// Runs the funnel for `user` given their recent events, newest first (dense ids). With
    /// `known: false` the user is served as one never seen (the cold-start path), whatever the
    /// models know of them: a deleted user.
    /// `counters`: where the ranker reads the statistics counters (the store). `trace`: keep
    /// each recommendation's per-stage scores (the `debug` view).
    public func run(user: String, history: [HistoryEvent], n: Int, now: Double, exposure: ExposureFilter? = nil,
                    scene: String? = nil, known: Bool = true, counters: (any CounterSource)? = nil, trace: Bool = true) -> FunnelResult {
        let index = known ? users.index(of: user) : nil
        let location = index.flatMap { Int($0) < userLocations.count ? userLocations[Int($0)] : nil }
        let ctx = RecallContext(user: index, history: history, location: location, now: now, scene: scene, counters: counters)
        return funnel(scene: scene).run(ctx, n: n, filter: filter(history: history, exposure: exposure, now: now), trace: trace)
    }

    /// The funnel of `scene` (``FunnelConfig/scenes``): this recommender's own for no scene or
    /// an unlisted one. Built per call; a server keeps one per scene (`ServingModels`).
    func funnel(scene: String?) -> Funnel {
        guard let scene, funnel.config.scenes[scene] != nil else { return funnel }
        do { return funnel(with: try funnel.config.forScene(scene)) } catch {
            Funnel.logger.warning("scene configuration does not apply; serving the base funnel", metadata: ["scene": "\(scene)", "error": "\(error)"])
            return funnel
        }
    }

    public func recommend(user: String, history: [HistoryEvent], n: Int, now: Double, scene: String? = nil,
                          counters: (any CounterSource)? = nil) -> [Recommendation] {
        run(user: user, history: history, n: n, now: now, scene: scene, counters: counters).recommendations
    }

    /// The user's recent events from `store`, newest first, in dense form.
    public func history(of user: String, store: any Store) throws -> [HistoryEvent] {
        try store.lastEvents(user: user, limit: funnel.config.historyLength, types: nil).compactMap { e in
            guard let i = items.index(of: e.item), let c = registry.code(of: e.type) else { return nil }
            return HistoryEvent(item: i, type: c, timestamp: e.timestamp)
        }
    }

    /// Recommends for `user`, reading their recent events and exposure filter from `store`.
    public func run(user: String, n: Int, store: any Store, now: Double? = nil, scene: String? = nil) throws -> FunnelResult {
        let exposure = try store.exposureFilter(user: user).map { try ExposureFilter(serialized: $0) }
        let history = try history(of: user, store: store)
        return run(user: user, history: history, n: n, now: now ?? Date().timeIntervalSince1970,
                   exposure: exposure, scene: scene, known: try !isDeleted(user: user, history: history, store: store), counters: store)
    }

    /// Whether `user`, known to the models, was deleted from `store` since they were trained
    /// (then they are served as a stranger). A store read only when their history is empty,
    /// as a deleted user's is.
    public func isDeleted(user: String, history: [HistoryEvent], store: any Store) throws -> Bool {
        guard history.isEmpty, users.index(of: user) != nil else { return false }
        return try store.user(user) == nil
    }

    public func recommend(user: String, n: Int, store: any Store, now: Double? = nil, scene: String? = nil) throws -> [Recommendation] {
        try run(user: user, n: n, store: store, now: now, scene: scene).recommendations
    }

    /// Recommends for many users at once from an in-memory log (batch jobs, evaluation).
    /// Users not in `users` get the cold-start path. Runs over both cores.
    public func recommendAll(_ requested: [String], log: EventLog, n: Int, now: Double? = nil) -> [[Recommendation]] {
        let index = log.indexByUser(userCount: users.count)
        let reference = now ?? log.maxTimestamp
        let limit = funnel.config.historyLength
        // The statistics counters as a store would hold them after `log`, when the ranker reads them.
        let counters = funnel.ranker?.counterTable(log: log, registry: registry)
        let box = ConcurrentSlots<[Recommendation]>(count: requested.count, initial: [])
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
                box.set(r, recommend(user: requested[r], history: history, n: n, now: reference, counters: counters))
            }
        }
        return box.values
    }
}
