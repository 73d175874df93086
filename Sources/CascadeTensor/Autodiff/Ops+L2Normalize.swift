/// Row-wise L2 normalization, the last step of each tower in cosine-similarity retrieval.
extension Variable {
    /// y = x / sqrt(sum(x^2) + eps) along the last axis. Backward: dx = (g - y (g . y)) / n with
    /// n the row norm. O(n) both ways.
    public func l2Normalized(eps: Float = 1e-12) -> Variable {
        let d = value.shape.last, rows = value.shape.rows
        let out = Tensor(uninitializedShape: value.shape)
        var norms = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let x = value.base + r * d
            let n = (Kernels.dot(x, x, count: d) + eps).squareRoot()
            norms[r] = n
            Kernels.scale(x, by: 1 / n, out.base + r * d, count: d)
        }
        return tape.record(out, input: self, name: "l2Normalized") { tape, g in
            let dx = Tensor(uninitializedShape: g.shape)
            for r in 0..<rows {
                let y = out.base + r * d, gr = g.base + r * d, o = dx.base + r * d
                let gy = Kernels.dot(gr, y, count: d)
                Kernels.axpby(alpha: 1 / norms[r], gr, beta: -gy / norms[r], y, o, count: d)
            }
            try tape.accumulate(self, dx, fresh: true)
        }
    }
}
