import CascadeCore
import CascadeEngine
import CascadeExperiment
import CascadeStore
import Foundation
import Logging

/// The models a server answers with, swapped atomically while it serves.
///
/// A request takes the current ``Recommender`` once and uses it to the end, so a swap never
/// fails a request: requests that started before it finish on the old models, later ones use
/// the new. Items hidden or deleted through the API take effect at once (the availability flags
/// of the current recommender are flipped); a swap re-applies the changes made while the new
/// models were loading, so none is lost.
public final class ServingModels: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Recommender
    private var currentVersions: [String: Int]
    /// Availability changes made through the API: (sequence, item id, unavailable).
    private var changes: [(Int, String, Bool)] = []
    private var sequence = 0
    /// The running experiments (nil: none) and the funnel of each distinct set of overrides.
    private var experimentConfig: ExperimentConfig?
    private var armFunnels: [String: Funnel] = [:]
    private let store: any Store
    private let config: FunnelConfig
    /// Artifact holding the experiment config (JSON), versioned like the models.
    public static let experimentsArtifact = "experiments"
    private let logger = Logger(label: "cascade.server")

    /// Loads the active models of `store`. Throws when no model at all has been trained.
    public init(store: any Store, config: FunnelConfig) throws {
        try config.checkScenes()
        self.store = store
        self.config = config
        let (r, v) = try Self.load(store: store, config: config)
        current = r
        currentVersions = v
        experimentConfig = try Self.loadExperiments(store: store, base: config)
    }

    static func load(store: any Store, config: FunnelConfig) throws -> (Recommender, [String: Int]) {
        let versions = try FunnelConfig.activeVersions(store: store, extra: [experimentsArtifact])
        let recommender = try Recommender.load(store: store, config: try config.servingTrainedChannels(store: store))
        return (recommender, versions)
    }

    /// The active experiment config of `store`, checked against the funnel; nil when none.
    static func loadExperiments(store: any Store, base: FunnelConfig) throws -> ExperimentConfig? {
        guard let a = try store.activeArtifact(name: experimentsArtifact) else { return nil }
        let c = try ExperimentConfig.decode(a.blob, source: "experiments v\(a.info.version)", allowedKeys: FunnelConfig.overrideKeys)
        try c.checkOverrides(on: base, source: "experiments v\(a.info.version)")
        return c
    }

    /// The experiment config being served (nil: no experiments).
    public var experiments: ExperimentConfig? {
        lock.lock(); defer { lock.unlock() }
        return experimentConfig
    }

    /// Validates `data` as an experiment config against the funnel, stores it as a new active
    /// version and serves it from the next request. Throws (changing nothing) when invalid.
    public func putExperiments(_ data: Data) throws -> ExperimentConfig {
        let c = try ExperimentConfig.decode(data, source: "request body", allowedKeys: FunnelConfig.overrideKeys)
        try c.checkOverrides(on: config, source: "request body")
        let version = try store.putArtifact(name: Self.experimentsArtifact, manifest: ["kind": "experiments"], blob: data, activate: true)
        lock.lock(); defer { lock.unlock() }
        experimentConfig = c
        armFunnels = [:]
        currentVersions[Self.experimentsArtifact] = version
        return c
    }

    /// The recommender for `user` in `scene` and their assignment: the scene's keys
    /// (``FunnelConfig/scenes``), then the user's experiment arms, override parts of the funnel
    /// (one funnel per distinct scene and override set, built once).
    public func recommender(for user: String, scene: String? = nil) throws -> (Recommender, Assignment?) {
        lock.lock(); defer { lock.unlock() }
        let a = experimentConfig?.assign(user: user)
        let arm = a?.overrides ?? [:]
        let listed = scene.flatMap { current.funnel.config.scenes[$0] } != nil ? scene : nil
        guard listed != nil || !arm.isEmpty else { return (current, a) }
        let key = (listed ?? "") + "|" + arm.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
        if let f = armFunnels[key] { return (current.replacingFunnel(f), a) }
        let f = current.funnel(with: try current.funnel.config.forScene(listed).applying(arm))
        armFunnels[key] = f
        return (current.replacingFunnel(f), a)
    }

    /// The recommender to answer one request with.
    public var recommender: Recommender {
        lock.lock(); defer { lock.unlock() }
        return current
    }

    /// Active model versions being served.
    public var versions: [String: Int] {
        lock.lock(); defer { lock.unlock() }
        return currentVersions
    }

    /// Marks an item (un)available for every following request. Unknown to the loaded models
    /// (added after training): nothing to change, the store's flag covers the next load.
    public func setUnavailable(item: String, _ unavailable: Bool) {
        lock.lock(); defer { lock.unlock() }
        sequence += 1
        changes.append((sequence, item, unavailable))
        if changes.count > 100_000 { changes.removeFirst(changes.count - 100_000) }
        Self.apply(item, unavailable, to: &current)
    }

    private static func apply(_ item: String, _ unavailable: Bool, to r: inout Recommender) {
        guard let i = r.items.index(of: item), Int(i) < r.catalog.unavailable.count else { return }
        r.catalog.unavailable[Int(i)] = unavailable
    }

    /// Loads the models again when a newer version of any of them was activated; returns true
    /// when it swapped. A failed load keeps the current models (and is logged).
    @discardableResult
    public func reloadIfChanged(force: Bool = false) -> Bool {
        do {
            let latest = try FunnelConfig.activeVersions(store: store, extra: [Self.experimentsArtifact])
            if !force && latest == versions { return false }
            lock.lock()
            let startSequence = sequence
            lock.unlock()
            var (fresh, v) = try Self.load(store: store, config: config)
            let exp = try Self.loadExperiments(store: store, base: config)
            lock.lock(); defer { lock.unlock() }
            experimentConfig = exp
            armFunnels = [:]
            for (s, item, flag) in changes where s > startSequence { Self.apply(item, flag, to: &fresh) }
            current = fresh
            currentVersions = v
            logger.info("models swapped in", metadata: ["versions": "\(v.sorted { $0.key < $1.key })"])
            return true
        } catch {
            logger.error("model reload failed; serving the previous models", metadata: ["error": "\(error)"])
            return false
        }
    }
}
