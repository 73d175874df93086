import CascadeCore
import CascadeEngine
import CascadeRecall
import CascadeStore
import Foundation

/// The cold-item protocol on a store's own data: a seeded share of the items that have
/// positive events is held out (every event on them removed from training), each channel is
/// trained on the rest, and for every user who engaged with held-out items it recommends `k` of
/// the held-out items only, from the user's training history. Recall@K = hits / min(K, the
/// user's held-out positives), pooled over users; a uniform pick scores about K / held-out items.
/// What it answers: does a channel place items it has never seen an event on, from their
/// metadata alone, where the users who will like them look?
public enum ColdStartEvaluation {
    public struct Row: Sendable {
        public var channel: String
        public var heldOutItems: Int
        public var users: Int
        public var recall: Double
        public var buildSeconds: Double
        public var k: Int
        public var line: String {
            "protocol=cold-items channel=\(channel) held_out_items=\(heldOutItems) users=\(users) recall_at_\(k)=\(String(format: "%.4f", recall)) "
                + "uniform_at_\(k)=\(String(format: "%.4f", Double(k) / Double(Swift.max(heldOutItems, 1)))) build_seconds=\(String(format: "%.1f", buildSeconds))"
        }
    }

    /// The held-out items: `share` of the items with a positive event, drawn with `seed`.
    static func heldOut(positiveItems: [Int32], share: Double, seed: UInt64) -> Set<Int32> {
        var rng = SplitMix64(seed: seed)
        let shuffled = positiveItems.sorted().shuffled(using: &rng)
        return Set(shuffled.prefix(Int((Double(shuffled.count) * share).rounded())))
    }

    public static func run(store: any Store, channels: [String], config: FunnelConfig, share: Double = 0.1, k: Int = 50, seed: UInt64 = 1,
                           progress: ((String) -> Void)? = nil) throws -> [Row] {
        guard share > 0, share < 1 else { throw CascadeError.invalid("held-out share must be in (0, 1), got \(share)") }
        guard k > 0 else { throw CascadeError.invalid("k must be positive, got \(k)") }
        let log = try store.loadEventLog()
        let ids = try store.idSnapshot()
        let registry = try store.eventTypes()
        let weights = registry.weightsByCode
        let items = try Trainer.itemsInIndexOrder(store: store, ids: ids.items)
        let userCount = ids.users.count, itemCount = ids.items.count
        func positive(_ e: Int) -> Bool { Int(log.types[e]) < weights.count && weights[Int(log.types[e])] > 0 }
        let cold = heldOut(positiveItems: Array(Set((0..<log.count).filter(positive).map { log.items[$0] })), share: share, seed: seed)
        guard !cold.isEmpty else { throw CascadeError.invalid("no item to hold out: the store has no positive events") }
        let train = log.subset((0..<log.count).filter { !cold.contains(log.items[$0]) })
        var history = [[HistoryEvent]](repeating: [], count: userCount)
        var relevant = [Set<Int32>](repeating: [], count: userCount)
        for e in 0..<log.count where positive(e) {
            let u = Int(log.users[e])
            if cold.contains(log.items[e]) {
                relevant[u].insert(log.items[e])
            } else {
                history[u].append(HistoryEvent(item: log.items[e], type: log.types[e], timestamp: log.timestamps[e]))
            }
        }
        let users = (0..<userCount).filter { !relevant[$0].isEmpty && !history[$0].isEmpty }
        let onlyCold = (0..<itemCount).map { !cold.contains(Int32($0)) }
        let now = log.maxTimestamp
        progress?("\(cold.count) items held out, \(users.count) users engaged with them")
        var rows: [Row] = []
        for name in channels {
            progress?("training \(name)")
            var c = try config.restricted(to: [name])
            c.annMinItems = Int.max
            let start = Date()
            let trained = try Trainer.build(log: train, userCount: userCount, itemCount: itemCount, registry: registry, items: items, config: c)
            let seconds = Date().timeIntervalSince(start)
            guard let channel = trained.channels.first else {
                throw CascadeError.invalid("channel \(name) is built while serving, not trained: it has no cold-start figure")
            }
            var hits = 0, wanted = 0
            for u in users {
                let h = Array(history[u].sorted { $0.timestamp > $1.timestamp }.prefix(500))
                let got = channel.recall(RecallContext(user: Int32(u), history: h, now: now), quota: k,
                                         filter: CandidateFilter(unavailable: onlyCold, seen: [], now: now))
                hits += got.filter { relevant[u].contains($0.item) }.count
                wanted += Swift.min(k, relevant[u].count)
            }
            rows.append(Row(channel: name, heldOutItems: cold.count, users: users.count,
                            recall: Double(hits) / Double(Swift.max(wanted, 1)), buildSeconds: seconds, k: k))
        }
        return rows
    }
}
