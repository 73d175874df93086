import Testing
import CascadeTensor

/// Runs Kernels.gemm and Reference.gemm on the same random inputs (with padded leading
/// dimensions, so strides are exercised) and returns the largest difference and its tolerance.
func gemmError(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float, beta: Float,
               threads: Int = 1, blocking: GemmBlocking = .default, seed: UInt64 = 1) -> (err: Float, tol: Float) {
    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
    let a = randomFloats((transA ? k : m) * lda, seed: seed)
    let b = randomFloats((transB ? n : k) * ldb, seed: seed + 1)
    let c0 = randomFloats(m * ldc, seed: seed + 2)
    var c = c0, r = c0
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                Kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                             a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: beta,
                             c: pc.baseAddress!, ldc: ldc, threads: threads, blocking: blocking)
            }
            r.withUnsafeMutableBufferPointer { pr in
                Reference.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                               a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: beta,
                               c: pr.baseAddress!, ldc: ldc)
            }
        }
    }
    // Padding columns of C (j >= n) must be untouched.
    for i in 0..<m where c[i * ldc + n] != c0[i * ldc + n] { return (.infinity, 0) }
    return (maxAbsDiff(c, r), 2e-6 * Float(k + 2) * max(1, abs(alpha)) + 1e-6 * abs(beta))
}

@Suite struct GemmTests {
    static let sizes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (7, 17, 33), (17, 33, 7), (33, 7, 17), (6, 16, 64), (12, 32, 5),
        (100, 33, 17), (1, 100, 33), (100, 1, 33), (37, 50, 1), (13, 19, 300), (200, 20, 9),
    ]

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func agreesWithReference(transA: Bool, transB: Bool) {
        for s in Self.sizes {
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (-2, 0.25)] {
                let (err, tol) = gemmError(m: s.m, n: s.n, k: s.k, transA: transA, transB: transB, alpha: alpha, beta: beta)
                #expect(err <= tol, "m=\(s.m) n=\(s.n) k=\(s.k) tA=\(transA) tB=\(transB) alpha=\(alpha) beta=\(beta): \(err) > \(tol)")
            }
        }
    }

    @Test func smallBlockingCoversEveryLoop() {
        // Tiny blocks force several N, K and M blocks plus edge tiles in each.
        let tiny = GemmBlocking(kc: 5, mc: 12, nc: 32)
        for (ta, tb) in [(false, false), (true, true), (false, true), (true, false)] {
            let (err, tol) = gemmError(m: 29, n: 71, k: 23, transA: ta, transB: tb, alpha: 1.5, beta: -1, blocking: tiny)
            #expect(err <= tol)
        }
    }

    @Test func twoThreadsSplitOverMAndN() {
        for (m, n) in [(101, 60), (30, 131)] {
            let (err, tol) = gemmError(m: m, n: n, k: 200, transA: false, transB: true, alpha: 1, beta: 0.5, threads: 2)
            #expect(err <= tol, "m=\(m) n=\(n)")
        }
    }

    @Test func zeroSizesAndZeroAlpha() {
        let (e1, t1) = gemmError(m: 5, n: 7, k: 0, transA: false, transB: false, alpha: 1, beta: 0.5)
        #expect(e1 <= t1)
        let (e2, t2) = gemmError(m: 5, n: 7, k: 3, transA: false, transB: false, alpha: 0, beta: 2)
        #expect(e2 <= t2)
    }

    @Test func betaZeroIgnoresNaNInOutput() {
        let a = Tensor.uniform([7, 9], seed: 1), b = Tensor.uniform([9, 18], seed: 2)
        let c = Tensor(shape: [7, 18], repeating: .nan)
        try! Tensor.gemm(a, b, into: c)
        #expect(c.toArray().allSatisfy { !$0.isNaN })
    }

    @Test func tensorMatmulMatchesReference() throws {
        let a = Tensor.uniform([20, 30], seed: 3), b = Tensor.uniform([40, 30], seed: 4)
        let c = try a.matmul(b, transposeOther: true)
        #expect(c.shape == Shape(20, 40))
        let bt = try b.transposed()
        let c2 = try a.matmul(bt)
        #expect(maxAbsDiff(c.toArray(), c2.toArray()) < 1e-4)
        #expect(throws: TensorError.self) { try Tensor.gemm(a, b, into: Tensor(shape: [20, 41]), transposeB: true) }
        #expect(throws: TensorError.self) { try Tensor.gemm(a, a, into: a, transposeB: true) }
    }

    @Test func gemvBothOrientations() {
        for (m, n) in [(1, 1), (7, 33), (33, 7), (100, 17), (5, 1030)] {
            let a = randomFloats(m * n, seed: 9)
            for trans in [false, true] {
                let x = randomFloats(trans ? m : n, seed: 10)
                let y0 = randomFloats(trans ? n : m, seed: 11)
                var y = y0, r = y0
                Kernels.gemv(trans: trans, m: m, n: n, alpha: 1.5, a: a, lda: n, x: x, beta: 0.5, y: &y)
                Reference.gemv(trans: trans, m: m, n: n, alpha: 1.5, a: a, lda: n, x: x, beta: 0.5, y: &r)
                #expect(maxAbsDiff(y, r) <= 3e-6 * Float(max(m, n) + 2), "m=\(m) n=\(n) trans=\(trans)")
            }
        }
    }

    @Test func dotAndAxpy() {
        for n in [0, 1, 7, 17, 33, 100, 1000] {
            let x = randomFloats(n, seed: 1), y0 = randomFloats(n, seed: 2)
            #expect(abs(Kernels.dot(x, y0, count: n) - Reference.dot(x, y0, count: n)) <= 1e-6 * Float(n + 1))
            var y = y0, r = y0
            Kernels.axpy(alpha: -0.75, x: x, y: &y, count: n)
            Reference.axpy(alpha: -0.75, x: x, y: &r, count: n)
            #expect(maxAbsDiff(y, r) <= 1e-6)
        }
    }

    @Test func tensorMatvecAndDot() throws {
        let a = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(try a.matvec(Tensor([1, 1, 1])).toArray() == [6, 15])
        #expect(try a.matvec(Tensor([1, -1]), transpose: true).toArray() == [-3, -3, -3])
        #expect(throws: TensorError.self) { try a.matvec(Tensor([1, 1])) }
        #expect(try Tensor([1, 2, 3]).dot(Tensor([4, 5, 6])) == 32)
    }
}
