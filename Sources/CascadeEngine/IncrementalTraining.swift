import CascadeCore
import CascadeRecall
import CascadeStore
import Foundation

extension Trainer {
    /// Incremental update between full retrains: channels that support it
    /// (``ChannelDefinition/supportsRefresh``: the two-tower model) continue training from their
    /// active artifact on the events of the last `days` days (counted back from the newest event),
    /// growing their tables for users and items added since, and publish the result as a new
    /// version; so does the ranker, with its pre-ranker (``RankTraining/refresh(store:log:days:config:)``).
    /// Other channels are left as they are. Throws when nothing refreshable has been trained yet.
    @discardableResult
    public static func refresh(store: any Store, config: FunnelConfig = FunnelConfig(), days: Double = 1,
                               progress: ((String) -> Void)? = nil) throws -> TrainReport {
        guard days > 0, days.isFinite else { throw CascadeError.invalid("the refresh window must be a positive number of days, got \(days)") }
        let t0 = Date()
        var refreshable: [(any ChannelDefinition.Type, Artifact)] = []
        for d in ChannelRegistry.all where d.supportsRefresh {
            if let a = try store.activeArtifact(name: ModelArtifact.recall(d.name)) { refreshable.append((d, a)) }
        }
        let ranker = !config.rank.enabled ? nil : try store.activeArtifact(name: ModelArtifact.rank)
        guard !refreshable.isEmpty || ranker != nil else {
            let names = ChannelRegistry.all.filter { $0.supportsRefresh }.map { $0.name }.joined(separator: ", ")
            throw CascadeError.notFound("nothing to refresh: train a channel that supports it (\(names)) or a ranker first")
        }
        progress?("loading events")
        let full = try store.loadEventLog()
        let ids = try store.idSnapshot()
        let loadSeconds = Date().timeIntervalSince(t0)
        let t1 = Date()
        var report = TrainReport(events: 0, users: ids.users.count, items: ids.items.count,
                                 loadSeconds: loadSeconds, trainSeconds: 0, versions: [:])
        if !refreshable.isEmpty {
            let cutoff = full.maxTimestamp - days * 86_400
            let recentCount = full.timestamps.lazy.filter { $0 >= cutoff }.count
            let input = ChannelTrainingInput(log: full, userCount: ids.users.count, itemCount: ids.items.count, registry: try store.eventTypes(),
                                             items: try itemsInIndexOrder(store: store, ids: ids.items), annMinItems: config.annMinItems,
                                             hnsw: config.hnsw) { message in logger.info("\(message)") }
            for (d, active) in refreshable {
                progress?("refreshing \(d.name) on \(recentCount) events")
                let name = ModelArtifact.recall(d.name)
                let current = try d.load(try ModelArtifact.payload(of: active, name: name))
                guard let fresh = try ChannelRegistry.refreshed(d, active: current, input: input, since: cutoff, parameters: config.channels) else { continue }
                let manifest = [
                    "channel": d.name, "kind": name, "events": String(recentCount),
                    "users": String(ids.users.count), "items": String(ids.items.count), "incremental_from": String(active.info.version),
                    "trained_at": ISO8601DateFormatter().string(from: Date()),
                ]
                report.versions[d.name] = try ModelArtifact.publish(store: store, name: name, manifest: manifest, payload: fresh.serialized())
                report.events = Swift.max(report.events, recentCount)
            }
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
}
