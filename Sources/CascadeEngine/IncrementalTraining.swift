import CascadeCore
import CascadeRecall
import CascadeStore
import Foundation

extension Trainer {
    /// Incremental update between full retrains: channels that support it (the two-tower model)
    /// continue training from their active artifact on the events of the last `days` days (counted
    /// back from the newest event), growing their tables for users and items added since, and
    /// publish the result as a new version; so does the ranker, with its pre-ranker
    /// (``RankTraining/refresh(store:log:days:config:)``). Other channels are left as they are.
    /// Throws when neither a two-tower model nor a ranker has been trained yet.
    @discardableResult
    public static func refresh(store: any Store, config: FunnelConfig = FunnelConfig(), days: Double = 1,
                               progress: ((String) -> Void)? = nil) throws -> TrainReport {
        guard days > 0, days.isFinite else { throw CascadeError.invalid("the refresh window must be a positive number of days, got \(days)") }
        let t0 = Date()
        let twoTower = try store.activeArtifact(name: "recall/twotower")
        let ranker = !config.rank.enabled ? nil : try store.activeArtifact(name: "rank")
        guard twoTower != nil || ranker != nil else {
            throw CascadeError.notFound("nothing to refresh: train a two-tower model (`cascade train --channels ...,twotower`) or a ranker first")
        }
        progress?("loading events")
        let full = try store.loadEventLog()
        let ids = try store.idSnapshot()
        let loadSeconds = Date().timeIntervalSince(t0)
        let t1 = Date()
        var report = TrainReport(events: 0, users: ids.users.count, items: ids.items.count,
                                 loadSeconds: loadSeconds, trainSeconds: 0, versions: [:])
        if let twoTower {
            let (events, version) = try refreshTwoTower(store: store, active: twoTower, log: full, ids: ids, config: config,
                                                        days: days, progress: progress)
            report.events = events
            report.versions["twotower"] = version
        }
        if let ranker {
            progress?("refreshing the ranker")
            if let r = try RankTraining.refresh(store: store, active: ranker, log: full, days: days, config: config.rank) {
                report.rankRefresh = r
                for (k, v) in r.versions { report.versions[k] = v }
                report.events = Swift.max(report.events, r.samples)
            }
        }
        report.trainSeconds = Date().timeIntervalSince(t1)
        return report
    }

    /// Refreshes the active two-tower artifact; returns the window's event count and the new version.
    static func refreshTwoTower(store: any Store, active: Artifact, log full: EventLog, ids: (users: IdMap, items: IdMap), config: FunnelConfig,
                                days: Double, progress: ((String) -> Void)?) throws -> (Int, Int) {
        let blob = [UInt8](active.blob)
        let current: TwoTower
        let indexed: Bool
        switch active.info.manifest["kind"] {
        case "TwoTower": current = try TwoTower(serialized: blob); indexed = false
        case "IndexedRecall":
            guard let base = try IndexedRecall(serialized: blob).base as? TwoTower else {
                throw CascadeError.corrupt("recall/twotower v\(active.info.version): the indexed artifact does not hold a two-tower model")
            }
            current = base
            indexed = true
        default:
            throw CascadeError.corrupt("recall/twotower v\(active.info.version): unexpected artifact kind \(active.info.manifest["kind"] ?? "none")")
        }
        let cutoff = full.maxTimestamp - days * 86_400
        let recentCount = full.timestamps.lazy.filter { $0 >= cutoff }.count
        let registry = try store.eventTypes()
        progress?("refreshing two-tower on \(recentCount) events")
        var p = config.twoTower
        p.epochs = Swift.min(p.epochs, 2)
        p.learningRate /= 3
        let items = try itemsInIndexOrder(store: store, ids: ids.items)
        let fresh = try current.refreshed(log: full, since: cutoff, userCount: ids.users.count, itemCount: ids.items.count,
                                          typeWeights: registry.weightsByCode, features: ItemSideFeatures.build(items: items),
                                          parameters: p) { logger.info("\($0)") }
        let channel: any RecallChannel = indexed || ids.items.count >= config.annMinItems
            ? try IndexedRecall.build(fresh, parameters: config.hnsw) : fresh
        let manifest = [
            "channel": "twotower", "kind": String(describing: type(of: channel)), "events": String(recentCount),
            "users": String(ids.users.count), "items": String(ids.items.count), "incremental_from": String(active.info.version),
            "trained_at": ISO8601DateFormatter().string(from: Date()),
        ]
        let version = try store.putArtifact(name: "recall/twotower", manifest: manifest, blob: Data(channel.serialized()), activate: true)
        return (recentCount, version)
    }
}
