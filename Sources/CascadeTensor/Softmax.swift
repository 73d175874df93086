import Foundation

/// Row-wise softmax and log-softmax over the last dimension, numerically stable: each row is
/// shifted by its maximum before exponentiation, so inputs of any magnitude (1e4, -1e4) give
/// finite results. Rows are independent; three passes per row (max, exp-sum, scale). O(rows cols).
extension Kernels {
    /// out[i, :] = exp(x[i, :] - max) / sum(exp(x[i, :] - max)). `out` may alias `x`.
    public static func softmaxRows(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for i in 0..<rows {
            let xr = x + i * cols, orow = out + i * cols
            let m = rowMax(xr, cols)
            let mv = SIMD8(repeating: m)
            unary(xr, orow, cols) { VectorMath.exp($0 - mv) }
            let s = sum(UnsafePointer(orow), cols)
            let inv = SIMD8(repeating: 1 / s)
            unary(orow, orow, cols) { $0 * inv }
        }
    }

    /// out[i, :] = x[i, :] - max - log(sum(exp(x[i, :] - max))). `out` may alias `x`.
    public static func logSoftmaxRows(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(cols, 1)) { tmp in
            let t = tmp.baseAddress!
            for i in 0..<rows {
                let xr = x + i * cols, orow = out + i * cols
                let m = rowMax(xr, cols)
                let mv = SIMD8(repeating: m)
                unary(xr, t, cols) { VectorMath.exp($0 - mv) }
                // (x - max) - log(sum): subtracting the sum of the two would round at the scale of max.
                let lse = SIMD8(repeating: Foundation.log(sum(UnsafePointer(t), cols)))
                unary(xr, orow, cols) { ($0 - mv) - lse }
            }
        }
    }

    /// Backward of softmax from its output y: out = y * (grad - sum(grad * y)) per row.
    public static func softmaxRowsBackward(output y: UnsafePointer<Float>, grad: UnsafePointer<Float>,
                                           _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for i in 0..<rows {
            let yr = y + i * cols, gr = grad + i * cols
            let d = SIMD8(repeating: dotKernel(yr, gr, cols))
            binary(yr, gr, out + i * cols, cols) { $0 * ($1 - d) }
        }
    }

    /// Largest element of a row (-inf for an empty row; NaN elements are skipped).
    static func rowMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = SIMD8<Float>(repeating: -.infinity)
        let xr = UnsafeRawPointer(x)
        var i = 0
        while i + 8 <= n {
            m = VectorMath.max(m, xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            i += 8
        }
        var r = VectorMath.horizontalMax(m)
        while i < n { if r < x[i] { r = x[i] }; i += 1 }
        return r
    }
}

extension Reference {
    /// Softmax of one row in Double. O(cols).
    public static func softmaxRow(_ x: [Float]) -> [Float] {
        let m = Double(x.max() ?? 0)
        let e = x.map { Foundation.exp(Double($0) - m) }
        let s = e.reduce(0, +)
        return e.map { Float($0 / s) }
    }

    /// Log-softmax of one row in Double. O(cols).
    public static func logSoftmaxRow(_ x: [Float]) -> [Float] {
        let m = Double(x.max() ?? 0)
        let s = x.map { Foundation.exp(Double($0) - m) }.reduce(0, +)
        return x.map { Float(Double($0) - m - Foundation.log(s)) }
    }
}

extension Tensor {
    /// Softmax over the last dimension (each row sums to 1). O(count).
    public func softmax() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        Kernels.softmaxRows(base, out.base, rows: shape.rows, cols: shape.last)
        return out
    }

    /// Log-softmax over the last dimension. O(count).
    public func logSoftmax() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        Kernels.logSoftmaxRows(base, out.base, rows: shape.rows, cols: shape.last)
        return out
    }
}
