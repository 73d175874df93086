import CascadeCore

/// Lloyd's k-means (S. P. Lloyd, "Least squares quantization in PCM", IEEE Trans. Information
/// Theory 28(2), 1982), used as IVF's coarse quantizer as in H. Jegou, M. Douze and C. Schmid,
/// "Product quantization for nearest neighbor search", IEEE TPAMI 33(1), 2011.
///
/// Parameters: `k` centroids, `iterations` rounds of assign-then-average (IVF uses 10; its
/// recall barely moves after ~10), a seed for the initial centroids (k distinct training points).
/// An emptied cluster takes over half of the largest one (its centroid copied with a small
/// symmetric nudge), as faiss does. With `spherical`, centroids are renormalised to unit
/// length after each update (for cosine data). Points and centroids are padded rows (see
/// `DistanceKernels`). O(iterations n k d / threads) time, O(n + k d) memory.
enum KMeans {
    static func train(points: UnsafePointer<Float>, count n: Int, dp: Int, k: Int, iterations: Int, seed: UInt64,
                      spherical: Bool, threads: Int) -> [Float]
    {
        precondition(n >= k && k > 0, "k-means needs at least k points")
        var rng = SplitMix(seed: seed)
        // k distinct points by a partial Fisher-Yates shuffle.
        var order = Array(0..<n)
        for i in 0..<k { order.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
        var centroids = [Float](repeating: 0, count: k * dp)
        for c in 0..<k { for j in 0..<dp { centroids[c * dp + j] = points[order[c] * dp + j] } }
        var assignment = [Int32](repeating: 0, count: n)
        for _ in 0..<iterations {
            centroids.withUnsafeBufferPointer { cb in
                assignment = nearest(L2Space.self, queries: points, count: n, centroids: cb.baseAddress!, k: k, dp: dp,
                                     threads: threads)
            }
            var sums = [Double](repeating: 0, count: k * dp)
            var sizes = [Int](repeating: 0, count: k)
            for i in 0..<n {
                let c = Int(assignment[i])
                sizes[c] += 1
                for j in 0..<dp { sums[c * dp + j] += Double(points[i * dp + j]) }
            }
            for c in 0..<k where sizes[c] > 0 {
                for j in 0..<dp { centroids[c * dp + j] = Float(sums[c * dp + j] / Double(sizes[c])) }
            }
            // Split the largest cluster into each empty one.
            for c in 0..<k where sizes[c] == 0 {
                var big = 0
                for b in 0..<k where sizes[b] > sizes[big] { big = b }
                for j in 0..<dp {
                    let v = centroids[big * dp + j]
                    let nudge: Float = j % 2 == 0 ? 1 + 1.0 / 1024 : 1 - 1.0 / 1024
                    centroids[c * dp + j] = v * nudge
                    centroids[big * dp + j] = v / nudge
                }
                sizes[c] = sizes[big] / 2
                sizes[big] -= sizes[c]
            }
            if spherical { normalizeRows(&centroids, rows: k, dp: dp) }
        }
        return centroids
    }

    /// Scales every non-zero row to unit length.
    static func normalizeRows(_ rows: inout [Float], rows k: Int, dp: Int) {
        for c in 0..<k {
            var s: Float = 0
            for j in 0..<dp { s += rows[c * dp + j] * rows[c * dp + j] }
            if s > 0 {
                let inv = 1 / s.squareRoot()
                for j in 0..<dp { rows[c * dp + j] *= inv }
            }
        }
    }

    /// Index of the nearest centroid (smallest `S` distance) of every query row, four queries
    /// at a time against each centroid. Ties go to the lower centroid. O(count k d / threads).
    static func nearest<S: DistanceSpace>(_: S.Type, queries: UnsafePointer<Float>, count n: Int,
                                          centroids: UnsafePointer<Float>, k: Int, dp: Int, threads: Int) -> [Int32]
    {
        var out = [Int32](repeating: 0, count: n)
        let qp = SendablePointer(UnsafeMutablePointer(mutating: queries))
        let cp = SendablePointer(UnsafeMutablePointer(mutating: centroids))
        out.withUnsafeMutableBufferPointer { ob in
            let op = SendablePointer(ob.baseAddress!)
            let chunk = 256
            let chunks = (n + chunk - 1) / chunk
            let workers = max(1, min(threads, chunks))
            let per = (chunks + workers - 1) / workers
            Parallel.forEach(chunks: workers) { w in
                for c in (w * per)..<min(chunks, (w + 1) * per) {
                    var q = c * chunk
                    let end = min(n, q + chunk)
                    while q + 4 <= end {
                        var best = SIMD4<Float>(repeating: .infinity)
                        var arg = SIMD4<Int32>(repeating: 0)
                        for j in 0..<k {
                            let d = S.distance4(qp.base + q * dp, dp, cp.base + j * dp, dp)
                            let better = d .< best
                            best.replace(with: d, where: better)
                            arg.replace(with: SIMD4(repeating: Int32(j)), where: better)
                        }
                        for t in 0..<4 { op[q + t] = arg[t] }
                        q += 4
                    }
                    while q < end {
                        var best = Float.infinity, arg: Int32 = 0
                        for j in 0..<k {
                            let d = S.distance(qp.base + q * dp, cp.base + j * dp, dp)
                            if d < best {
                                best = d
                                arg = Int32(j)
                            }
                        }
                        op[q] = arg
                        q += 1
                    }
                }
            }
        }
        return out
    }
}

/// The index's generator: ``SplitMix64`` (its state is saved with HNSW graphs so later level
/// draws continue the stream).
typealias SplitMix = SplitMix64
