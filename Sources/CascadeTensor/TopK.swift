import CascadeCore
/// Selection of the k best scores of a vector (retrieval: the top items for a user).
///
/// A bounded min-heap keeps the current k best; a 16-lane pre-check skips whole chunks that
/// hold nothing above the heap's minimum, so a scan of n scores costs about n/16 vector
/// compares plus O(h log k) heap work for the h scores that enter the heap (about
/// k log(n/k) for random order). Ties go to the smaller index; NaN scores are ignored.
extension Kernels {
    /// Writes the `k` largest scores among `scores[0..<n]`, best first, to `outValues` and their
    /// positions to `outIndices`, and returns how many were written (fewer than k only when
    /// fewer than k scores are non-NaN). O(n + h log k) time, O(k) memory.
    @discardableResult
    public static func topK(_ scores: UnsafePointer<Float>, count n: Int, k: Int,
                            outIndices: UnsafeMutablePointer<Int32>, outValues: UnsafeMutablePointer<Float>) -> Int {
        if k <= 0 || n <= 0 { return 0 }
        let cap = Swift.min(k, n)
        // The heap lives in the output buffers: values and indices side by side.
        let hv = outValues, hi = outIndices
        var size = 0
        // a is worse than b: lower score, or equal score and larger index.
        @inline(__always) func worse(_ i: Int, _ j: Int) -> Bool {
            hv[i] < hv[j] || (hv[i] == hv[j] && hi[i] > hi[j])
        }
        @inline(__always) func swapAt(_ i: Int, _ j: Int) {
            let v = hv[i]; hv[i] = hv[j]; hv[j] = v
            let x = hi[i]; hi[i] = hi[j]; hi[j] = x
        }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < size && worse(l, m) { m = l }
                if r < size && worse(r, m) { m = r }
                if m == i { return }
                swapAt(i, m)
                i = m
            }
        }
        @inline(__always) func offer(_ v: Float, _ idx: Int) {
            if size < cap {
                if v.isNaN { return }
                hv[size] = v; hi[size] = Int32(truncatingIfNeeded: idx)
                var c = size
                size += 1
                while c > 0 {
                    let p = (c - 1) / 2
                    if worse(c, p) { swapAt(c, p); c = p } else { break }
                }
            } else if v > hv[0] {
                // Later indices lose ties, so only a strictly greater score enters.
                hv[0] = v; hi[0] = Int32(truncatingIfNeeded: idx)
                siftDown(0)
            }
        }
        let sr = UnsafeRawPointer(scores)
        var i = 0
        while i < n && size < cap { offer(scores[i], i); i += 1 }
        while i + 16 <= n {
            let chunk = sr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            // Lane-wise max seeded with the threshold: NaN lanes never win, so the reduced value
            // exceeds the threshold exactly when some score in the chunk does.
            let threshold = hv[0]
            if VectorMath.horizontalMax(VectorMath.max(SIMD16(repeating: threshold), chunk)) > threshold {
                for j in 0..<16 { offer(chunk[j], i + j) }
            }
            i += 16
        }
        while i < n { offer(scores[i], i); i += 1 }
        // Heap sort in place: repeatedly move the worst to the end, leaving best first.
        let found = size
        while size > 1 {
            swapAt(0, size - 1)
            size -= 1
            siftDown(0)
        }
        return found
    }
}

extension Reference {
    /// Top k by full sort (score descending, index ascending), NaN excluded. O(n log n).
    public static func topK(_ scores: [Float], k: Int) -> [(index: Int32, value: Float)] {
        scores.enumerated().filter { !$0.element.isNaN }
            .sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .prefix(Swift.max(k, 0)).map { (Int32($0.offset), $0.element) }
    }
}

extension Tensor {
    /// The k largest entries along the last dimension, best first: for shape [n] results have
    /// shape [k]; for [rows, n], shape [rows, k] (rows run in parallel). Where fewer than k
    /// scores are non-NaN, the remaining slots hold index -1 and value -inf. Throws for k < 0 or
    /// rank > 2. O(rows (n + h log k)).
    public func topK(_ k: Int, threads: Int? = nil) throws -> (indices: IndexTensor, values: Tensor) {
        guard k >= 0 else { throw TensorError.invalidArgument(op: "topK", reason: "k must be >= 0, got \(k)") }
        guard rank <= 2 else { throw TensorError.invalidArgument(op: "topK", reason: "scores must have rank 1 or 2, got \(shape)") }
        let rows = shape.rows, n = shape.last
        let outShape = rank == 1 ? Shape(k) : Shape(rows, k)
        let idx = IndexTensor(shape: outShape), vals = Tensor(shape: outShape)
        let ps = UncheckedBox(base), pi = UncheckedBox(idx.base), pv = UncheckedBox(vals.base)
        let t = rows > 1 && rows * n >= 1 << 15 ? threads : 1
        Parallel.ranges(rows, threads: t) { r in
            for row in r {
                let oi = pi.value + row * k, ov = pv.value + row * k
                let found = Kernels.topK(ps.value + row * n, count: n, k: k, outIndices: oi, outValues: ov)
                for j in found..<k { oi[j] = -1; ov[j] = -.infinity }
            }
        }
        return (idx, vals)
    }
}
