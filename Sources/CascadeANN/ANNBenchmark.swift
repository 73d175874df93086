import CascadeCore
import Foundation

/// The ANN benchmark shared with `shared/bench/ann_peers.py`: it reads the files that
/// `ann_peers.py make DIR` writes (`base.fvecs`, `query.fvecs`, `gt_l2.ivecs`, `gt_ip.ivecs`: exact
/// top-100 ids per query) and prints lines in the peers' format, one per index and search width:
///
/// `peer=cascade-hnsw metric=l2 n=1000000 dim=64 M=16 efc=200 build_s=… build_threads=2 ef=64 recall10=… qps_1thread=…`
///
/// `recall10` is the mean over queries of |returned top 10 ∩ exact top 10| / 10; `qps_1thread`
/// times one query at a time on one thread, as the peers do. Builds use `threads` workers. The
/// IVF lines put `nprobe` in the `ef` field (its recall/speed knob) and name it again in `nprobe=`.
/// Cascade's build lines end with `build_cpu_s=` (process CPU seconds of the build), which
/// shows whether a slow wall-clock build was starved of cores by other processes.
/// The flat line (exact search, a check of the ground truth) is timed on the first 200 queries.
public enum ANNBenchmark {
    /// Which indexes `run` builds.
    public enum Kind: String, Sendable, CaseIterable { case flat, hnsw, ivf }

    public static func run(dir: String, efs: [Int], threads: Int) throws -> [String] {
        try run(dir: dir, efs: efs, threads: threads, metric: .l2, kinds: [.hnsw, .ivf, .flat], progress: nil)
    }

    /// The full form: `metric` picks `gt_l2` or `gt_ip`; `nprobes` are IVF's search widths;
    /// `progress` receives each line as soon as it is measured.
    public static func run(dir: String, efs: [Int], threads: Int, metric: VectorMetric, kinds: [Kind],
                           M: Int = 16, efConstruction: Int = 200, nprobes: [Int] = [1, 2, 4, 8, 16, 32],
                           progress: ((String) -> Void)?) throws -> [String]
    {
        guard metric != .cosine else { throw CascadeError.invalid("benchmark: ann_peers.py has ground truth for l2 and ip only") }
        let base = try VectorFiles.readFvecs(dir + "/base.fvecs")
        let queries = try VectorFiles.readFvecs(dir + "/query.fvecs")
        let gtName = metric == .l2 ? "gt_l2.ivecs" : "gt_ip.ivecs"
        let gt = try VectorFiles.readIvecs(dir + "/" + gtName)
        guard base.dimension == queries.dimension, gt.count == queries.count, gt.dimension >= 10 else {
            throw CascadeError.badInput(file: dir, line: 0, reason: "base, query and \(gtName) do not match (dimensions \(base.dimension)/\(queries.dimension), \(queries.count) queries, \(gt.count) truth rows of \(gt.dimension))")
        }
        let n = base.count, d = base.dimension
        let ids = (0..<n).map { Int32($0) }
        let metricName = metric == .l2 ? "l2" : "ip"
        var lines: [String] = []
        func emit(_ line: String) {
            lines.append(line)
            progress?(line)
        }
        func recall(_ results: [[VectorHit]]) -> Double {
            var hits = 0
            for (q, row) in results.enumerated() {
                let truth = Set(gt.values[(q * gt.dimension)..<(q * gt.dimension + 10)])
                hits += row.prefix(10).filter { truth.contains($0.id) }.count
            }
            return Double(hits) / Double(10 * results.count)
        }
        /// Runs queries one at a time on this thread; returns results and queries per second.
        func timed(_ count: Int, _ one: ([Float]) throws -> [VectorHit]) rethrows -> ([[VectorHit]], Double) {
            var out: [[VectorHit]] = []
            out.reserveCapacity(count)
            let t = Date()
            for q in 0..<count {
                out.append(try one(Array(queries.values[(q * d)..<((q + 1) * d)])))
            }
            return (out, Double(count) / Date().timeIntervalSince(t))
        }
        func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
        let head = "metric=\(metricName) n=\(n) dim=\(d)"

        for kind in kinds {
            switch kind {
            case .hnsw:
                let index = try HNSWIndex(dimension: d, metric: metric,
                                          parameters: .init(M: M, efConstruction: efConstruction))
                let t = Date(), c = cpuSeconds()
                try index.add(base.values, ids: ids, threads: threads)
                let build = Date().timeIntervalSince(t), cpu = cpuSeconds() - c
                for ef in efs {
                    let (res, qps) = try timed(queries.count) { try index.search($0, k: 10, ef: max(ef, 10), threads: 1)[0] }
                    emit("peer=cascade-hnsw \(head) M=\(M) efc=\(efConstruction) build_s=\(fmt(build, 2)) build_threads=\(threads) ef=\(ef) recall10=\(fmt(recall(res), 4)) qps_1thread=\(fmt(qps, 0)) build_cpu_s=\(fmt(cpu, 2))")
                }
            case .ivf:
                let index = try IVFIndex(dimension: d, metric: metric)
                let t = Date(), c = cpuSeconds()
                try index.add(base.values, ids: ids, threads: threads)
                let build = Date().timeIntervalSince(t), cpu = cpuSeconds() - c
                for nprobe in nprobes {
                    let (res, qps) = try timed(queries.count) { try index.search($0, k: 10, nprobe: nprobe, threads: 1)[0] }
                    emit("peer=cascade-ivf \(head) nlist=\(index.listCount) build_s=\(fmt(build, 2)) build_threads=\(threads) ef=\(nprobe) nprobe=\(nprobe) recall10=\(fmt(recall(res), 4)) qps_1thread=\(fmt(qps, 0)) build_cpu_s=\(fmt(cpu, 2))")
                }
            case .flat:
                let index = try FlatIndex(dimension: d, metric: metric)
                let t = Date()
                try index.add(base.values, ids: ids)
                let build = Date().timeIntervalSince(t)
                let (res, qps) = try timed(min(200, queries.count)) { try index.search($0, k: 10, threads: 1)[0] }
                emit("peer=cascade-flat \(head) build_s=\(fmt(build, 2)) build_threads=1 ef=0 recall10=\(fmt(recall(res), 4)) qps_1thread=\(fmt(qps, 0))")
            }
        }
        return lines
    }

    /// CPU seconds used by this process so far (all threads), to read build times on a busy machine.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
