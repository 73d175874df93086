/// Tensor-level linear algebra: matrix products, matrix-vector products, dot products.
/// Shapes are checked and reported by `TensorError`; the work is done by `Kernels.gemm` and
/// `Kernels.gemv`. Backward passes map onto the same calls: for C = A B, dA = dC B^T
/// (`transposeB`) and dB = A^T dC (`transposeA`), accumulated with beta = 1.
extension Tensor {
    /// op(self) x op(other) for rank-2 tensors (op = transpose when the flag is set): an m x n
    /// result for op(self) m x k and op(other) k x n. O(m n k).
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false,
                       threads: Int? = nil) throws -> Tensor {
        let (m, k, n) = try Tensor.productDims("matmul", self, transposeSelf, other, transposeOther)
        let c = Tensor(uninitializedShape: Shape(m, n))
        Kernels.gemm(transA: transposeSelf, transB: transposeOther, m: m, n: n, k: k,
                     a: base, lda: shape[1], b: other.base, ldb: other.shape[1],
                     beta: 0, c: c.base, ldc: n, threads: threads)
        return c
    }

    /// c = alpha op(a) op(b) + beta c, writing into the existing rank-2 tensor `c`, which must be
    /// m x n and must not overlap `a` or `b`. O(m n k).
    public static func gemm(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                            alpha: Float = 1, beta: Float = 0, threads: Int? = nil) throws {
        let (m, k, n) = try productDims("gemm", a, transposeA, b, transposeB)
        guard c.rank == 2, c.shape[0] == m, c.shape[1] == n else {
            throw TensorError.shapeMismatch(op: "gemm", lhs: Shape(m, n), rhs: c.shape,
                                            reason: "output must be [\(m), \(n)] for op(A) [\(m), \(k)] x op(B) [\(k), \(n)]")
        }
        guard !c.overlaps(a), !c.overlaps(b) else {
            throw TensorError.invalidArgument(op: "gemm", reason: "output \(c.shape) overlaps an input")
        }
        Kernels.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha,
                     a: a.base, lda: a.shape[1], b: b.base, ldb: b.shape[1],
                     beta: beta, c: c.base, ldc: n, threads: threads)
    }

    /// self (m x n) times vector x: shape [m] with x of shape [n]; with `transpose`, self^T x of
    /// shape [n] with x of shape [m]. O(m n).
    public func matvec(_ x: Tensor, transpose: Bool = false, threads: Int? = nil) throws -> Tensor {
        guard rank == 2, x.rank == 1, x.count == (transpose ? shape[0] : shape[1]) else {
            throw TensorError.shapeMismatch(op: "matvec", lhs: shape, rhs: x.shape,
                                            reason: "vector length must equal the \(transpose ? "row" : "column") count of a rank-2 matrix")
        }
        let y = Tensor(uninitializedShape: Shape(transpose ? shape[1] : shape[0]))
        Kernels.gemv(trans: transpose, m: shape[0], n: shape[1], a: base, lda: shape[1], x: x.base, y: y.base, threads: threads)
        return y
    }

    /// Sum of element-wise products; shapes must be equal. O(count).
    public func dot(_ other: Tensor) throws -> Float {
        try requireSameShape(other, "dot")
        return Kernels.dot(base, other.base, count: count)
    }

    /// The matrix transposed into a new tensor (rank 2 only). O(m n).
    public func transposed() throws -> Tensor {
        guard rank == 2 else { throw TensorError.invalidArgument(op: "transposed", reason: "needs rank 2, got \(shape)") }
        let m = shape[0], n = shape[1]
        let out = Tensor(uninitializedShape: Shape(n, m))
        let s = base, d = out.base
        let tile = 32
        for i0 in stride(from: 0, to: m, by: tile) {
            for j0 in stride(from: 0, to: n, by: tile) {
                for i in i0..<Swift.min(i0 + tile, m) {
                    for j in j0..<Swift.min(j0 + tile, n) { d[j * m + i] = s[i * n + j] }
                }
            }
        }
        return out
    }

    /// True when the element ranges of the two tensors intersect.
    func overlaps(_ other: Tensor) -> Bool {
        storage === other.storage && offset < other.offset + other.count && other.offset < offset + count
            && count > 0 && other.count > 0
    }

    /// (m, k, n) of op(a) x op(b), or a shape-mismatch error naming both shapes.
    static func productDims(_ op: String, _ a: Tensor, _ ta: Bool, _ b: Tensor, _ tb: Bool) throws -> (Int, Int, Int) {
        guard a.rank == 2, b.rank == 2 else {
            throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape, reason: "both operands must have rank 2")
        }
        let m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1]
        let k2 = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1]
        guard k == k2 else {
            throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape,
                                            reason: "inner dimensions differ (\(k) vs \(k2))"
                                                + (ta || tb ? " with transposeA=\(ta) transposeB=\(tb)" : ""))
        }
        return (m, k, n)
    }
}
