import CascadeEngine
import CascadeCore
import CascadeRecall
import CascadeSim
import Foundation

/// Recall channels judged against the simulator's ground truth rather than held-out events:
/// for sampled users, the share of their true top-`truthK` items (by true click logit, items
/// they already engaged with excluded) that each channel's top-`k` candidates contain, the mean
/// popularity rank of the top-10 (1 = the most engaged item; higher = less popularity-biased) and
/// how many catalog items that never had an event (cold start) enter the candidate sets, and
/// the cold protocol: trained on the events before the last `coldShare` of the log's time span,
/// among only the items first seen after that point, the share of each user's true top-`truthK`
/// of them in the channel's top `truthK` of them (cold recall@K).
public enum LearnedRecallEvaluation {
    public struct Row: Sendable {
        public var channel: String
        public var recall: Double
        public var meanPopularityRank: Double
        public var coldItemsRecalled: Int
        public var coldItems: Int
        public var coldRecall: Double
        /// Items first seen after the cold protocol's split.
        public var newItems: Int
        public var buildSeconds: Double
        public var line: String {
            "channel=\(channel) recall_at_k=\(String(format: "%.4f", recall)) mean_popularity_rank_top10=\(String(format: "%.0f", meanPopularityRank)) "
                + "cold_items_recalled=\(coldItemsRecalled)/\(coldItems) new_items=\(newItems) cold_recall_at_k=\(String(format: "%.4f", coldRecall)) build_seconds=\(String(format: "%.1f", buildSeconds))"
        }
    }

    public struct Variant: Sendable {
        public var label: String
        public var channel: String
        public var config: FunnelConfig
        public init(label: String, channel: String, config: FunnelConfig) {
            self.label = label
            self.channel = channel
            self.config = config
        }
    }

    /// Trains each variant's channel on the world's log and scores it for `sampleUsers` users.
    public static func run(world: SimulatedWorld, variants: [Variant], sampleUsers: Int = 300, k: Int = 200, truthK: Int = 50,
                           coldShare: Double = 0.2, progress: ((String) -> Void)? = nil) throws -> [Row] {
        let log = world.log
        let userCount = world.users.count, itemCount = world.items.count
        let weights = world.registry.weightsByCode
        var engagement = [Float](repeating: 0, count: itemCount)
        var engaged = [Set<Int32>](repeating: [], count: userCount)
        var history = [[HistoryEvent]](repeating: [], count: userCount)
        var hadEvent = [Bool](repeating: false, count: itemCount)
        for e in 0..<log.count {
            let t = Int(log.types[e]), i = Int(log.items[e]), u = Int(log.users[e])
            hadEvent[i] = true
            guard t < weights.count, weights[t] > 0 else { continue }
            engagement[i] += weights[t]
            engaged[u].insert(log.items[e])
            history[u].append(HistoryEvent(item: log.items[e], type: log.types[e], timestamp: log.timestamps[e]))
        }
        let popularityRank = rankByEngagement(engagement)
        let cold = Set((0..<itemCount).filter { !hadEvent[$0] }.map(Int32.init))
        let now = log.maxTimestamp
        let users = (0..<userCount).filter { !engaged[$0].isEmpty }
        let stride = Swift.max(1, users.count / Swift.max(1, sampleUsers))
        let sample = Swift.Array(Swift.stride(from: 0, to: users.count, by: stride).map { users[$0] }.prefix(sampleUsers))
        progress?("ground truth for \(sample.count) users")
        let truth = sample.map { Set(world.trueTopK(user: Int32($0), k: truthK, excluding: engaged[$0])) }
        let unavailable = [Bool](repeating: false, count: itemCount)
        // The cold protocol: a model trained before `split` meets the items first seen after it.
        let times = log.timestamps.sorted()
        let split = times.isEmpty ? 0 : times[Swift.min(times.count - 1, Int(Double(times.count) * (1 - coldShare)))]
        let before = log.subset((0..<log.count).filter { log.timestamps[$0] < split })
        var seenBefore = [Bool](repeating: false, count: itemCount), seenAfter = seenBefore
        for e in 0..<log.count { if log.timestamps[e] < split { seenBefore[Int(log.items[e])] = true } else { seenAfter[Int(log.items[e])] = true } }
        let newItems = (0..<itemCount).filter { !seenBefore[$0] && seenAfter[$0] }
        let notNew = (0..<itemCount).map { seenBefore[$0] || !seenAfter[$0] }
        var historyBefore = [[HistoryEvent]](repeating: [], count: userCount)
        for e in 0..<before.count where Int(before.types[e]) < weights.count && weights[Int(before.types[e])] > 0 {
            historyBefore[Int(before.users[e])].append(HistoryEvent(item: before.items[e], type: before.types[e], timestamp: before.timestamps[e]))
        }
        let coldSample = sample.filter { !historyBefore[$0].isEmpty }
        let coldK = Swift.min(truthK, newItems.count)
        let excluded = Set((0..<itemCount).filter { notNew[$0] }.map(Int32.init))
        // Served at the end of the log, from the history before the split.
        let coldTruth = coldK == 0 ? [] : coldSample.map { Set(world.trueTopK(user: Int32($0), k: coldK, excluding: excluded, at: now)) }
        progress?("cold protocol: \(newItems.count) items first seen in the last \(Int(coldShare * 100))% of the log, \(coldSample.count) users")
        var rows: [Row] = []
        for v in variants {
            progress?("training \(v.label)")
            var config = try v.config.restricted(to: [v.channel])
            config.annMinItems = Int.max
            let start = Date()
            let trained = try Trainer.build(log: log, userCount: userCount, itemCount: itemCount, registry: world.registry,
                                            items: world.items, config: config)
            let seconds = Date().timeIntervalSince(start)
            guard let channel = trained.channels.first else { continue }
            var hits = 0, wanted = 0, rankSum = 0.0, ranked = 0
            var coldSeen = Set<Int32>()
            var coldHits = 0, coldWanted = 0
            for (s, u) in sample.enumerated() {
                let h = Array(history[u].sorted { $0.timestamp > $1.timestamp }.prefix(500))
                let filter = CandidateFilter(unavailable: unavailable, seen: engaged[u], now: now)
                let got = channel.recall(RecallContext(user: Int32(u), history: h, now: now), quota: k, filter: filter)
                hits += got.filter { truth[s].contains($0.item) }.count
                wanted += truth[s].count
                for c in got.prefix(10) { rankSum += Double(popularityRank[Int(c.item)]); ranked += 1 }
                for c in got where cold.contains(c.item) { coldSeen.insert(c.item) }
            }
            if coldK > 0 {
                let coldTrained = try Trainer.build(log: before, userCount: userCount, itemCount: itemCount, registry: world.registry,
                                                    items: world.items, config: config)
                if let coldChannel = coldTrained.channels.first {
                    for (s, u) in coldSample.enumerated() {
                        let h = Array(historyBefore[u].sorted { $0.timestamp > $1.timestamp }.prefix(500))
                        let got = coldChannel.recall(RecallContext(user: Int32(u), history: h, now: now), quota: coldK,
                                                     filter: CandidateFilter(unavailable: notNew, seen: [], now: now))
                        coldHits += got.filter { coldTruth[s].contains($0.item) }.count
                        coldWanted += coldTruth[s].count
                    }
                }
            }
            rows.append(Row(channel: v.label, recall: Double(hits) / Double(Swift.max(wanted, 1)),
                            meanPopularityRank: rankSum / Double(Swift.max(ranked, 1)), coldItemsRecalled: coldSeen.count,
                            coldItems: cold.count, coldRecall: Double(coldHits) / Double(Swift.max(coldWanted, 1)), newItems: newItems.count,
                            buildSeconds: seconds))
        }
        return rows
    }

    /// Rank of each item by engagement, 1 = most engaged.
    static func rankByEngagement(_ e: [Float]) -> [Int] {
        let order = e.indices.sorted { e[$0] > e[$1] || (e[$0] == e[$1] && $0 < $1) }
        var rank = [Int](repeating: 0, count: e.count)
        for (r, i) in order.enumerated() { rank[i] = r + 1 }
        return rank
    }
}
