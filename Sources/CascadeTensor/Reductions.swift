/// Sums over whole buffers, rows and columns, in eight-lane SIMD with several accumulators.
extension Kernels {
    /// Sum of n contiguous elements (pairwise over lanes). O(n).
    public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let xr = UnsafeRawPointer(x)
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= n {
            s0 += xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            s1 += xr.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self)
            i += 32
        }
        if i + 16 <= n { s0 += xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self); i += 16 }
        var r = horizontalSum(s0 + s1)
        while i < n { r += x[i]; i += 1 }
        return r
    }

    /// out[i] = sum over j of x[i, j] (one total per row) for a rows x cols matrix. O(rows cols).
    public static func rowSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<rows { out[i] = sum(x + i * cols, cols) }
    }

    /// out[j] = sum over i of x[i, j] (one total per column), accumulated row by row so the
    /// reads stay sequential. O(rows cols).
    public static func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: cols)
        for i in 0..<rows { binary(UnsafePointer(out), x + i * cols, out, cols) { $0 + $1 } }
    }
}

extension Reference {
    /// Double-accumulated row totals. O(rows cols).
    public static func rowSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float] {
        (0..<rows).map { i in Float((0..<cols).reduce(0.0) { $0 + Double(x[i * cols + $1]) }) }
    }

    /// Double-accumulated column totals. O(rows cols).
    public static func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float] {
        (0..<cols).map { j in Float((0..<rows).reduce(0.0) { $0 + Double(x[$1 * cols + j]) }) }
    }
}

extension Tensor {
    /// Sum of all elements. O(count).
    public func sum() -> Float { Kernels.sum(base, count) }

    /// Sum along `axis`, dropping it: axis 0 reduces the first dimension (for a matrix, the
    /// column totals, shape [cols]); axis rank-1 reduces the last (row totals, shape [rows]).
    /// Other axes, and reducing a rank-1 tensor (use `sum()`), throw. O(count).
    public func sum(axis: Int) throws -> Tensor {
        guard rank >= 2, axis == 0 || axis == rank - 1 else {
            throw TensorError.invalidArgument(
                op: "sum(axis:)", reason: "axis \(axis) of \(shape): only the first or last axis of a rank >= 2 tensor")
        }
        let dims = shape.dims
        if axis == 0 {
            let out = Tensor(uninitializedShape: Shape(Array(dims.dropFirst())))
            Kernels.columnSums(base, rows: dims[0], cols: out.count, out.base)
            return out
        }
        let out = Tensor(uninitializedShape: Shape(Array(dims.dropLast())))
        Kernels.rowSums(base, rows: shape.rows, cols: shape.last, out.base)
        return out
    }
}
