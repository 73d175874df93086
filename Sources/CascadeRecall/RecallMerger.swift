import CascadeCore

/// How much one channel may return and how much its ranks count in the merge.
public struct ChannelQuota: Sendable, Equatable, Codable {
    public var channel: String
    public var quota: Int
    public var weight: Float
    public init(channel: String, quota: Int, weight: Float = 1) {
        self.channel = channel
        self.quota = quota
        self.weight = weight
    }
}

/// A candidate after the merge: every channel that recalled it, with its score and rank there.
public struct MergedCandidate: Sendable, Equatable {
    public struct Source: Sendable, Equatable {
        public var channel: String
        public var score: Float
        /// 1-based rank within the channel's list.
        public var rank: Int
    }
    public var item: Int32
    /// The merged score (weighted reciprocal-rank fusion).
    public var score: Float
    public var sources: [Source]
}

/// Merges channel lists into one deduplicated list by weighted reciprocal rank: a channel gives
/// the item at rank r the credit `weight_c / (k0 + r)` (Cormack, Clarke and Buettcher, SIGIR 2009).
/// Ranks rather than raw scores, because channel scores live on unrelated scales.
/// - `.sum` adds the credits (reciprocal-rank fusion: agreement between channels lifts an item;
///   the funnel's default, ``FunnelConfig/mergeMode``);
/// - `.max` keeps the best credit (a weighted interleave: a strong personal channel is not
///   outvoted by several weak generic ones).
/// Ties break by item index. O(total candidates log total).
public struct RecallMerger: Sendable {
    public enum Mode: String, Sendable, Codable, CaseIterable { case sum, max }
    public var k0: Float
    public var mode: Mode
    public init(k0: Float = 60, mode: Mode = .sum) {
        self.k0 = k0
        self.mode = mode
    }

    public func merge(_ lists: [(quota: ChannelQuota, candidates: [Candidate])], limit: Int) -> [MergedCandidate] {
        var byItem: [Int32: MergedCandidate] = [:]
        for (q, list) in lists {
            for (r, c) in list.enumerated() {
                let add = q.weight / (k0 + Float(r + 1))
                let src = MergedCandidate.Source(channel: c.channel, score: c.score, rank: r + 1)
                if var m = byItem[c.item] {
                    m.score = mode == .sum ? m.score + add : Swift.max(m.score, add)
                    m.sources.append(src)
                    byItem[c.item] = m
                } else {
                    byItem[c.item] = MergedCandidate(item: c.item, score: add, sources: [src])
                }
            }
        }
        let all = byItem.values.sorted { $0.score != $1.score ? $0.score > $1.score : $0.item < $1.item }
        return Array(all.prefix(max(0, limit)))
    }
}
