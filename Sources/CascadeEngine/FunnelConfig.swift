import CascadeANN
import CascadeCore
import CascadeRecall

/// What the funnel trains and how it answers: every recall channel's parameters, and the quota
/// and merge weight of each channel that runs. A channel absent from `quotas` is neither trained
/// nor asked.
public struct FunnelConfig: Sendable, Equatable {
    public var itemCF = ItemCF.Parameters()
    public var swing = Swing.Parameters()
    public var userCF = UserCF.Parameters()
    public var als = ALS.Parameters()
    public var bpr = BPR.Parameters()
    public var fresh = FreshItems.Parameters()
    public var geo = GeoRecall.Parameters()
    public var author = AuthorRecall.Parameters()
    public var twoTower = TwoTowerParameters()
    public var lightGCN = LightGCN.Parameters()
    /// The diversity re-rank stage (off by default).
    public var rerank = RerankConfig()
    public var eges = EGES.Parameters()
    /// Pre-rank, rank and fusion (trained from logged impressions when there are enough).
    public var rank = RankStageConfig()
    /// Catalogues of at least this many items search ALS item vectors through HNSW.
    public var annMinItems = 50_000
    public var hnsw = HNSWIndex.Parameters()
    /// Half-life of the trending channel, seconds.
    public var trendingHalfLife: Double = 3 * 86_400
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
    /// How channel lists combine (see ``RecallMerger``).
    public var mergeMode: RecallMerger.Mode = .max
    /// The request deadline, seconds (0: none). A recall channel that has not started by then
    /// is skipped, and the ranking and re-rank stages are skipped once it has passed; the page is
    /// answered from what is done and the skipped stages are reported as degraded (and counted by
    /// the server), so a slow stage can never hold a worker.
    public var deadline: Double = 1

    /// Every channel the engine can train, with its default quota and weight. Personal channels
    /// weigh most; generic ones (popular, trending, fresh) fill in for light and new users.
    public static let defaultQuotas: [ChannelQuota] = [
        ChannelQuota(channel: "itemcf", quota: 300, weight: 1),
        ChannelQuota(channel: "swing", quota: 200, weight: 0.9),
        ChannelQuota(channel: "usercf", quota: 200, weight: 0.8),
        ChannelQuota(channel: "als", quota: 200, weight: 0.9),
        ChannelQuota(channel: "author", quota: 50, weight: 0.6),
        ChannelQuota(channel: "geo", quota: 50, weight: 0.4),
        ChannelQuota(channel: "fresh", quota: 50, weight: 0.3),
        ChannelQuota(channel: "trending", quota: 100, weight: 0.2),
        ChannelQuota(channel: "popular", quota: 100, weight: 0.3),
    ]

    /// Channels that can be named in `quotas` (BPR, the two-tower model, LightGCN and EGES are trained only when
    /// listed: BPR is slower than ALS for similar quality on implicit data, the two-tower model
    /// trains for minutes on large logs).
    public static let knownChannels = ["itemcf", "swing", "usercf", "als", "bpr", "twotower", "lightgcn", "eges", "author", "geo", "fresh", "trending", "popular",
                                       "cache"]
    /// Channels built by the funnel itself while it serves, with no trained artifact: the cache
    /// of candidates a user was passed over (``CacheRecall``).
    public static let onlineChannels: Set<String> = ["cache"]
    /// Settings of the cache channel (when `quotas` names "cache").
    public var cache = CacheRecall.Parameters()

    public init() {}

    /// Keeps only the named channels (in the given order), each with its default quota and weight.
    public func restricted(to names: [String]) throws(CascadeError) -> FunnelConfig {
        var c = self
        c.quotas = []
        for name in names {
            guard Self.knownChannels.contains(name) else {
                throw .invalid("unknown channel '\(name)'; channels: \(Self.knownChannels.joined(separator: ", "))")
            }
            c.quotas.append(quotas.first { $0.channel == name } ?? ChannelQuota(channel: name, quota: 200, weight: 0.9))
        }
        return c
    }
}
