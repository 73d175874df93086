import Dispatch

/// Throughput figures for the kernels the models lean on, one line per measurement with
/// space-separated key=value fields, e.g.
/// `bench=gemm shape=512x256x256 m=512 n=256 k=256 op=nn threads=1 gflops=81.2 ms=0.83`.
///
/// GEMM shapes follow the peer script's convention: `shape=MxKxN`, C (m x n) = A (m x k) B (k x n).
/// `op` gives the transposes: `nn` plain, `nt` with B stored n x k (the 1 x 64 x 1,000,000 scoring
/// product of a user vector against a row-major item table). Each figure is the best of several
/// timed runs after a warm-up. Not a test: it allocates ~260 MB for the scoring case.
public enum TensorBenchmark {
    public static func run(threads: [Int], quick: Bool) -> [String] {
        var lines: [String] = []
        if let problem = CPUFeatures.check() { lines.append("bench=cpu error=\"\(problem)\"") }
        let shapes: [(m: Int, k: Int, n: Int, transB: Bool)] = [
            (512, 256, 256, false), (512, 1024, 256, false), (4096, 64, 64, false),
            (1, 64, 1_000_000, true), (1, 64, 1_000_000, false),
        ]
        for s in shapes {
            let a = Tensor.uniform([s.m, s.k], seed: 1)
            let b = Tensor.uniform(s.transB ? [s.n, s.k] : [s.k, s.n], seed: 2)
            let c = Tensor(shape: [s.m, s.n])
            for t in threads {
                let seconds = best(quick: quick) {
                    Kernels.gemm(transA: false, transB: s.transB, m: s.m, n: s.n, k: s.k,
                                 a: a.base, lda: s.k, b: b.base, ldb: s.transB ? s.k : s.n,
                                 c: c.base, ldc: s.n, threads: t)
                }
                let gflops = 2.0 * Double(s.m * s.n * s.k) / seconds / 1e9
                lines.append("bench=gemm shape=\(s.m)x\(s.k)x\(s.n) m=\(s.m) n=\(s.n) k=\(s.k) op=\(s.transB ? "nt" : "nn") "
                    + "threads=\(t) gflops=\(fmt(gflops)) ms=\(fmt(seconds * 1e3, 3))")
            }
        }
        lines += gatherLines(threads: threads, quick: quick)
        lines += pointwiseLines(quick: quick)
        return lines
    }

    /// One-thread throughput of the exp-based kernels over 1M floats (4 MB, L3-resident).
    static func pointwiseLines(quick: Bool) -> [String] {
        let n = 1 << 20
        let x = Tensor.uniform([n], in: -8...8, seed: 6), y = Tensor(shape: [n])
        var lines: [String] = []
        for act in [Activation.relu, .sigmoid, .tanh] {
            let s = best(quick: quick) { Kernels.activate(act, x.base, y.base, count: n) }
            lines.append("bench=\(act.rawValue) n=\(n) threads=1 gelems_per_s=\(fmt(Double(n) / s / 1e9)) ms=\(fmt(s * 1e3, 3))")
        }
        let s = best(quick: quick) { Kernels.softmaxRows(x.base, y.base, rows: 4096, cols: 256) }
        lines.append("bench=softmax rows=4096 cols=256 threads=1 gelems_per_s=\(fmt(Double(n) / s / 1e9)) ms=\(fmt(s * 1e3, 3))")
        return lines
    }

    /// Embedding lookups of 1M random ids from a 1M x 16 table (64 MB, larger than L3), the
    /// matching scatter-add, and top-100 selection over 1M scores.
    static func gatherLines(threads: [Int], quick: Bool) -> [String] {
        let rows = 1_000_000, cols = 16, count = 1 << 20
        let table = Tensor.uniform([rows, cols], seed: 3)
        var rng = TensorRandom(seed: 4)
        let ids = IndexTensor((0..<count).map { _ in Int32(rng.next() % UInt64(rows)) })
        let out = Tensor(shape: [count, cols])
        var lines: [String] = []
        for t in threads {
            let s = best(quick: quick) {
                Kernels.gatherRows(table: table.base, cols: cols, ids: ids.base, count: count, out: out.base, threads: t)
            }
            lines.append("bench=gather table=\(rows)x\(cols) rows=\(count) threads=\(t) "
                + "mrows_per_s=\(fmt(Double(count) / s / 1e6, 1)) ms=\(fmt(s * 1e3, 3))")
        }
        for t in threads {
            let s = best(quick: quick) {
                Kernels.scatterAddRows(table: table.base, tableRows: rows, cols: cols, ids: ids.base, count: count,
                                       values: out.base, threads: t)
            }
            lines.append("bench=scatter_add table=\(rows)x\(cols) rows=\(count) threads=\(t) "
                + "mrows_per_s=\(fmt(Double(count) / s / 1e6, 1)) ms=\(fmt(s * 1e3, 3))")
        }
        let scores = Tensor.uniform([rows], seed: 5)
        let oi = IndexTensor(shape: Shape(100)), ov = Tensor(shape: [100])
        let s = best(quick: quick) {
            Kernels.topK(scores.base, count: rows, k: 100, outIndices: oi.base, outValues: ov.base)
        }
        lines.append("bench=topk n=\(rows) k=100 threads=1 mscores_per_s=\(fmt(Double(rows) / s / 1e6, 1)) ms=\(fmt(s * 1e3, 3))")
        return lines
    }

    /// Best wall time of `body` over repeated runs: a warm-up, then at least 5 runs and until
    /// about 0.25 s (0.08 s when quick) have been spent.
    static func best(quick: Bool, _ body: () -> Void) -> Double {
        body()
        let budget = quick ? 0.08 : 0.25
        var bestTime = Double.infinity, spent = 0.0, runs = 0
        while runs < 5 || (spent < budget && runs < 2000) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            bestTime = Swift.min(bestTime, dt)
            spent += dt
            runs += 1
        }
        return bestTime
    }

    static func fmt(_ x: Double, _ digits: Int = 2) -> String {
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let r = (x * p).rounded() / p
        return "\(r)"
    }
}
