import CascadeCore
import CascadeRank
import CascadeRecall
import Foundation

/// How faithfully the pre-ranker keeps what the ranker would pick: for sampled requests, the
/// share of the ranker's top `rankTop` (by the fused score) that the pre-ranker keeps in its top
/// `preTop`, the pre-rank stage's recall. A pre-ranker that drops the ranker's favourites caps
/// the whole funnel, whatever the ranker learns.
///
/// Requests: up to `requests` users of the held-out impressions, each at their last held-out
/// impression's time with their history then, over `candidates` items drawn from those the
/// held-out period showed (the logging policy's recent catalog). O(requests x candidates x
/// model cost).
public enum PreRankFidelity {
    public struct Result: Sendable {
        /// Mean share of the ranker's top `rankTop` kept in the pre-ranker's top `preTop`.
        public var kept: Double
        public var requests: Int
        public var candidates: Int
        public var rankTop: Int
        public var preTop: Int
    }

    static func measure(ranker: any RankModel, preRanker: ThreeTower, pipeline: FeaturePipeline, attributes: RankAttributes,
                        fusion: ScoreFusion, log: EventLog, registry: EventTypeRegistry, userCount: Int, heldOut: (users: [Int32], items: [Int32], timestamps: [Double]),
                        requests: Int = 100, candidates: Int = 1_000, rankTop: Int = 50, preTop: Int = 300, seed: UInt64 = 7) throws -> Result? {
        var pool = Array(Set(heldOut.items)).sorted()
        guard pool.count > preTop, !heldOut.users.isEmpty else { return nil }
        var rng = SplitMix64(seed: seed)
        // Each sampled user at their last held-out impression.
        var last: [Int32: Double] = [:]
        for (u, t) in zip(heldOut.users, heldOut.timestamps) { last[u] = Swift.max(last[u] ?? -.infinity, t) }
        var users = last.keys.sorted()
        users.shuffle(using: &rng)
        users = Array(users.prefix(requests))
        let index = log.indexByUser(userCount: userCount)
        let limit = attributes.history?.limit ?? HistoryFeatures.defaultLimit
        var drawn: [Int32: [Int32]] = [:]
        for u in users {
            pool.shuffle(using: &rng)
            drawn[u] = Array(pool.prefix(candidates))
        }
        // The statistics counters each request would read, replayed to its instant (an
        // impression of the user's).
        var statistics: [Int32: [String: [String]]] = [:]
        if let c = attributes.counters, pipeline.config.features.contains(where: { CounterFeatures.columnNames.contains($0.name) }) {
            var queryOf: [Int: Int32] = [:]
            for u in users {
                for p in index.offsets[Int(u)]..<index.offsets[Int(u) + 1] where log.timestamps[index.events[p]] == last[u]! {
                    queryOf[index.events[p]] = u
                    break
                }
            }
            CounterReplay(registry: registry, attributes: c.attributes).replay(log, queries: Array(queryOf.keys)) { e, table in
                let u = queryOf[e]!, items = drawn[u]!
                let snapshot = table.snapshot(user: u, items: items, attributes: c.attributes(items: items), now: last[u]!)
                statistics[u] = c.numbers(snapshot, items: items).mapValues { $0.map { String($0) } }
            }
        }
        var total = 0.0
        for u in users {
            let now = last[u]!
            let items = drawn[u]!
            // The user's newest events before `now`, newest first (as a request reads them).
            var history: [HistoryEvent] = []
            var p = index.offsets[Int(u) + 1] - 1
            while p >= index.offsets[Int(u)] && history.count < limit {
                let e = index.events[p]
                if log.timestamps[e] < now { history.append(HistoryEvent(item: log.items[e], type: log.types[e], timestamp: log.timestamps[e])) }
                p -= 1
            }
            var context = attributes.history?.values(history: history, items: items) ?? [:]
            context.merge(statistics[u] ?? [:]) { a, _ in a }
            let frame = attributes.frame(users: [Int32?](repeating: u, count: items.count), items: items,
                                         timestamps: [Double](repeating: now, count: items.count), context: context)
            let behaviour = try attributes.behaviour?.history(user: u, events: history, category: attributes.itemColumns["item_category"],
                                                              pipeline: pipeline)
            let batch = try pipeline.encodeInputs(frame, history: behaviour ?? InteractionHistory())
            let fused = fusion.scores(try ranker.predict(batch, threads: nil))
            let pre = try preRanker.predict(batch, threads: nil).map { $0[0] }
            let rankBest = Set(fused.indices.sorted { fused[$0] > fused[$1] }.prefix(rankTop))
            let preBest = Set(pre.indices.sorted { pre[$0] > pre[$1] }.prefix(preTop))
            total += Double(rankBest.intersection(preBest).count) / Double(rankBest.count)
        }
        return Result(kept: total / Double(users.count), requests: users.count, candidates: Swift.min(candidates, pool.count),
                      rankTop: rankTop, preTop: preTop)
    }
}
