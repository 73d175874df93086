/// The register-blocked core of SGEMM: a 6x16 micro-kernel over packed panels.
///
/// Packed A micro-panel: for each p in 0..<kc, the 6 values op(A)[i0..<i0+6, p] (zero padded).
/// Packed B micro-panel: for each p in 0..<kc, the 16 values op(B)[p, j0..<j0+16] (zero padded).
/// The kernel keeps the 6x16 tile of C in 12 eight-lane accumulators (12 of the 16 AVX2
/// registers), and per step of p issues 2 vector loads of B, 6 broadcasts of A and 12 fused
/// multiply-adds: 192 flops per step. O(kc) per call.
///
/// These functions are deliberately not `@inlinable`: they must be compiled inside this module,
/// which is built for AVX2+FMA, never re-compiled into a client built for baseline x86-64.
enum GemmKernel {
    static let mr = 6
    static let nr = 16

    /// C[0..<6, 0..<16] = alpha * (A * Bpanel) + beta * C, with C row stride `ldc`, where
    /// A[r, p] = a[r * rs + p * cs]: a packed panel has rs = 1, cs = 6; rows read in place from a
    /// row-major matrix have rs = lda, cs = 1. When beta == 0, C is not read (it may hold NaN).
    @inline(__always)
    static func full(kc: Int, a: UnsafePointer<Float>, rs: Int, cs: Int, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
        var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
        var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
        var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        var pa = a, pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = pb.loadUnaligned(as: SIMD8<Float>.self)
            let b1 = pb.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            var x = SIMD8<Float>(repeating: pa[0])
            c00.addProduct(x, b0); c01.addProduct(x, b1)
            x = SIMD8<Float>(repeating: pa[rs])
            c10.addProduct(x, b0); c11.addProduct(x, b1)
            x = SIMD8<Float>(repeating: pa[2 * rs])
            c20.addProduct(x, b0); c21.addProduct(x, b1)
            x = SIMD8<Float>(repeating: pa[3 * rs])
            c30.addProduct(x, b0); c31.addProduct(x, b1)
            x = SIMD8<Float>(repeating: pa[4 * rs])
            c40.addProduct(x, b0); c41.addProduct(x, b1)
            x = SIMD8<Float>(repeating: pa[5 * rs])
            c50.addProduct(x, b0); c51.addProduct(x, b1)
            pa += cs
            pb += 64
        }
        let cr = UnsafeMutableRawPointer(c), rowBytes = ldc * 4
        store(cr, c00, c01, alpha, beta)
        store(cr + rowBytes, c10, c11, alpha, beta)
        store(cr + 2 * rowBytes, c20, c21, alpha, beta)
        store(cr + 3 * rowBytes, c30, c31, alpha, beta)
        store(cr + 4 * rowBytes, c40, c41, alpha, beta)
        store(cr + 5 * rowBytes, c50, c51, alpha, beta)
    }

    @inline(__always)
    static func store(_ p: UnsafeMutableRawPointer, _ v0: SIMD8<Float>, _ v1: SIMD8<Float>, _ alpha: Float, _ beta: Float) {
        var r0 = v0 * alpha, r1 = v1 * alpha
        if beta != 0 {
            r0.addProduct(SIMD8(repeating: beta), p.loadUnaligned(as: SIMD8<Float>.self))
            r1.addProduct(SIMD8(repeating: beta), p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
        }
        p.storeBytes(of: r0, as: SIMD8<Float>.self)
        p.storeBytes(of: r1, toByteOffset: 32, as: SIMD8<Float>.self)
    }

    /// Edge tile: only the top-left `rows x cols` (rows <= 6, cols <= 16) of the 6x16 result
    /// is written to C; the full tile is computed in a temporary (packed panels are zero padded;
    /// A read in place must have 6 readable rows).
    @inline(never)
    static func edge(kc: Int, a: UnsafePointer<Float>, rs: Int, cs: Int, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int, alpha: Float, beta: Float) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: mr * nr) { tmp in
            let t = tmp.baseAddress!
            if rs == 1 && cs == mr {
                full(kc: kc, a: a, rs: 1, cs: mr, b: b, c: t, ldc: nr, alpha: alpha, beta: 0)
            } else {
                full(kc: kc, a: a, rs: rs, cs: cs, b: b, c: t, ldc: nr, alpha: alpha, beta: 0)
            }
            for i in 0..<rows {
                let crow = c + i * ldc, trow = t + i * nr
                if beta == 0 {
                    for j in 0..<cols { crow[j] = trow[j] }
                } else {
                    for j in 0..<cols { crow[j] = trow[j] + beta * crow[j] }
                }
            }
        }
    }
}
