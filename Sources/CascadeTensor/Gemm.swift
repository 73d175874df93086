import CascadeCore
/// Raw-pointer kernels behind the tensor ops. Matrices are row-major with a leading
/// dimension (row stride, in elements). All kernels are compiled in this module only (none is
/// `@inlinable`) so they always run with the AVX2+FMA code generation the target is built with.
public enum Kernels {}

/// Naive, obviously-correct implementations of every kernel, used by the tests to check the
/// optimized ones and handy for debugging. Slow by design.
public enum Reference {}

/// Cache blocking of `Kernels.gemm`, in elements. The defaults keep a kc x 16 micro-panel of
/// packed B (16 KB) in L1, an mc x kc block of A (168 KB) in L2 and a kc x nc block of packed B
/// in L3. Other values are for tuning and tests; mc is rounded to a multiple of 6 and nc to a
/// multiple of 16.
public struct GemmBlocking: Sendable, Equatable {
    public var kc: Int, mc: Int, nc: Int
    public init(kc: Int, mc: Int, nc: Int) {
        self.kc = Swift.max(1, kc)
        self.mc = Swift.max(1, (mc + 5) / 6) * 6
        self.nc = Swift.max(1, (nc + 15) / 16) * 16
    }
    public static let `default` = GemmBlocking(kc: 256, mc: 168, nc: 4096)
}

extension Kernels {
    /// Below this many flops (2mnk) a GEMM runs on one thread.
    static let parallelFlops = 1 << 21

    /// General matrix multiply: C = alpha * op(A) * op(B) + beta * C, with op(A) m x k,
    /// op(B) k x n, C m x n.
    ///
    /// - A is stored m x k (lda >= k), or k x m (lda >= m) when `transA`.
    /// - B is stored k x n (ldb >= n), or n x k (ldb >= k) when `transB`.
    /// - When beta == 0, C is only written (it may hold garbage).
    /// - m == 1 or n == 1 take a GEMV path (a user vector against an item table).
    /// - With more than one thread and enough work, the M or N range is split across threads.
    ///
    /// Complexity O(m n k) time; O(kc (mc + nc)) scratch, reused between calls.
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                            c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int? = nil,
                            blocking: GemmBlocking = .default) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=\(m) n=\(n) k=\(k)")
        precondition(lda >= Swift.max(1, transA ? m : k), "gemm: lda=\(lda) too small")
        precondition(ldb >= Swift.max(1, transB ? k : n), "gemm: ldb=\(ldb) too small")
        precondition(ldc >= Swift.max(1, n), "gemm: ldc=\(ldc) too small")
        if m == 0 || n == 0 { return }
        if k == 0 || alpha == 0 { scaleMatrix(c, rows: m, cols: n, ld: ldc, by: beta); return }
        if m == 1 { gemmRowVector(transA: transA, transB: transB, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                  b: b, ldb: ldb, beta: beta, c: c, threads: threads); return }
        if n == 1 { gemmColumnVector(transA: transA, transB: transB, m: m, k: k, alpha: alpha, a: a, lda: lda,
                                     b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads); return }

        let t = Parallel.resolve(threads)
        let flops = 2 * m * n * k
        if t == 1 || flops < parallelFlops {
            gemmSerial(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, blocking: blocking)
            return
        }
        // Each part packs its own copy of the other operand; splitting the longer side keeps that
        // duplicated packing small relative to the part's work.
        let pa = UncheckedBox(a), pb = UncheckedBox(b), pc = UncheckedBox(c)
        if m >= n {
            Parallel.ranges(m, threads: t, grain: GemmKernel.mr) { r in
                gemmSerial(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
                           a: transA ? pa.value + r.lowerBound : pa.value + r.lowerBound * lda, lda: lda,
                           b: pb.value, ldb: ldb, beta: beta, c: pc.value + r.lowerBound * ldc, ldc: ldc, blocking: blocking)
            }
        } else {
            Parallel.ranges(n, threads: t, grain: GemmKernel.nr) { r in
                gemmSerial(transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha,
                           a: pa.value, lda: lda,
                           b: transB ? pb.value + r.lowerBound * ldb : pb.value + r.lowerBound, ldb: ldb,
                           beta: beta, c: pc.value + r.lowerBound, ldc: ldc, blocking: blocking)
            }
        }
    }

    /// One-thread blocked GEMM (BLIS loop order: N blocks, K blocks, M blocks, then 16-column and
    /// 6-row micro-tiles). B is always packed. A that is not transposed is read in place: a
    /// 6-row strip of row-major A is already six contiguous streams along k, and skipping its
    /// packing is worth ~10% when k or n is small (4096x64x64). Transposed A, and a final strip
    /// of fewer than 6 rows, are packed.
    static func gemmSerial(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, blocking: GemmBlocking) {
        let mr = GemmKernel.mr, nr = GemmKernel.nr
        let kc = blocking.kc, mc = blocking.mc, nc = blocking.nc
        let ncMax = Swift.min(nc, roundUp(n, nr)), kcMax = Swift.min(kc, k)
        let mcMax = Swift.min(mc, roundUp(m, mr))
        ScratchPool.shared.with(count: kcMax * ncMax) { bPack in
            ScratchPool.shared.with(count: kcMax * mcMax) { aPack in
                var jc = 0
                while jc < n {
                    let ncur = Swift.min(nc, n - jc)
                    var pc = 0
                    while pc < k {
                        let kcur = Swift.min(kc, k - pc)
                        let betaNow: Float = pc == 0 ? beta : 1
                        GemmPacking.packB(transB: transB, b: b, ldb: ldb, p0: pc, j0: jc, kc: kcur, nc: ncur, into: bPack)
                        var ic = 0
                        while ic < m {
                            let mcur = Swift.min(mc, m - ic)
                            let ct = c + ic * ldc + jc
                            if !transA {
                                // Whole 6-row strips are read in place (rows are contiguous in p);
                                // only a final partial strip is packed, with zero padding.
                                let whole = mcur / mr * mr
                                if whole > 0 {
                                    macroKernel(mc: whole, nc: ncur, kc: kcur, a: a + ic * lda + pc, lda: lda, direct: true,
                                                bPack: bPack, c: ct, ldc: ldc, alpha: alpha, beta: betaNow)
                                }
                                if whole < mcur {
                                    GemmPacking.packA(transA: false, a: a, lda: lda, i0: ic + whole, p0: pc, mc: mcur - whole,
                                                      kc: kcur, into: aPack)
                                    macroKernel(mc: mcur - whole, nc: ncur, kc: kcur, a: aPack, lda: 0, direct: false,
                                                bPack: bPack, c: ct + whole * ldc, ldc: ldc, alpha: alpha, beta: betaNow)
                                }
                            } else {
                                GemmPacking.packA(transA: true, a: a, lda: lda, i0: ic, p0: pc, mc: mcur, kc: kcur, into: aPack)
                                macroKernel(mc: mcur, nc: ncur, kc: kcur, a: aPack, lda: 0, direct: false,
                                            bPack: bPack, c: ct, ldc: ldc, alpha: alpha, beta: betaNow)
                            }
                            ic += mcur
                        }
                        pc += kcur
                    }
                    jc += ncur
                }
            }
        }
    }

    /// Runs the micro-kernel over every 6x16 tile of an mc x nc block of C. A is either packed
    /// panels (`direct == false`) or rows read in place with stride `lda` (`direct == true`,
    /// only with mc a multiple of 6).
    static func macroKernel(mc: Int, nc: Int, kc: Int, a: UnsafePointer<Float>, lda: Int, direct: Bool,
                            bPack: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
                            alpha: Float, beta: Float) {
        let mr = GemmKernel.mr, nr = GemmKernel.nr
        var jr = 0
        while jr < nc {
            let cols = Swift.min(nr, nc - jr)
            let bp = UnsafePointer(bPack + jr * kc)
            var ir = 0
            while ir < mc {
                let rows = Swift.min(mr, mc - ir)
                let ct = c + ir * ldc + jr
                if direct {
                    let ap = a + ir * lda
                    if cols == nr {
                        GemmKernel.full(kc: kc, a: ap, rs: lda, cs: 1, b: bp, c: ct, ldc: ldc, alpha: alpha, beta: beta)
                    } else {
                        GemmKernel.edge(kc: kc, a: ap, rs: lda, cs: 1, b: bp, c: ct, ldc: ldc,
                                        rows: rows, cols: cols, alpha: alpha, beta: beta)
                    }
                } else {
                    let ap = a + ir * kc
                    if rows == mr && cols == nr {
                        GemmKernel.full(kc: kc, a: ap, rs: 1, cs: mr, b: bp, c: ct, ldc: ldc, alpha: alpha, beta: beta)
                    } else {
                        GemmKernel.edge(kc: kc, a: ap, rs: 1, cs: mr, b: bp, c: ct, ldc: ldc,
                                        rows: rows, cols: cols, alpha: alpha, beta: beta)
                    }
                }
                ir += mr
            }
            jr += nr
        }
    }

    /// C (1 x n) = alpha * a (1 x k) * op(B) + beta * C, as a GEMV over B.
    static func gemmRowVector(transA: Bool, transB: Bool, n: Int, k: Int, alpha: Float,
                              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                              beta: Float, c: UnsafeMutablePointer<Float>, threads: Int?) {
        withContiguous(a, count: k, stride: transA ? lda : 1) { x in
            if transB {
                // op(B) = B^T with B stored n x k: c[j] = dot(B[j, :], x).
                gemv(trans: false, m: n, n: k, alpha: alpha, a: b, lda: ldb, x: x, beta: beta, y: c, threads: threads)
            } else {
                gemv(trans: true, m: k, n: n, alpha: alpha, a: b, lda: ldb, x: x, beta: beta, y: c, threads: threads)
            }
        }
    }

    /// C (m x 1) = alpha * op(A) * b (k x 1) + beta * C, as a GEMV over A.
    static func gemmColumnVector(transA: Bool, transB: Bool, m: Int, k: Int, alpha: Float,
                                 a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                 beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int?) {
        withContiguous(b, count: k, stride: transB ? 1 : ldb) { x in
            ScratchPool.shared.with(count: m) { y in
                if beta != 0 { for i in 0..<m { y[i] = c[i * ldc] } }
                gemv(trans: transA, m: transA ? k : m, n: transA ? m : k, alpha: alpha, a: a, lda: lda,
                     x: x, beta: beta, y: y, threads: threads)
                for i in 0..<m { c[i * ldc] = y[i] }
            }
        }
    }

    /// Calls `body` with `count` values read at `stride`, copying them only when strided.
    static func withContiguous<R>(_ p: UnsafePointer<Float>, count: Int, stride: Int,
                                  _ body: (UnsafePointer<Float>) -> R) -> R {
        if stride == 1 { return body(p) }
        return ScratchPool.shared.with(count: count) { t in
            for i in 0..<count { t[i] = p[i * stride] }
            return body(UnsafePointer(t))
        }
    }

    /// C = beta * C over an m x n block (beta == 0 writes zeros without reading).
    static func scaleMatrix(_ c: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, by beta: Float) {
        for i in 0..<rows {
            let r = c + i * ld
            if beta == 0 { r.update(repeating: 0, count: cols) } else if beta != 1 { for j in 0..<cols { r[j] *= beta } }
        }
    }

    @inline(__always) static func roundUp(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }
}

extension Reference {
    /// Triple loop: C = alpha * op(A) * op(B) + beta * C, accumulating in Double. O(m n k).
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * s + old)
            }
        }
    }
}
