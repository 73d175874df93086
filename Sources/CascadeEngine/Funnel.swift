import CascadeCore
import CascadeRecall
import Foundation

/// One recommended item with its explanation.
public struct Recommendation: Sendable, Equatable {
    public var item: Int32
    public var score: Float
    /// The channels that recalled it, best rank first.
    public var channels: [String]
}

/// The request path: context -> recall channels -> merge and filter -> (rank) -> page.
///
/// This first funnel orders the page by the merged recall score; ranking and re-ranking stages
/// slot in between merge and page. Each channel gets its quota of allowed items (hidden,
/// deleted and already-seen items are filtered inside the channels, so quotas count real
/// candidates). Channels run one after another; each is a few hundred microseconds.
public struct Funnel: Sendable {
    public let channels: [any RecallChannel]
    public let config: FunnelConfig
    public let itemCount: Int
    let merger: RecallMerger

    public init(channels: [any RecallChannel], config: FunnelConfig, itemCount: Int) {
        self.channels = channels
        self.config = config
        self.itemCount = itemCount
        merger = RecallMerger(mode: config.mergeMode)
    }

    /// Recommends up to `n` items. `filter` decides what may be shown (see ``CandidateFilter``).
    public func recommend(_ context: RecallContext, n: Int, filter: CandidateFilter) -> [Recommendation] {
        var lists: [(quota: ChannelQuota, candidates: [Candidate])] = []
        for q in config.quotas {
            guard let ch = channels.first(where: { $0.name == q.channel }) else { continue }
            lists.append((q, ch.recall(context, quota: q.quota, filter: filter)))
        }
        let merged = merger.merge(lists, limit: max(n, config.mergeLimit))
        return merged.prefix(max(0, n)).map { m in
            Recommendation(item: m.item, score: m.score, channels: m.sources.sorted { $0.rank < $1.rank }.map(\.channel))
        }
    }
}
