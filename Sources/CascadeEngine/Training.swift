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

    /// How each kind of channel artifact is read back, by the `kind` in its manifest.
    public static let loaders: [String: @Sendable ([UInt8]) throws -> any RecallChannel] = [
        "ItemCF": { try ItemCF(serialized: $0) },
        "Popularity": { try Popularity(serialized: $0) },
    ]

    /// Loads the active artifact of every configured channel. A channel never trained, or whose
    /// artifact cannot be read, is skipped and logged: recommendations degrade, they do not fail.
    public static func loadChannels(store: any Store, config: FunnelConfig = FunnelConfig()) throws -> [any RecallChannel] {
        var out: [any RecallChannel] = []
        for q in config.quotas {
            let name = "recall/\(q.channel)"
            guard let a = try store.activeArtifact(name: name) else {
                logger.warning("channel skipped: no trained artifact", metadata: ["artifact": "\(name)"])
                continue
            }
            let kind = a.info.manifest["kind"] ?? "none"
            guard let load = loaders[kind] else {
                logger.error("channel skipped: unknown artifact kind", metadata: ["artifact": "\(name)", "version": "\(a.info.version)", "kind": "\(kind)"])
                continue
            }
            do {
                out.append(try load([UInt8](a.blob)))
            } catch {
                logger.error("channel skipped: unreadable artifact", metadata: ["artifact": "\(name)", "version": "\(a.info.version)", "error": "\(error)"])
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
