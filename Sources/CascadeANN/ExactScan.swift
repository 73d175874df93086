import CascadeCore

/// Exact k-nearest search of query rows against base rows (both padded, see `DistanceKernels`).
///
/// Base rows are visited in blocks of `blockRows` that stay in L2 cache while every query of the
/// current group passes over them; queries go four at a time through `distance4`, sharing each
/// base load. Work is split over query chunks when there are enough queries, otherwise over base
/// ranges whose partial top-k lists are merged. O(nq nb d) time, O(nq k) extra memory.
enum ExactScan {
    static let blockRows = 512

    /// Pushes `-distance` of every base row in `rows` for the queries `q0..<q1` into `heaps`.
    /// `ids` maps a base row to its reported id (nil: the row number).
    @inline(__always)
    static func scan<S: DistanceSpace>(_: S.Type, queries: UnsafePointer<Float>, q0: Int, q1: Int,
                                       base: UnsafePointer<Float>, rows: Range<Int>, ids: UnsafePointer<Int32>?,
                                       dp: Int, heaps: UnsafeMutablePointer<TopK>)
    {
        var blockStart = rows.lowerBound
        while blockStart < rows.upperBound {
            let blockEnd = min(rows.upperBound, blockStart + blockRows)
            var q = q0
            while q + 4 <= q1 {
                let qp = queries + q * dp
                var t0 = heaps[q - q0].threshold, t1 = heaps[q - q0 + 1].threshold
                var t2 = heaps[q - q0 + 2].threshold, t3 = heaps[q - q0 + 3].threshold
                for r in blockStart..<blockEnd {
                    let s = -S.distance4(qp, dp, base + r * dp, dp)
                    let id = ids?[r] ?? Int32(truncatingIfNeeded: r)
                    if s[0] >= t0 { heaps[q - q0].push(id, s[0]); t0 = heaps[q - q0].threshold }
                    if s[1] >= t1 { heaps[q - q0 + 1].push(id, s[1]); t1 = heaps[q - q0 + 1].threshold }
                    if s[2] >= t2 { heaps[q - q0 + 2].push(id, s[2]); t2 = heaps[q - q0 + 2].threshold }
                    if s[3] >= t3 { heaps[q - q0 + 3].push(id, s[3]); t3 = heaps[q - q0 + 3].threshold }
                }
                q += 4
            }
            while q < q1 {
                let qp = queries + q * dp
                var t = heaps[q - q0].threshold
                for r in blockStart..<blockEnd {
                    let s = -S.distance(qp, base + r * dp, dp)
                    if s >= t {
                        heaps[q - q0].push(ids?[r] ?? Int32(truncatingIfNeeded: r), s)
                        t = heaps[q - q0].threshold
                    }
                }
                q += 1
            }
            blockStart = blockEnd
        }
    }

    /// The `k` nearest base rows of every query, best (smallest distance) first, as
    /// `(id, -distance)` pairs. `threads` bounds the workers.
    static func search<S: DistanceSpace>(_ space: S.Type, queries: UnsafePointer<Float>, nq: Int,
                                         base: UnsafePointer<Float>, nb: Int, ids: UnsafePointer<Int32>?,
                                         dp: Int, k: Int, threads: Int) -> [[VectorHit]]
    {
        var out = [[VectorHit]](repeating: [], count: nq)
        guard nq > 0 else { return out }
        let threads = max(1, threads)
        let qptr = SendablePointer(UnsafeMutablePointer(mutating: queries))
        let bptr = SendablePointer(UnsafeMutablePointer(mutating: base))
        let iptr = ids.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        out.withUnsafeMutableBufferPointer { ob in
            let optr = SendablePointer(ob.baseAddress!)
            if nq >= 4 * threads || threads == 1 || nb < 4 * blockRows {
                // Parallel over query chunks (multiples of 4 queries).
                let chunks = threads == 1 ? 1 : min(nq, threads * 4)
                let size = ((nq + chunks - 1) / chunks + 3) & ~3
                Parallel.forEach(chunks: min(chunks, (nq + size - 1) / size)) { c in
                    let q0 = c * size, q1 = min(nq, q0 + size)
                    guard q0 < q1 else { return }
                    var heaps = (q0..<q1).map { _ in TopK(k) }
                    heaps.withUnsafeMutableBufferPointer { h in
                        scan(S.self, queries: qptr.base, q0: q0, q1: q1, base: bptr.base, rows: 0..<nb,
                             ids: iptr?.base, dp: dp, heaps: h.baseAddress!)
                    }
                    for q in q0..<q1 { optr[q] = heaps[q - q0].sorted() }
                }
            } else {
                // Few queries: parallel over base ranges, then merge the partial lists.
                let pieces = threads
                let size = (nb + pieces - 1) / pieces
                var partial = [[TopK]](repeating: [], count: pieces)
                partial.withUnsafeMutableBufferPointer { pb in
                    let pp = SendablePointer(pb.baseAddress!)
                    Parallel.forEach(chunks: pieces) { p in
                        let lo = p * size, hi = min(nb, lo + size)
                        var heaps = (0..<nq).map { _ in TopK(k) }
                        if lo < hi {
                            heaps.withUnsafeMutableBufferPointer { h in
                                scan(S.self, queries: qptr.base, q0: 0, q1: nq, base: bptr.base, rows: lo..<hi,
                                     ids: iptr?.base, dp: dp, heaps: h.baseAddress!)
                            }
                        }
                        pp[p] = heaps
                    }
                }
                for q in 0..<nq {
                    var merged = TopK(k)
                    for p in 0..<pieces { for h in partial[p][q].sorted() { merged.push(h.id, h.score) } }
                    optr[q] = merged.sorted()
                }
            }
        }
        return out
    }

    /// Dispatches on the metric: results carry the public score (see `VectorIndex`).
    static func search(metric: VectorMetric, queries: UnsafePointer<Float>, nq: Int, base: UnsafePointer<Float>,
                       nb: Int, ids: UnsafePointer<Int32>?, dp: Int, k: Int, threads: Int) -> [[VectorHit]]
    {
        switch metric {
        case .l2:
            // Scores come back as -distance; flip to the distance itself.
            return search(L2Space.self, queries: queries, nq: nq, base: base, nb: nb, ids: ids, dp: dp, k: k,
                          threads: threads).map { $0.map { (id: $0.id, score: -$0.score) } }
        case .innerProduct, .cosine:
            return search(NegativeDotSpace.self, queries: queries, nq: nq, base: base, nb: nb, ids: ids, dp: dp,
                          k: k, threads: threads)
        }
    }
}
