/// Maximal Marginal Relevance: Carbonell and Goldstein, "The Use of MMR, Diversity-Based
/// Reranking for Reordering Documents and Producing Summaries" (SIGIR 1998).
///
/// Picks greedily the item maximizing  lambda * score - (1 - lambda) * max_sim(item, picked),
/// where max_sim is the largest inner product with an already picked item (within the last
/// `window` picks when a window is given: the sliding-window form used in feeds).
/// lambda = 1 keeps the score order. O(n k d) for n candidates, k picks, d dimensions.
public enum MMR {
    public static func rerank(_ items: [RerankItem], k: Int, lambda: Float, window: Int? = nil) throws -> [RerankItem] {
        guard (0...1).contains(lambda) else { throw RerankError.invalid("MMR lambda must be in [0, 1], got \(lambda)") }
        if let w = window, w < 1 { throw RerankError.invalid("MMR window must be at least 1, got \(w)") }
        try Similarity.checkVectors(items, "MMR")
        var left = items
        var picked: [RerankItem] = []
        while picked.count < k, !left.isEmpty {
            let recent = window.map { Array(picked.suffix($0)) } ?? picked
            var best = 0
            var bestValue = -Float.infinity
            for (i, c) in left.enumerated() {
                let redundancy = recent.map { Similarity.dot($0.vector, c.vector) }.max() ?? 0
                let v = lambda * c.score - (1 - lambda) * redundancy
                if v > bestValue { bestValue = v; best = i }
            }
            picked.append(left.remove(at: best))
        }
        return picked
    }
}
