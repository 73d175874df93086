import Foundation

/// Per-user top-K formulas over a cut recommendation list.
///
/// `hits[i]` is true when the item at rank `i + 1` of the list (after dropping training items
/// and repeats, and cutting at K; see ``TopKEvaluation/cut(_:user:train:k:)``) is in the user's
/// test set; `testCount` is the number of distinct test items `|T|`. Each is O(K).
public enum RankingMetrics {
    /// Recall@K = hits / |T|.
    public static func recall(hits: [Bool], testCount: Int) -> Double {
        testCount > 0 ? Double(hitCount(hits)) / Double(testCount) : 0
    }

    /// NDCG@K with binary gain:
    ///
    ///     DCG  = sum over i < len(hits) of hits[i] / log2(i + 2)
    ///     IDCG = sum over i < min(K, |T|) of 1 / log2(i + 2)
    ///     NDCG = DCG / IDCG
    ///
    /// Sums run in rank order, as the judge adds them.
    public static func ndcg(hits: [Bool], testCount: Int, k: Int) -> Double {
        let ideal = min(k, testCount)
        guard ideal > 0 else { return 0 }
        var dcg = 0.0
        for (i, h) in hits.enumerated() { dcg += (h ? 1.0 : 0.0) / log2(Double(i + 2)) }
        var idcg = 0.0
        for i in 0..<ideal { idcg += 1.0 / log2(Double(i + 2)) }
        return dcg / idcg
    }

    /// HitRate@K = 1 when at least one item of the list is in the test set, else 0.
    public static func hitRate(hits: [Bool]) -> Double { hits.contains(true) ? 1 : 0 }

    /// Reciprocal rank within K: 1 / (rank of the first hit), 0 without a hit. Averaged over
    /// users this is MRR@K.
    public static func reciprocalRank(hits: [Bool]) -> Double {
        guard let i = hits.firstIndex(of: true) else { return 0 }
        return 1.0 / Double(i + 1)
    }

    /// Precision@K = hits / K (K, not the list length: a short list is not rewarded).
    public static func precision(hits: [Bool], k: Int) -> Double {
        k > 0 ? Double(hitCount(hits)) / Double(k) : 0
    }

    static func hitCount(_ hits: [Bool]) -> Int { hits.reduce(0) { $0 + ($1 ? 1 : 0) } }
}
