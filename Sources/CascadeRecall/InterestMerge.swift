import CascadeCore

/// One query of a multi-interest user: the interest's vector, an offset added to each of its
/// inner products so that the scores of different interests compare (a multi-interest model
/// gives log prior - log partition: the log-probability of the item under a mixture of
/// interests), and its share of the quota.
public struct InterestQuery: Sendable, Equatable {
    public var vector: [Float]
    public var offset: Float
    public var share: Double

    public init(vector: [Float], offset: Float = 0, share: Double = 1) {
        self.vector = vector
        self.offset = offset
        self.share = share
    }
}

/// Merging the candidates of several interests of one user: each interest keeps its share of
/// the quota (its best items not already taken, the largest share first), what a share cannot
/// fill goes to the best remaining candidates of any interest, and the union is ordered by
/// score (an item's best over the interests that found it), as ComiRec's aggregation does.
/// O(total candidates log total).
public enum InterestMerge {
    /// The number of interests a history of `length` positives queries with, at most `maximum`:
    /// MIND's max(1, min(K, floor(log2 length))), so a short history does not spread its quota
    /// over near-identical vectors.
    public static func interestCount(historyLength length: Int, maximum: Int) -> Int {
        guard length > 1 else { return 1 }
        return Swift.max(1, Swift.min(maximum, Int.bitWidth - 1 - length.leadingZeroBitCount))
    }

    /// Each query's candidates from `search(vector, count)` (best first, scores before the
    /// offset), merged into at most `quota` distinct items.
    public static func recall(_ queries: [InterestQuery], quota: Int, search: ([Float], Int) -> [Candidate]) -> [Candidate] {
        guard quota > 0, !queries.isEmpty else { return [] }
        if queries.count == 1 {
            return search(queries[0].vector, quota).map { var c = $0; c.score += queries[0].offset; return c }
        }
        let quotas = shares(queries.map(\.share), quota: quota)
        let lists = zip(queries, quotas).map { q, k in
            search(q.vector, Swift.min(quota, 2 * k + 16)).map { var c = $0; c.score += q.offset; return c }
        }
        return merge(lists, quotas: quotas, quota: quota)
    }

    /// `quota` split in proportion to `shares` (largest remainders), summing to `quota`.
    static func shares(_ shares: [Double], quota: Int) -> [Int] {
        let total = shares.reduce(0, +)
        guard total > 0 else { return shares.indices.map { $0 == 0 ? quota : 0 } }
        let exact = shares.map { Double(quota) * $0 / total }
        var out = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { exact[$0] - Double(out[$0]) > exact[$1] - Double(out[$1]) }
        for k in order.prefix(quota - out.reduce(0, +)) { out[k] += 1 }
        return out
    }

    /// `lists`: each interest's candidates, best first; `quotas`: how many each keeps.
    public static func merge(_ lists: [[Candidate]], quotas: [Int], quota: Int) -> [Candidate] {
        guard quota > 0, !lists.isEmpty else { return [] }
        var best: [Int32: Candidate] = [:]
        for list in lists {
            for c in list where c.score > best[c.item]?.score ?? -.infinity { best[c.item] = c }
        }
        var taken = Set<Int32>()
        for k in lists.indices.sorted(by: { quotas[$0] > quotas[$1] || (quotas[$0] == quotas[$1] && $0 < $1) }) {
            var kept = 0
            for c in lists[k] where kept < quotas[k] && taken.count < quota && !taken.contains(c.item) {
                taken.insert(c.item)
                kept += 1
            }
        }
        let order: (Candidate, Candidate) -> Bool = { $0.score > $1.score || ($0.score == $1.score && $0.item < $1.item) }
        if taken.count < quota {
            for c in best.values.sorted(by: order) where taken.count < quota { taken.insert(c.item) }
        }
        return taken.map { best[$0]! }.sorted(by: order)
    }
}
