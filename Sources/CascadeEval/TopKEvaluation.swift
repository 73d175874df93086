import CascadeCore

/// Full-ranking top-K evaluation with the rules of the neutral judge (`topk_judge.py score`).
///
/// For each user `u` with at least one test item:
/// 1. walk `u`'s ranked recommendations best first, skipping items `u` has in train and items
///    already taken, until K items are taken (``cut(_:user:train:k:)``);
/// 2. score the cut list against `u`'s distinct test items with ``RankingMetrics``.
///
/// Recall, NDCG, HitRate, MRR and Precision are averaged over those users; a user without
/// recommendations is still counted and scores 0. Catalog coverage@K is
/// `|union of the cut lists of those users| / max(1, |distinct items in train|)`.
///
/// Users are summed in id order; the judge sums them in order of first appearance in its test
/// file, so the two can differ in the last bits of a double (never at four decimals in practice).
public enum TopKEvaluation {
    /// The first `k` items of `ranked` (best first) that `user` does not have in `train` and that
    /// are not repeats of earlier ones. O(len(ranked) * log(row length)).
    public static func cut(_ ranked: [Int32], user: Int, train: UserItemSets, k: Int) -> [Int32] {
        var top: [Int32] = []
        guard k > 0 else { return top }
        top.reserveCapacity(min(k, ranked.count))
        var used = Set<Int32>(minimumCapacity: min(k, ranked.count))
        for item in ranked {
            if train.contains(user: user, item: item) || used.contains(item) { continue }
            used.insert(item)
            top.append(item)
            if top.count == k { break }
        }
        return top
    }

    /// ``cut(_:user:train:k:)`` for every user: element `u` is user `u`'s cut list. Beyond-accuracy
    /// metrics (``BeyondAccuracy``) should read these, the lists the judge scores.
    public static func cutAll(recommendations: [[Int32]], train: UserItemSets, k: Int) -> [[Int32]] {
        recommendations.enumerated().map { cut($0.element, user: $0.offset, train: train, k: k) }
    }

    /// Scores ranked recommendations against a split.
    ///
    /// - Parameters:
    ///   - recommendations: element `u` is user `u`'s ranked list, best first; users past the
    ///     end, or with an empty list, have no recommendations.
    ///   - train: each user's training items (dropped before the cut; their union is the catalog).
    ///   - test: each user's test items; users with none are not scored.
    ///   - k: the cutoff, at least 1.
    /// - Throws: ``CascadeError/invalid(_:)`` when `k < 1` or no user has a test item.
    /// - Complexity: O(sum of list lengths walked * log(row length) + distinct items).
    public static func evaluate(recommendations: [[Int32]], train: UserItemSets, test: UserItemSets,
                                k: Int) throws(CascadeError) -> TopKMetrics {
        guard k >= 1 else { throw .invalid("k must be at least 1, got \(k)") }
        var users = 0
        var recall = 0.0, ndcg = 0.0, hit = 0.0, mrr = 0.0, precision = 0.0
        var shown = Set<Int32>()
        var hits: [Bool] = []
        for u in 0..<test.userCount {
            let testCount = test.count(of: u)
            if testCount == 0 { continue }
            users += 1
            let top = u < recommendations.count ? cut(recommendations[u], user: u, train: train, k: k) : []
            shown.formUnion(top)
            hits.removeAll(keepingCapacity: true)
            for item in top { hits.append(test.contains(user: u, item: item)) }
            recall += RankingMetrics.recall(hits: hits, testCount: testCount)
            ndcg += RankingMetrics.ndcg(hits: hits, testCount: testCount, k: k)
            hit += RankingMetrics.hitRate(hits: hits)
            mrr += RankingMetrics.reciprocalRank(hits: hits)
            precision += RankingMetrics.precision(hits: hits, k: k)
        }
        guard users > 0 else { throw .invalid("no user has a test item: nothing to score") }
        let n = Double(users)
        let catalog = train.distinctItemCount()
        return TopKMetrics(k: k, users: users, recall: recall / n, ndcg: ndcg / n, hitRate: hit / n,
                           mrr: mrr / n, precision: precision / n,
                           coverage: Double(shown.count) / Double(max(1, catalog)),
                           recommendedItems: shown.count, catalogItems: catalog)
    }
}
