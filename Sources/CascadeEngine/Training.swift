import CascadeCore
import CascadeRecall
import CascadeStore
import Foundation
import Logging

/// What the first funnel trains and how: the recall channels and their quotas.
public struct FunnelConfig: Sendable, Equatable {
    /// Item-CF parameters.
    public var itemCF = ItemCF.Parameters()
    /// Half-life of the trending channel, seconds.
    public var trendingHalfLife: Double = 3 * 86_400
    /// Per-channel quota and merge weight, in the order channels run.
    public var quotas: [ChannelQuota] = [
        ChannelQuota(channel: "itemcf", quota: 300, weight: 1),
        ChannelQuota(channel: "trending", quota: 100, weight: 0.2),
        ChannelQuota(channel: "popular", quota: 100, weight: 0.3),
    ]
    /// Events of the user read at request time (triggers and exact seen-filter).
    public var historyLength = 500
    /// Candidates kept after the merge.
    public var mergeLimit = 500
    /// How channel lists combine (see ``RecallMerger``).
    public var mergeMode: RecallMerger.Mode = .max

    public init() {}
}

/// The trained channels of a funnel, in memory.
public struct TrainedChannels: Sendable {
    public var channels: [any RecallChannel]
    public var seconds: Double
    public init(channels: [any RecallChannel], seconds: Double) {
        self.channels = channels
        self.seconds = seconds
    }
}

/// Builds recall channels from events and publishes them to the artifact registry.
public enum Trainer {
    static let logger = Logger(label: "cascade.train")

    /// Builds every channel of the first funnel from a log (no store involved: evaluation trains
    /// on a split this way).
    public static func build(log: EventLog, userCount: Int, itemCount: Int, registry: EventTypeRegistry,
                             config: FunnelConfig = FunnelConfig(), progress: ((String) -> Void)? = nil) -> TrainedChannels {
        let start = Date()
        let weights = registry.weightsByCode
        progress?("popularity")
        let popular = Popularity.build(log: log, itemCount: itemCount, typeWeights: weights, name: "popular")
        let trending = Popularity.build(log: log, itemCount: itemCount, typeWeights: weights,
                                        halfLife: config.trendingHalfLife, name: "trending")
        progress?("interaction matrix")
        let matrix = InteractionMatrix(log: log, userCount: userCount, itemCount: itemCount, typeWeights: weights)
        progress?("item-CF")
        let itemcf = ItemCF.build(matrix, typeWeights: weights, parameters: config.itemCF, name: "itemcf")
        logger.info("built recall channels", metadata: [
            "events": "\(log.count)", "users": "\(userCount)", "items": "\(itemCount)",
            "itemcf_neighbours": "\(itemcf.neighbourItems.count)", "seconds": "\(Date().timeIntervalSince(start))",
        ])
        return TrainedChannels(channels: [itemcf, trending, popular], seconds: Date().timeIntervalSince(start))
    }

    /// Trains on everything in `store` and publishes one artifact per channel, activated together.
    @discardableResult
    public static func train(store: any Store, config: FunnelConfig = FunnelConfig(),
                             progress: ((String) -> Void)? = nil) throws -> TrainReport {
        progress?("loading events")
        let t0 = Date()
        let log = try store.loadEventLog()
        let ids = try store.idSnapshot()
        let registry = try store.eventTypes()
        guard log.count > 0 else { throw CascadeError.invalid("the store has no events to train on; import or simulate some first") }
        let loadSeconds = Date().timeIntervalSince(t0)
        let trained = build(log: log, userCount: ids.users.count, itemCount: ids.items.count, registry: registry,
                            config: config, progress: progress)
        progress?("saving artifacts")
        var versions: [String: Int] = [:]
        for ch in trained.channels {
            let manifest = [
                "channel": ch.name, "kind": String(describing: type(of: ch)),
                "events": String(log.count), "users": String(ids.users.count), "items": String(ids.items.count),
                "trained_at": ISO8601DateFormatter().string(from: Date()),
            ]
            let blob = Data(ch.serialized())
            versions[ch.name] = try store.putArtifact(name: "recall/\(ch.name)", manifest: manifest, blob: blob, activate: true)
            logger.info("published artifact", metadata: ["name": "recall/\(ch.name)", "version": "\(versions[ch.name]!)", "bytes": "\(blob.count)"])
        }
        return TrainReport(events: log.count, users: ids.users.count, items: ids.items.count,
                           loadSeconds: loadSeconds, trainSeconds: trained.seconds, versions: versions)
    }

    /// Loads the active artifact of every configured channel. Channels never trained are skipped.
    public static func loadChannels(store: any Store, config: FunnelConfig = FunnelConfig()) throws -> [any RecallChannel] {
        var out: [any RecallChannel] = []
        for q in config.quotas {
            guard let a = try store.activeArtifact(name: "recall/\(q.channel)") else { continue }
            let bytes = [UInt8](a.blob)
            switch a.info.manifest["kind"] {
            case "ItemCF": out.append(try ItemCF(serialized: bytes))
            case "Popularity": out.append(try Popularity(serialized: bytes))
            case let k: throw CascadeError.corrupt("artifact recall/\(q.channel) v\(a.info.version): unknown kind \(k ?? "none")")
            }
        }
        return out
    }
}

public struct TrainReport: Sendable {
    public var events: Int
    public var users: Int
    public var items: Int
    public var loadSeconds: Double
    public var trainSeconds: Double
    public var versions: [String: Int]
}
