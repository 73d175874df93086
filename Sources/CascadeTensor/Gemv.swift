import CascadeCore
/// Matrix-vector and vector-vector kernels (BLAS levels 1 and 2) on contiguous vectors.
extension Kernels {
    /// Matrix-vector product on a row-major m x n matrix A (row stride lda >= n):
    /// - trans == false: y (m) = alpha * A x + beta * y, x of length n;
    /// - trans == true:  y (n) = alpha * A^T x + beta * y, x of length m.
    /// When beta == 0, y is only written. Parallel over the output when large.
    /// O(m n) time; memory-bound for large A (each element of A is read once).
    public static func gemv(trans: Bool, m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>,
                            threads: Int? = nil) {
        precondition(m >= 0 && n >= 0 && lda >= Swift.max(1, n), "gemv: bad sizes m=\(m) n=\(n) lda=\(lda)")
        let outCount = trans ? n : m
        if outCount == 0 { return }
        let t = m * n >= 1 << 16 ? Parallel.resolve(threads) : 1
        let pa = UncheckedBox(a), px = UncheckedBox(x), py = UncheckedBox(y)
        if !trans {
            Parallel.ranges(m, threads: t, grain: 64) { r in
                gemvRows(rows: r, n: n, alpha: alpha, a: pa.value, lda: lda, x: px.value, beta: beta, y: py.value)
            }
        } else {
            Parallel.ranges(n, threads: t, grain: 256) { r in
                gemvColumns(cols: r, m: m, alpha: alpha, a: pa.value, lda: lda, x: px.value, beta: beta, y: py.value)
            }
        }
    }

    /// y[i] = alpha * dot(A[i, :], x) + beta * y[i] for i in `rows`, four rows per pass so each
    /// load of x feeds four rows.
    @inline(never)
    static func gemvRows(rows: Range<Int>, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                         x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        let xr = UnsafeRawPointer(x)
        let n16 = n & ~15
        var i = rows.lowerBound
        @inline(__always) func finish(_ i: Int, _ s: Float) {
            y[i] = beta == 0 ? alpha * s : alpha * s + beta * y[i]
        }
        while i + 4 <= rows.upperBound {
            let r0 = UnsafeRawPointer(a + i * lda), r1 = UnsafeRawPointer(a + (i + 1) * lda)
            let r2 = UnsafeRawPointer(a + (i + 2) * lda), r3 = UnsafeRawPointer(a + (i + 3) * lda)
            var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
            var o = 0
            while o < n16 * 4 {
                let xv = xr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
                s0.addProduct(r0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), xv)
                s1.addProduct(r1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), xv)
                s2.addProduct(r2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), xv)
                s3.addProduct(r3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self), xv)
                o += 64
            }
            var t0 = horizontalSum(s0), t1 = horizontalSum(s1), t2 = horizontalSum(s2), t3 = horizontalSum(s3)
            for j in n16..<n {
                let xj = x[j]
                t0 += a[i * lda + j] * xj; t1 += a[(i + 1) * lda + j] * xj
                t2 += a[(i + 2) * lda + j] * xj; t3 += a[(i + 3) * lda + j] * xj
            }
            finish(i, t0); finish(i + 1, t1); finish(i + 2, t2); finish(i + 3, t3)
            i += 4
        }
        while i < rows.upperBound {
            finish(i, dotKernel(a + i * lda, x, n))
            i += 1
        }
    }

    /// y[j] = alpha * sum_i A[i, j] x[i] + beta * y[j] for j in `cols`: accumulates blocks of
    /// up to 16384 columns in an L2-resident buffer, streaming four rows of A per pass (long
    /// contiguous runs per row keep the hardware prefetchers effective when lda is huge).
    @inline(never)
    static func gemvColumns(cols: Range<Int>, m: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        let width = Swift.min(16384, cols.count)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { buf in
            let acc = buf.baseAddress!
            let accr = UnsafeMutableRawPointer(acc)
            var j0 = cols.lowerBound
            while j0 < cols.upperBound {
                let w = Swift.min(width, cols.upperBound - j0)
                let w16 = w & ~15
                acc.update(repeating: 0, count: w)
                var i = 0
                while i + 4 <= m {
                    let x0 = SIMD16<Float>(repeating: x[i]), x1 = SIMD16<Float>(repeating: x[i + 1])
                    let x2 = SIMD16<Float>(repeating: x[i + 2]), x3 = SIMD16<Float>(repeating: x[i + 3])
                    let r0 = UnsafeRawPointer(a + i * lda + j0), r1 = UnsafeRawPointer(a + (i + 1) * lda + j0)
                    let r2 = UnsafeRawPointer(a + (i + 2) * lda + j0), r3 = UnsafeRawPointer(a + (i + 3) * lda + j0)
                    var o = 0
                    while o < w16 * 4 {
                        var v = accr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
                        v.addProduct(x0, r0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
                        v.addProduct(x1, r1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
                        v.addProduct(x2, r2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
                        v.addProduct(x3, r3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
                        accr.storeBytes(of: v, toByteOffset: o, as: SIMD16<Float>.self)
                        o += 64
                    }
                    for j in w16..<w {
                        acc[j] += x[i] * a[i * lda + j0 + j] + x[i + 1] * a[(i + 1) * lda + j0 + j]
                            + x[i + 2] * a[(i + 2) * lda + j0 + j] + x[i + 3] * a[(i + 3) * lda + j0 + j]
                    }
                    i += 4
                }
                while i < m {
                    axpyKernel(x[i], a + i * lda + j0, acc, w)
                    i += 1
                }
                for j in 0..<w {
                    y[j0 + j] = beta == 0 ? alpha * acc[j] : alpha * acc[j] + beta * y[j0 + j]
                }
                j0 += w
            }
        }
    }

    /// Sum of x[i] * y[i] over n contiguous elements. O(n).
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        dotKernel(x, y, n)
    }

    /// y += alpha * x over n contiguous elements. O(n).
    public static func axpy(alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count n: Int) {
        axpyKernel(alpha, x, y, n)
    }

    @inline(__always)
    static func dotKernel(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        let xr = UnsafeRawPointer(x), yr = UnsafeRawPointer(y)
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        var o = 0
        let n32 = (n & ~31) * 4, n16 = (n & ~15) * 4
        while o < n32 {
            s0.addProduct(xr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self),
                          yr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            s1.addProduct(xr.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self),
                          yr.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self))
            o += 128
        }
        if o < n16 {
            s0.addProduct(xr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self),
                          yr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
        }
        var s = horizontalSum(s0 + s1)
        for i in (n & ~15)..<n { s += x[i] * y[i] }
        return s
    }

    @inline(__always)
    static func axpyKernel(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let xr = UnsafeRawPointer(x), yr = UnsafeMutableRawPointer(y)
        let av = SIMD16<Float>(repeating: alpha)
        var o = 0
        let n16 = (n & ~15) * 4
        while o < n16 {
            var v = yr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            v.addProduct(av, xr.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            yr.storeBytes(of: v, toByteOffset: o, as: SIMD16<Float>.self)
            o += 64
        }
        for i in (n & ~15)..<n { y[i] += alpha * x[i] }
    }

    /// Pairwise sum of 16 lanes (a tree, not a serial chain).
    @inline(__always)
    static func horizontalSum(_ v: SIMD16<Float>) -> Float {
        let h = v.lowHalf + v.highHalf
        let q = h.lowHalf + h.highHalf
        return (q[0] + q[2]) + (q[1] + q[3])
    }
}

extension Reference {
    /// Naive GEMV with Double accumulation. O(m n).
    public static func gemv(trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        let outs = trans ? n : m, ins = trans ? m : n
        for o in 0..<outs {
            var s = 0.0
            for i in 0..<ins { s += Double(trans ? a[i * lda + o] : a[o * lda + i]) * Double(x[i]) }
            y[o] = Float(Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * Double(y[o])))
        }
    }

    /// Naive dot product with Double accumulation. O(n).
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        var s = 0.0
        for i in 0..<n { s += Double(x[i]) * Double(y[i]) }
        return Float(s)
    }

    /// Naive y += alpha * x. O(n).
    public static func axpy(alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { y[i] += alpha * x[i] }
    }
}
