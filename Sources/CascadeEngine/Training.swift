import CascadeCore
import CascadeEval
import CascadeRecall
import CascadeStore
import Foundation
import Logging

/// The trained channels of a funnel, in memory.
public struct TrainedChannels: Sendable {
    public var channels: [any RecallChannel]
    public var seconds: Double
    /// Channels trained but not kept, each with its reason (``ChannelDeclined``).
    public var declined: [ChannelDeclined]
    public init(channels: [any RecallChannel], seconds: Double, declined: [ChannelDeclined] = []) {
        self.channels = channels
        self.seconds = seconds
        self.declined = declined
    }
}

/// Builds recall channels from events and publishes them to the artifact registry.
public enum Trainer {
    static let logger = Logger(label: "cascade.train")

    /// Builds every channel listed in `config.quotas` from a log (no store involved: evaluation
    /// trains on a split this way), in registry order, each by its ``ChannelDefinition``. `items`
    /// are the item documents in dense index order (rule channels read categories, authors,
    /// locations and publish times from them); may be empty. Online channels are not trained.
    public static func build(log: EventLog, userCount: Int, itemCount: Int, registry: EventTypeRegistry, items: [Item] = [],
                             config: FunnelConfig = FunnelConfig(), progress: ((String) -> Void)? = nil) throws -> TrainedChannels {
        let start = Date()
        for q in config.quotas { _ = try ChannelRegistry.require(q.channel) }
        let wanted = Set(config.quotas.map(\.channel))
        let input = ChannelTrainingInput(log: log, userCount: userCount, itemCount: itemCount, registry: registry, items: items,
                                         annMinItems: config.annMinItems, hnsw: config.hnsw) { message in logger.info("\(message)") }
        var out: [any RecallChannel] = []
        var declined: [ChannelDeclined] = []
        for d in ChannelRegistry.all where wanted.contains(d.name) && !d.isOnline {
            progress?(d.name)
            let t = Date()
            do {
                out.append(try ChannelRegistry.train(d, input: input, parameters: config.channels))
            } catch let e as ChannelDeclined {
                // The other channels are still published; the one declined serves its active
                // version if it has one, else the funnel runs without it.
                logger.warning("channel not published", metadata: ["channel": "\(e.channel)", "reason": "\(e.reason)"])
                declined.append(e)
                continue
            }
            logger.info("built channel", metadata: ["channel": "\(d.name)", "seconds": "\(Date().timeIntervalSince(t))"])
        }
        logger.info("built recall channels", metadata: [
            "events": "\(log.count)", "users": "\(userCount)", "items": "\(itemCount)", "seconds": "\(Date().timeIntervalSince(start))",
        ])
        return TrainedChannels(channels: out, seconds: Date().timeIntervalSince(start), declined: declined)
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
                "channel": ch.name, "kind": ModelArtifact.recall(ch.name),
                "events": String(log.count), "users": String(ids.users.count), "items": String(ids.items.count),
                "trained_at": ISO8601DateFormatter().string(from: Date()),
            ]
            versions[ch.name] = try ModelArtifact.publish(store: store, name: ModelArtifact.recall(ch.name), manifest: manifest,
                                                          payload: ch.serialized())
        }
        progress?("ranker")
        // Served pages are impressions too, when clients report only what users did.
        let pages = config.rank.enabled ? try PageImpressions.pages(of: log, store: store) : []
        let joined = try PageImpressions.joined(log: log, pages: pages, store: store, ids: ids, registry: registry)
        if joined.added > 0 { logger.info("impressions from served pages", metadata: ["added": "\(joined.added)"]) }
        // A position tower without a given curve holds the one the exploration measured, when
        // the served pages carry enough randomised slots: learned with the ranker, the curve
        // takes relevance for position wherever the logging system ranked its pages.
        var rankConfig = config.rank
        var measuredCurve: PositionCurveEstimate.Result?
        if rankConfig.enabled, rankConfig.positionBias, rankConfig.positionCurve == nil,
           let m = try ExploredPositionCurve.measure(pages: pages, store: store) {
            measuredCurve = m
            rankConfig.positionCurve = m.curve
            logger.info("position curve measured on explored slots", metadata: ["eta": "\(m.eta)", "impressions": "\(m.impressions)"])
        }
        let rank = try RankTraining.train(store: store, log: joined.log, config: rankConfig)
        for (k, v) in rank?.versions ?? [:] { versions[k] = v }
        var deactivated: [String] = []
        if !config.rank.enabled {
            // "No ranker" means the recall order is served: an earlier ranker stops being active.
            for name in ["rank", "prerank"] where try store.deactivateArtifact(name: name) { deactivated.append(name) }
        }
        return TrainReport(events: log.count, users: ids.users.count, items: ids.items.count,
                           loadSeconds: loadSeconds, trainSeconds: Date().timeIntervalSince(t0) - loadSeconds, versions: versions, rank: rank,
                           deactivated: deactivated, declined: trained.declined, pageImpressions: joined.added,
                           measuredPositionCurve: measuredCurve)
    }

    /// Loads the active artifact of every configured channel through its definition. A channel
    /// never trained, or whose artifact cannot be read, is skipped and logged: recommendations
    /// degrade, they do not fail.
    public static func loadChannels(store: any Store, config: FunnelConfig = FunnelConfig()) throws -> [any RecallChannel] {
        var out: [any RecallChannel] = []
        let online = FunnelConfig.onlineChannels
        for q in config.quotas where !online.contains(q.channel) {
            let name = ModelArtifact.recall(q.channel)
            guard let definition = ChannelRegistry.definition(q.channel) else {
                logger.error("channel skipped: not a registered channel", metadata: ["channel": "\(q.channel)"])
                continue
            }
            guard let a = try store.activeArtifact(name: name) else {
                logger.warning("channel skipped: no trained artifact", metadata: ["artifact": "\(name)"])
                continue
            }
            do {
                out.append(try definition.load(try ModelArtifact.payload(of: a, name: name)))
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
    /// Channels trained but not published (``ChannelDeclined``), with their reasons.
    public var declined: [ChannelDeclined] = []
    /// Impressions the ranker learned from that only the served-page log recorded
    /// (``PageImpressions``).
    public var pageImpressions = 0
    /// The position curve measured on the served pages' explored slots, which the position tower
    /// held (``ExploredPositionCurve``; nil when not measured).
    public var measuredPositionCurve: PositionCurveEstimate.Result? = nil
    /// The ranker's incremental update, when `refresh` made one.
    public var rankRefresh: RankTraining.RefreshReport? = nil
}
