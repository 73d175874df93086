import CascadeCore

/// Checking and padding of row-major batches on their way into an index. Every check runs
/// before anything is stored, so a rejected batch leaves the index unchanged. O(n d).
enum VectorBatch {
    /// Checks an `n x d` row-major buffer (finite components; non-zero rows for cosine) and
    /// returns it as `n x paddedDimension(d)` rows, L2-normalised when `metric` is `.cosine`.
    /// `role` names the operation in messages ("add", "search"); `ids`, when given, name rows.
    static func prepare(_ vectors: [Float], dimension d: Int, metric: VectorMetric, role: String,
                        ids: [Int32]? = nil) throws(CascadeError) -> (rows: Int, padded: [Float])
    {
        guard d > 0 else { throw .invalid("\(role): index dimension must be positive") }
        guard vectors.count % d == 0 else {
            throw .invalid("\(role): buffer has \(vectors.count) floats, which is not a whole number of \(d)-component rows")
        }
        let n = vectors.count / d
        if let ids, ids.count != n {
            throw .invalid("\(role): the buffer holds \(n) row\(n == 1 ? "" : "s") of dimension \(d) but \(ids.count) id\(ids.count == 1 ? " was" : "s were") given")
        }
        func rowName(_ r: Int) -> String { ids.map { "row \(r) (id \($0[r]))" } ?? "row \(r)" }
        let dp = DistanceKernels.paddedDimension(d)
        var out = [Float](repeating: 0, count: n * dp)
        var failure: CascadeError?
        vectors.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for r in 0..<n {
                    var norm2: Double = 0
                    for c in 0..<d {
                        let x = src[r * d + c]
                        if !x.isFinite {
                            failure = .invalid("\(role): \(rowName(r)) component \(c) is \(x); vectors must be finite")
                            return
                        }
                        norm2 += Double(x) * Double(x)
                        dst[r * dp + c] = x
                    }
                    if metric == .cosine {
                        guard norm2 > 0, norm2.isFinite else {
                            failure = .invalid("\(role): \(rowName(r)) has zero length, so it has no direction under the cosine metric")
                            return
                        }
                        let s = Float(1 / norm2.squareRoot())
                        for c in 0..<d { dst[r * dp + c] *= s }
                    }
                }
            }
        }
        if let failure { throw failure }
        return (n, out)
    }

    /// Checks that `ids` holds no repeats and none for which `exists` is true.
    static func checkNewIds(_ ids: [Int32], role: String, exists: (Int32) -> Bool) throws(CascadeError) {
        var firstRow: [Int32: Int] = [:]
        firstRow.reserveCapacity(ids.count)
        for (r, id) in ids.enumerated() {
            if exists(id) { throw .invalid("\(role): id \(id) at row \(r) is already in the index; remove it first") }
            if let prev = firstRow.updateValue(r, forKey: id) {
                throw .invalid("\(role): id \(id) appears twice in the batch, at rows \(prev) and \(r)")
            }
        }
    }

    /// Checks `k` and `threads` of a search call.
    static func checkSearch(k: Int, threads: Int) throws(CascadeError) {
        guard k > 0 else { throw .invalid("search: k must be positive, got \(k)") }
        guard threads > 0 else { throw .invalid("search: threads must be positive, got \(threads)") }
    }
}
