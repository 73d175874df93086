import CascadeANN
import Foundation
import Testing

/// `ANN:Bench`, opt-in: `CASCADE_BENCH=1 CASCADE_ANN_DIR=DIR swift test -c release --filter annBenchmark`
/// over the files of `shared/bench/ann_peers.py make DIR`. Optional: CASCADE_ANN_EFS (comma list),
/// CASCADE_ANN_THREADS (build threads, default 2), CASCADE_ANN_KINDS (hnsw,ivf,flat),
/// CASCADE_ANN_METRIC (l2 or ip).
@Suite struct ANNBenchmarkTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CASCADE_BENCH"] == "1"))
    func annBenchmark() throws {
        let env = ProcessInfo.processInfo.environment
        guard let dir = env["CASCADE_ANN_DIR"] else {
            Issue.record("set CASCADE_ANN_DIR to a directory written by ann_peers.py make")
            return
        }
        let efs = (env["CASCADE_ANN_EFS"] ?? "16,32,64,128,256").split(separator: ",").compactMap { Int($0) }
        let threads = Int(env["CASCADE_ANN_THREADS"] ?? "2") ?? 2
        let kinds = (env["CASCADE_ANN_KINDS"] ?? "hnsw,ivf,flat").split(separator: ",")
            .compactMap { ANNBenchmark.Kind(rawValue: String($0)) }
        let metric: VectorMetric = env["CASCADE_ANN_METRIC"] == "ip" ? .innerProduct : .l2
        let uname = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") } ?? "unknown cpu"
        print("ANN:Bench machine: \(uname), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        _ = try ANNBenchmark.run(dir: dir, efs: efs, threads: threads, metric: metric, kinds: kinds) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }
}
