import CascadeCore
import CascadeRecall
import CascadeStore
import Foundation
import Logging

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

    /// Builds every channel listed in `config.quotas` from a log (no store involved: evaluation
    /// trains on a split this way). `items` are the item documents in dense index order (rule
    /// channels read categories, authors, locations and publish times from them); may be empty.
    public static func build(log: EventLog, userCount: Int, itemCount: Int, registry: EventTypeRegistry, items: [Item] = [],
                             config: FunnelConfig = FunnelConfig(), progress: ((String) -> Void)? = nil) throws -> TrainedChannels {
        let start = Date()
        let weights = registry.weightsByCode
        let wanted = Set(config.quotas.map(\.channel))
        let catalogue = items.count == itemCount ? items : (0..<itemCount).map { i in i < items.count ? items[i] : Item(id: "#\(i)") }
        var out: [any RecallChannel] = []
        func timed(_ name: String, _ body: () throws -> any RecallChannel) rethrows {
            guard wanted.contains(name) else { return }
            progress?(name)
            let t = Date()
            out.append(try body())
            logger.info("built channel", metadata: ["channel": "\(name)", "seconds": "\(Date().timeIntervalSince(t))"])
        }
        progress?("interaction matrix")
        let matrix = InteractionMatrix(log: log, userCount: userCount, itemCount: itemCount, typeWeights: weights)
        let through = log.maxTimestamp
        try timed("itemcf") { ItemCF.build(matrix, typeWeights: weights, parameters: config.itemCF, name: "itemcf") }
        try timed("swing") { Swing.build(matrix, typeWeights: weights, parameters: config.swing, name: "swing") }
        try timed("usercf") { UserCF.build(matrix, parameters: config.userCF, name: "usercf") }
        try timed("als") {
            let model = try ALS.build(matrix, typeWeights: weights, parameters: config.als, trainedThrough: through, name: "als")
            // Past a catalogue size, the item vectors go into an HNSW index instead of being scanned.
            return itemCount >= config.annMinItems ? try IndexedRecall.build(model, parameters: config.hnsw) : model
        }
        try timed("bpr") { try BPR.build(matrix, typeWeights: weights, parameters: config.bpr, trainedThrough: through, name: "bpr") }
        try timed("twotower") {
            let model = try TwoTower.train(log: log, userCount: userCount, itemCount: itemCount, typeWeights: weights,
                                           features: ItemSideFeatures.build(items: catalogue), parameters: config.twoTower,
                                           name: "twotower") { message in logger.info("\(message)") }
            return itemCount >= config.annMinItems ? try IndexedRecall.build(model, parameters: config.hnsw) : model
        }
        try timed("lightgcn") {
            let model = try LightGCN.build(matrix, typeWeights: weights, parameters: config.lightGCN, name: "lightgcn") { message in logger.info("\(message)") }
            return itemCount >= config.annMinItems ? try IndexedRecall.build(model, parameters: config.hnsw) : model
        }
        try timed("eges") {
            try EGES.train(log: log, userCount: userCount, itemCount: itemCount, typeWeights: weights,
                           features: ItemSideFeatures.build(items: catalogue), parameters: config.eges,
                           name: "eges") { message in logger.info("\(message)") }
        }
        var fresh = config.fresh, geo = config.geo, author = config.author
        let impression = registry.code(of: .impression) ?? 0
        fresh.impressionType = impression
        geo.impressionType = impression
        author.followType = registry.code(of: .followAuthor) ?? author.followType
        try timed("author") { AuthorRecall.build(items: catalogue, log: log, typeWeights: weights, parameters: author, name: "author") }
        try timed("geo") { GeoRecall.build(items: catalogue, log: log, typeWeights: weights, parameters: geo, name: "geo") }
        try timed("fresh") { FreshItems.build(items: catalogue, log: log, typeWeights: weights, parameters: fresh, name: "fresh") }
        try timed("trending") { Popularity.build(log: log, itemCount: itemCount, typeWeights: weights, halfLife: config.trendingHalfLife, name: "trending") }
        try timed("popular") { Popularity.build(log: log, itemCount: itemCount, typeWeights: weights, name: "popular") }
        logger.info("built recall channels", metadata: [
            "events": "\(log.count)", "users": "\(userCount)", "items": "\(itemCount)", "seconds": "\(Date().timeIntervalSince(start))",
        ])
        return TrainedChannels(channels: out, seconds: Date().timeIntervalSince(start))
    }

    /// Item documents in dense index order; items known only from events get bare documents.
    public static func itemsInIndexOrder(store: any Store, ids: IdMap) throws -> [Item] {
        var byId: [String: Item] = [:]
        for item in try store.allItems() { byId[item.id] = item }
        return ids.ids.map { byId[$0] ?? Item(id: $0) }
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
        let trained = try build(log: log, userCount: ids.users.count, itemCount: ids.items.count, registry: registry,
                                items: try itemsInIndexOrder(store: store, ids: ids.items), config: config, progress: progress)
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
        progress?("ranker")
        let rank = try RankTraining.train(store: store, log: log, config: config.rank)
        for (k, v) in rank?.versions ?? [:] { versions[k] = v }
        var deactivated: [String] = []
        if !config.rank.enabled {
            // "No ranker" means the recall order is served: an earlier ranker stops being active.
            for name in ["rank", "prerank"] where try store.deactivateArtifact(name: name) { deactivated.append(name) }
        }
        return TrainReport(events: log.count, users: ids.users.count, items: ids.items.count,
                           loadSeconds: loadSeconds, trainSeconds: Date().timeIntervalSince(t0) - loadSeconds, versions: versions, rank: rank,
                           deactivated: deactivated)
    }

    /// How each kind of channel artifact is read back, by the `kind` in its manifest.
    public static let loaders: [String: @Sendable ([UInt8]) throws -> any RecallChannel] = [
        "ItemCF": { try ItemCF(serialized: $0) },
        "Swing": { try Swing(serialized: $0) },
        "UserCF": { try UserCF(serialized: $0) },
        "ALS": { try ALS(serialized: $0) },
        "IndexedRecall": { try IndexedRecall(serialized: $0) },
        "BPR": { try BPR(serialized: $0) },
        "TwoTower": { try TwoTower(serialized: $0) },
        "LightGCN": { try LightGCN(serialized: $0) },
        "EGES": { try EGES(serialized: $0) },
        "AuthorRecall": { try AuthorRecall(serialized: $0) },
        "GeoRecall": { try GeoRecall(serialized: $0) },
        "FreshItems": { try FreshItems(serialized: $0) },
        "Popularity": { try Popularity(serialized: $0) },
    ]

    /// Loads the active artifact of every configured channel. A channel never trained, or whose
    /// artifact cannot be read, is skipped and logged: recommendations degrade, they do not fail.
    public static func loadChannels(store: any Store, config: FunnelConfig = FunnelConfig()) throws -> [any RecallChannel] {
        var out: [any RecallChannel] = []
        for q in config.quotas where !FunnelConfig.onlineChannels.contains(q.channel) {
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
    /// The ranker's training, when one was trained.
    public var rank: RankTraining.Report? = nil
    /// Artifacts this run left inactive (`rank` and `prerank` when trained with no ranker).
    public var deactivated: [String] = []
    /// The ranker's incremental update, when `refresh` made one.
    public var rankRefresh: RankTraining.RefreshReport? = nil
}
