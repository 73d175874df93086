import CascadeCore
import CascadeEval
import CascadeRecall
import CascadeStore
import Foundation

/// Offline evaluation of the funnel on a store's events, with the definitions of the neutral
/// judge (`topk_judge.py`): a per-user temporal split (each user's last `testFraction` of positive
/// events held out), models trained on the train part only, then Recall, NDCG, HitRate and
/// coverage at K over users with test items, items of the user's train part never counted.
/// The split is over distinct (user, item) pairs at their first positive event (on data with one
/// event a pair, such as the judge's CSV files, this is the judge's split exactly); train keeps
/// every positive event of the train pairs, so event-type weights still count.
public enum OfflineEvaluation {
    public struct Result: Sendable {
        /// One row per system: the whole funnel and each channel alone.
        public var rows: [(system: String, metrics: TopKMetrics)]
        public var trainEvents: Int
        public var testEvents: Int
        public var trainSeconds: Double
    }

    public enum SplitProtocol: String, Sendable, CaseIterable {
        /// Per user, the last fraction of their events by time (the judge's split).
        case temporal
        /// Per user, their last event.
        case leaveOneOut = "leave-one-out"
    }

    /// Splits, trains and scores. `store` supplies events, ids and event-type weights.
    /// With `ks` of several cut-offs (e.g. `[10, 50, 200, 1000]`), each system recommends
    /// `max(ks)` items once and is scored at every K: the recall view of the funnel. Channels
    /// alone get a quota of at least `max(ks)`; the merged "cascade" row keeps the configured quotas.
    public static func run(store: any Store, protocol proto: SplitProtocol = .temporal, testFraction: Double = 0.2, k: Int = 10,
                           ks: [Int]? = nil, config: FunnelConfig = FunnelConfig(), progress: ((String) -> Void)? = nil) throws -> Result {
        progress?("loading events")
        let log = try store.loadEventLog()
        let ids = try store.idSnapshot()
        let registry = try store.eventTypes()
        let documents = try Trainer.itemsInIndexOrder(store: store, ids: ids.items)
        let catalog = ItemCatalog(items: documents, ids: ids.items, unavailable: try store.unavailableItems())
        let locations = try Recommender.userLocations(store: store, ids: ids.users)
        let rankAttributes = !config.rank.enabled ? nil
            : try RankAttributes.load(users: try store.allUsers(), items: documents, ids: ids, registry: registry)
        return try run(log: log, users: ids.users, items: ids.items, registry: registry, catalog: catalog, itemDocuments: documents,
                       userLocations: locations, rankAttributes: rankAttributes,
                       protocol: proto, testFraction: testFraction, k: k, ks: ks, config: config, progress: progress)
    }

    /// With `rankAttributes` (and a ranker model in `config.rank`), the "cascade" row is the whole
    /// funnel as served: a ranker and pre-ranker are fitted on every event each user had before
    /// their first held-out pair (impressions included, nothing of the test period), and each
    /// user's page is ranked from that history; a "recall" row then shows the merged recall
    /// order. Without impressions enough to train a ranker, "cascade" is the recall order.
    public static func run(log: EventLog, users: IdMap, items: IdMap, registry: EventTypeRegistry, catalog: ItemCatalog? = nil,
                           itemDocuments: [Item] = [], userLocations: [GeoPoint?] = [], rankAttributes: RankAttributes? = nil,
                           protocol proto: SplitProtocol = .temporal, testFraction: Double = 0.2, k: Int = 10,
                           ks: [Int]? = nil, config: FunnelConfig = FunnelConfig(), progress: ((String) -> Void)? = nil) throws -> Result {
        let cutoffs = ks ?? [k]
        guard let longest = cutoffs.max(), cutoffs.allSatisfy({ $0 >= 1 }) else { throw CascadeError.invalid("every K must be at least 1, got \(cutoffs)") }
        guard k >= 1 else { throw CascadeError.invalid("k must be at least 1, got \(k)") }
        guard testFraction > 0, testFraction < 1 else { throw CascadeError.invalid("test fraction must be in (0, 1), got \(testFraction)") }
        progress?("splitting")
        let positive = TemporalSplit.positiveTypes(in: registry)
        // Split distinct (user, item) pairs at their first positive event, so an item clicked
        // and then liked or watched is wholly in train or wholly in test.
        let first = firstPositiveEvents(log, positive: positive)
        let pairSplit: EventSplit
        switch proto {
        case .temporal: pairSplit = try TemporalSplit.perUser(log: first, userCount: users.count, testFraction: testFraction, positiveTypes: positive)
        case .leaveOneOut: pairSplit = try TemporalSplit.leaveOneOut(log: first, userCount: users.count, positiveTypes: positive)
        }
        var testPairs = Set<UInt64>()
        for i in 0..<pairSplit.test.count { testPairs.insert(pairKey(pairSplit.test.users[i], pairSplit.test.items[i])) }
        let trainIndices = (0..<log.count).filter { positive.contains(log.types[$0]) && !testPairs.contains(pairKey(log.users[$0], log.items[$0])) }
        let split = (train: log.subset(trainIndices), test: pairSplit.test)
        guard split.test.count > 0 else { throw CascadeError.invalid("no user has enough events for a test part (each needs at least 2 positive events)") }
        let train = try UserItemSets(log: split.train, userCount: users.count)
        let test = try UserItemSets(log: split.test, userCount: users.count)
        progress?("training on \(split.train.count) events")
        let trained = try Trainer.build(log: split.train, userCount: users.count, itemCount: items.count, registry: registry,
                                        items: itemDocuments, config: config)
        let evalUsers = (0..<users.count).filter { test.count(of: $0) > 0 }
        let requested = evalUsers.map { users.external(Int32($0)) }
        // The ranked funnel: fitted on each user's events before their first test pair.
        var ranker: OnlineRanker?
        var rankLog = split.train
        if let rankAttributes, config.rank.enabled {
            var cut = [Double](repeating: .infinity, count: users.count)
            for i in 0..<split.test.count {
                let u = Int(split.test.users[i])
                cut[u] = Swift.min(cut[u], split.test.timestamps[i])
            }
            let before = log.subset((0..<log.count).filter { log.timestamps[$0] < cut[Int(log.users[$0])] })
            progress?("training the ranker on \(before.count) events")
            if let fitted = try RankTraining.fit(log: before, registry: registry, attributes: rankAttributes, userCount: users.count,
                                                 config: config.rank) {
                ranker = try fitted.online(config: config.rank)
                rankLog = before
            }
        }
        var systems: [(String, FunnelConfig)] = [("cascade", config)]
        if ranker != nil { systems.append(("recall", config)) }
        for q in config.quotas {
            var single = config
            single.quotas = [ChannelQuota(channel: q.channel, quota: max(q.quota, longest + 200), weight: 1)]
            systems.append((q.channel, single))
        }
        var rows: [(system: String, metrics: TopKMetrics)] = []
        for (name, cfg) in systems {
            progress?("recommending: \(name)")
            let ranked = name == "cascade" ? ranker : nil
            let rec = Recommender(funnel: Funnel(channels: trained.channels, config: cfg, itemCount: items.count, ranker: ranked,
                                                 catalog: ranked == nil ? nil : catalog),
                                  users: users, items: items, catalog: catalog ?? ItemCatalog(items: [], ids: items), registry: registry,
                                  userLocations: userLocations)
            let lists = rec.recommendAll(requested, log: ranked == nil ? split.train : rankLog, n: longest,
                                         now: ranked == nil ? nil : split.train.maxTimestamp)
            var all = [[Int32]](repeating: [], count: users.count)
            for (u, list) in zip(evalUsers, lists) { all[u] = list.map(\.item) }
            for cut in cutoffs {
                rows.append((name, try TopKEvaluation.evaluate(recommendations: all, train: train, test: test, k: cut)))
            }
        }
        return Result(rows: rows, trainEvents: split.train.count, testEvents: split.test.count, trainSeconds: trained.seconds)
    }

    @inline(__always) static func pairKey(_ u: Int32, _ i: Int32) -> UInt64 { UInt64(UInt32(bitPattern: u)) << 32 | UInt64(UInt32(bitPattern: i)) }

    /// For each (user, item) pair, its earliest positive event (ties by position), in log order.
    static func firstPositiveEvents(_ log: EventLog, positive: Set<UInt8>) -> EventLog {
        var best: [UInt64: Int] = [:]
        for i in 0..<log.count where positive.contains(log.types[i]) {
            let key = pairKey(log.users[i], log.items[i])
            if let j = best[key], log.timestamps[j] <= log.timestamps[i] { continue }
            best[key] = i
        }
        return log.subset(best.values.sorted())
    }

    /// A fixed-width table of the rows, for people.
    public static func table(_ r: Result, k: Int) -> String {
        var s = "system        Recall@\(k)  NDCG@\(k)  HitRate@\(k)  Coverage@\(k)  users\n"
        for (name, m) in r.rows where m.k == k {
            s += name.padding(toLength: 12, withPad: " ", startingAt: 0)
            s += String(format: "  %9.4f  %7.4f  %10.4f  %11.4f  %d\n", m.recall, m.ndcg, m.hitRate, m.coverage, m.users)
        }
        return s
    }

    /// Recall@K and HitRate@K per system (rows) and cut-off (columns).
    public static func recallTable(_ r: Result) -> String {
        let ks = Array(Set(r.rows.map(\.metrics.k))).sorted()
        var s = "system      " + ks.map { "  Recall@\($0)".padding(toLength: 13, withPad: " ", startingAt: 0) + "  Hit@\($0)".padding(toLength: 11, withPad: " ", startingAt: 0) }.joined() + "\n"
        var order: [String] = []
        for (name, _) in r.rows where !order.contains(name) { order.append(name) }
        for name in order {
            s += name.padding(toLength: 12, withPad: " ", startingAt: 0)
            for k in ks {
                guard let m = r.rows.first(where: { $0.system == name && $0.metrics.k == k })?.metrics else { continue }
                s += String(format: "  %11.4f  %9.4f", m.recall, m.hitRate)
            }
            s += "\n"
        }
        return s
    }
}
