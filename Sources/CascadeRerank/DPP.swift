import Foundation

/// Determinantal point process re-ranking with fast greedy MAP inference: Chen, Zhang and Zhou,
/// "Fast Greedy MAP Inference for Determinantal Point Process to Improve Recommendation
/// Diversity" (NeurIPS 2018).
///
/// Kernel L = diag(q) S diag(q) with quality q_i = exp(theta * score_i) (theta trades relevance
/// for diversity, as the paper's alpha) and S_ij the inner product of item vectors (cosine for
/// unit vectors), plus `epsilon` on the diagonal. Greedy MAP adds the item with the largest
/// marginal gain log det(L_{Y+i}) - log det(L_Y) = log d_i^2, where d_i^2 is maintained by
/// incremental Cholesky updates: for the new pick j, e_i = (L_ji - <c_j, c_i>) / d_j,
/// c_i <- [c_i, e_i], d_i^2 <- d_i^2 - e_i^2. With a `window` w, only the last w picks count
/// (the paper's sliding-window variant): the Cholesky rows are rebuilt from those picks when the
/// window slides. O(n k^2) time overall without a window (O(n k w) with one), O(n k) memory.
/// Stops early when no item has positive gain left (d_i^2 <= `minGain`), then fills by score.
public enum DPP {
    public static func rerank(_ items: [RerankItem], k: Int, theta: Float = 1, window: Int? = nil,
                              epsilon: Float = 1e-6, minGain: Float = 1e-10) throws -> [RerankItem] {
        try Similarity.checkVectors(items, "DPP")
        if let w = window, w < 1 { throw RerankError.invalid("DPP window must be at least 1, got \(w)") }
        let n = items.count
        let k = Swift.min(k, n)
        guard k > 0 else { return [] }
        let q = items.map { Foundation.exp(Double(theta * $0.score)) }
        // The kernel L_ij = q_i (S_ij + eps [i = j]) q_j, computed once (the sliding window
        // reads each entry many times). O(n^2 d).
        var lmat = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                let s = Double(Similarity.dot(items[i].vector, items[j].vector)) + (i == j ? Double(epsilon) : 0)
                lmat[i * n + j] = q[i] * s * q[j]
                lmat[j * n + i] = lmat[i * n + j]
            }
        }
        func kernel(_ i: Int, _ j: Int) -> Double { lmat[i * n + j] }
        var chosen: [Int] = []
        var taken = [Bool](repeating: false, count: n)
        var c = [[Double]](repeating: [], count: n)  // Cholesky rows per candidate
        var d2 = (0..<n).map { kernel($0, $0) }
        /// Adds pick j to the factorization (Chen et al., Algorithm 1): every item in `update`
        /// gets e_i = (L_ji - <c_j, c_i>) / d_j appended and d_i^2 reduced by e_i^2.
        func absorb(_ j: Int, update: (Int) -> Bool) {
            let dj = d2[j].squareRoot()
            guard dj > 0 else { return }
            let cj = c[j]
            for i in 0..<n where i != j && update(i) {
                var dotc = 0.0
                for t in 0..<cj.count { dotc += cj[t] * c[i][t] }
                let e = (kernel(j, i) - dotc) / dj
                c[i].append(e)
                d2[i] -= e * e
            }
        }
        while chosen.count < k {
            var best = -1
            var bestGain = Double(minGain)
            for i in 0..<n where !taken[i] && d2[i] > bestGain { best = i; bestGain = d2[i] }
            guard best >= 0 else { break }
            chosen.append(best)
            taken[best] = true
            if let w = window {
                // Sliding window: gains count only the last w - 1 picks, so the factorization is
                // rebuilt over them in pick order (each pick's row against the earlier ones).
                let recent = Array(chosen.suffix(w - 1))
                for i in 0..<n { c[i].removeAll(keepingCapacity: true); d2[i] = kernel(i, i) }
                var absorbed = Set<Int>()
                for j in recent {
                    absorbed.insert(j)
                    absorb(j) { !absorbed.contains($0) }
                }
            } else {
                absorb(best) { !taken[$0] }
            }
        }
        var out = chosen.map { items[$0] }
        if out.count < k {
            let rest = (0..<n).filter { !taken[$0] }.sorted { items[$0].score > items[$1].score }
            out += rest.prefix(k - out.count).map { items[$0] }
        }
        return out
    }

    /// log det(L_Y) of a set, by a dense Cholesky (reference for tests). O(|Y|^3).
    public static func logDet(_ items: [RerankItem], theta: Float = 1, epsilon: Float = 1e-6) -> Double {
        let m = items.count
        var a = [[Double]](repeating: [Double](repeating: 0, count: m), count: m)
        for i in 0..<m {
            for j in 0..<m {
                let s = Double(Similarity.dot(items[i].vector, items[j].vector)) + (i == j ? Double(epsilon) : 0)
                a[i][j] = Foundation.exp(Double(theta * items[i].score)) * s * Foundation.exp(Double(theta * items[j].score))
            }
        }
        var logdet = 0.0
        for j in 0..<m {
            var s = a[j][j]
            for t in 0..<j { s -= a[j][t] * a[j][t] }
            guard s > 0 else { return -.infinity }
            let l = s.squareRoot()
            a[j][j] = l
            logdet += 2 * Foundation.log(l)
            for i in (j + 1)..<m {
                var v = a[i][j]
                for t in 0..<j { v -= a[i][t] * a[j][t] }
                a[i][j] = v / l
            }
        }
        return logdet
    }
}
