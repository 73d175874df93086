import Foundation
import Testing
import CascadeTensor

/// Prints `TensorBenchmark` lines; runs only with CASCADE_BENCH=1, in release:
/// `CASCADE_BENCH=1 swift test -c release --scratch-path .build-tensor --filter benchmarkPrint`.
/// CASCADE_BENCH_QUICK=1 shortens the timing loops.
@Test(.enabled(if: ProcessInfo.processInfo.environment["CASCADE_BENCH"] == "1"))
func benchmarkPrint() {
    let quick = ProcessInfo.processInfo.environment["CASCADE_BENCH_QUICK"] == "1"
    for line in TensorBenchmark.run(threads: [1, 2], quick: quick) { print(line) }
}
