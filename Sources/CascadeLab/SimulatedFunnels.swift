import CascadeCore
import CascadeEngine
import CascadeExperiment
import CascadeRecall
import CascadeSim
import CascadeStore
import Foundation

/// A simulated world's funnels, trained once and shared by every arm of a closed-loop
/// experiment: the recall channels of the base configuration and of every arm's quotas, trained
/// on the world's log; a ranker per training setting the arms ask for (from the world's logged
/// impressions, through a store as `cascade train` does); and one recommender per distinct set of
/// overrides. A ranker is trained when the base funnel ranks, as the default one does, or an arm
/// sets a rank or fusion key; arms with `rank.enabled` false serve without it.
final class SimulatedFunnels {
    let world: SimulatedWorld
    let base: FunnelConfig
    let trained: TrainedChannels
    let trainSeconds: Double
    let userIds: IdMap, itemIds: IdMap
    let catalog: ItemCatalog
    /// Whether any arm sets a rank or fusion key.
    let rankAsked: Bool
    let progress: ((String) -> Void)?
    private var store: SQLiteStore?
    /// One ranker per training setting (``RankStageConfig/trainingSetting``).
    private(set) var rankers: [(config: RankStageConfig, ranker: OnlineRanker?, report: RankTraining.Report?)] = []
    private var recommenders: [String: Recommender] = [:]

    /// Trains the channels; throws when an arm's overrides do not apply to `base`.
    init(world: SimulatedWorld, experiments: ExperimentConfig, base: FunnelConfig, progress: ((String) -> Void)?) throws {
        try experiments.checkOverrides(on: base)
        var training = base
        let arms = experiments.layers.flatMap(\.experiments).flatMap(\.arms)
        for arm in arms {
            for q in try base.applying(arm.overrides).quotas where !training.quotas.contains(where: { $0.channel == q.channel }) {
                training.quotas.append(q)
            }
        }
        progress?("train")
        let t0 = Date()
        trained = try Trainer.build(log: world.log, userCount: world.users.count, itemCount: world.items.count,
                                    registry: world.registry, items: world.items, config: training)
        trainSeconds = Date().timeIntervalSince(t0)
        self.world = world
        self.base = base
        self.progress = progress
        userIds = world.userIdMap()
        itemIds = world.itemIdMap()
        catalog = ItemCatalog(items: world.items, ids: itemIds)
        rankAsked = arms.contains(where: { $0.overrides.keys.contains { $0.hasPrefix("rank.") || $0.hasPrefix("fusion.") } })
    }

    /// The ranker trained with `config`'s training setting (trained on first use); nil when no
    /// ranker is asked for or too few impressions train one.
    func ranker(_ config: RankStageConfig) throws -> OnlineRanker? {
        try trainedRanker(config)?.ranker
    }

    /// The ranker with its training report.
    func trainedRanker(_ config: RankStageConfig) throws -> (ranker: OnlineRanker?, report: RankTraining.Report?)? {
        guard rankAsked || base.rank.enabled else { return nil }
        var rc = config
        rc.enabled = true
        let key = rc.trainingSetting
        if let r = rankers.first(where: { $0.config == key }) { return (r.ranker, r.report) }
        progress?("ranker")
        if store == nil {
            let s = try SQLiteStore()
            try SimulationLoader.write(world, to: s)
            let ids = try s.idSnapshot()
            guard ids.users.ids == userIds.ids, ids.items.ids == itemIds.ids else {
                throw CascadeError.invalid("A/B simulation: store ids differ from the world's")
            }
            store = s
        }
        let report = try RankTraining.train(store: store!, log: world.log, config: rc)
        let r = OnlineRanker.load(store: store!, config: rc, ids: try store!.idSnapshot())
        if r == nil && rankAsked { throw CascadeError.invalid("A/B simulation: the arms use the ranker but too few impressions trained one") }
        rankers.append((key, r, report))
        return (r, report)
    }

    /// The recommender of the base configuration with `overrides` (built once per distinct set).
    func recommender(_ overrides: [String: String]) throws -> Recommender {
        let key = overrides.keys.sorted().map { "\($0)=\(overrides[$0]!)" }.joined(separator: "\u{1F}")
        if let r = recommenders[key] { return r }
        let config = try base.applying(overrides)
        let r = Recommender(funnel: Funnel(channels: trained.channels, config: config, itemCount: world.items.count,
                                           ranker: try ranker(config.rank), catalog: catalog),
                            users: userIds, items: itemIds, catalog: catalog, registry: world.registry,
                            userLocations: world.users.map(\.location))
        recommenders[key] = r
        return r
    }

    /// The statistics counters as the store holds them at the end of the logged period (nil when
    /// no ranker reads them).
    func counters() -> CounterTable? {
        rankers.lazy.compactMap(\.ranker).first?.counterTable(log: world.log, registry: world.registry)
    }
}
