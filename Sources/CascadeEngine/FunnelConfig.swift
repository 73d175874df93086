import CascadeANN
import CascadeCore
import CascadeRecall

/// What the funnel trains and how it answers: every recall channel's parameters, and the quota
/// and merge weight of each channel that runs. A channel absent from `quotas` is neither trained
/// nor asked.
public struct FunnelConfig: Sendable, Equatable {
    /// Every channel's parameters (``ChannelRegistry``; a channel not set here uses its defaults).
    /// `config.channels[ItemCFChannel.self].neighbours = 50`, or the shorthands of
    /// `FunnelConfig+Channels.swift`.
    public var channels = ChannelParameterSet()
    /// The diversity re-rank stage (off by default).
    public var rerank = RerankConfig()
    /// Pre-rank, rank and fusion (trained from logged impressions when there are enough).
    public var rank = RankStageConfig()
    /// Catalogs of at least this many items search vector channels' item vectors through HNSW.
    public var annMinItems = 50_000
    public var hnsw = HNSWIndex.Parameters()
    /// Per-channel quota and merge weight, in the order channels are listed in traces.
    public var quotas: [ChannelQuota] = FunnelConfig.defaultQuotas
    /// Events of the user read at request time (triggers and exact seen-filter).
    public var historyLength = 500
    /// Candidates kept after the merge (the recall budget handed to later stages).
    public var mergeLimit = 1_000
    /// Run the recall channels of one request concurrently. Best for a single request at a time
    /// (batch jobs, the CLI); a server under load keeps both cores busy with whole requests and
    /// does better running each request's channels in turn.
    public var parallelRecall = true
    /// How channel lists combine (see ``RecallMerger``): by default their reciprocal ranks add,
    /// so items several channels agree on come first.
    public var mergeMode: RecallMerger.Mode = .sum
    /// The request deadline, seconds (0: none). A recall channel that has not started by then
    /// is skipped, and the ranking and re-rank stages are skipped once it has passed; the page is
    /// answered from what is done and the skipped stages are reported as degraded (and counted by
    /// the server), so a slow stage can never hold a worker.
    public var deadline: Double = 1
    /// Named variants of this configuration, chosen by a request's scene (`?scene=related`): each
    /// scene's keys (an experiment arm's: `quota.<channel>`, `weight.<channel>`, `fusion.<task>`,
    /// or any config-file key) apply over this configuration, and a user's experiment arms over
    /// the scene's. A request without a scene, or of a scene not listed, is served by this
    /// configuration. See ``forScene(_:)``.
    public var scenes: [String: [String: String]] = [:]

    /// The channels `cascade train` trains when none are named, each with its default quota and
    /// weight (``ChannelDefinition/defaultQuota``), in registry order. Personal channels weigh
    /// most; generic ones (popular, trending, fresh) fill in for light and new users.
    public static var defaultQuotas: [ChannelQuota] {
        ChannelRegistry.all.filter { $0.trainedByDefault }.map(defaultQuota(of:))
    }

    /// Every channel that can be named in `quotas` (``ChannelRegistry``).
    public static var knownChannels: [String] { ChannelRegistry.names }

    /// Channels built by the funnel itself while it serves, with no trained artifact.
    public static var onlineChannels: Set<String> { Set(ChannelRegistry.all.filter { $0.isOnline }.map { $0.name }) }

    /// A channel's default quota and weight.
    public static func defaultQuota(of definition: any ChannelDefinition.Type) -> ChannelQuota {
        ChannelQuota(channel: definition.name, quota: definition.defaultQuota.quota, weight: definition.defaultQuota.weight)
    }

    /// The default quota and weight of the channel `name` (nil: not a channel).
    public static func defaultQuota(of name: String) -> ChannelQuota? {
        ChannelRegistry.definition(name).map(defaultQuota(of:))
    }

    public init() {}

    /// Keeps only the named channels (in the given order), each with its quota and weight here
    /// or, when absent, its default.
    public func restricted(to names: [String]) throws(CascadeError) -> FunnelConfig {
        var c = self
        c.quotas = []
        for name in names {
            let d = try ChannelRegistry.require(name)
            c.quotas.append(quotas.first { $0.channel == name } ?? Self.defaultQuota(of: d))
        }
        return c
    }
}
