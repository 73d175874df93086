import Foundation

/// Training throughput (samples/s) of two reference models, one line each, in the same form as
/// `bench/torch_peer.py` prints for PyTorch so the two compare by script:
///
/// - `mlp`: input 320 -> 256 -> 128 -> 1 (ReLU), BCE with logits, Adam(1e-3), batch 512.
/// - `embedding`: 26 categorical fields, each a `rows` x 16 table held as one fused sparse
///   table of 26 x rows rows with per-field id offsets (ids Zipf-like, exponent 1.1), the 26 x 16
///   embeddings flattened into 416 -> 256 -> 128 -> 1 (ReLU), BCE, lazy Adam on the table (only
///   looked-up rows change) and Adam on the dense layers.
///
/// Each figure is the median step time over `steps` steps after 5 warm-up steps; data are
/// generated before timing. A step is forward, backward and the optimizer update.
public enum TrainingBenchmark {
    public static func run(threads: [Int], steps: Int = 50, rows: Int = 1_000_000, batch: Int = 512) throws -> [String] {
        var lines: [String] = []
        for t in threads {
            let mlp = try mlpStep(threads: t, batch: batch, steps: steps)
            lines.append("bench=train model=mlp threads=\(t) batch=\(batch) samples_per_s=\(Int(Double(batch) / mlp)) "
                + "ms_per_step=\(String(format: "%.3f", mlp * 1e3))")
        }
        for t in threads {
            let emb = try embeddingStep(threads: t, batch: batch, steps: steps, rows: rows)
            lines.append("bench=train model=embedding threads=\(t) batch=\(batch) rows=\(rows) samples_per_s=\(Int(Double(batch) / emb)) "
                + "ms_per_step=\(String(format: "%.3f", emb * 1e3))")
        }
        return lines
    }

    static func median(steps: Int, _ body: (Int) throws -> Void) rethrows -> Double {
        for i in 0..<5 { try body(i) }
        var times: [Double] = []
        for i in 0..<steps {
            let start = DispatchTime.now().uptimeNanoseconds
            try body(i)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        return times[times.count / 2]
    }

    /// The 3-layer MLP; returns seconds per step.
    static func mlpStep(threads: Int, batch: Int, steps: Int) throws -> Double {
        let layers = [Linear(name: "l1", in: 320, out: 256, activation: .relu, seed: 1),
                      Linear(name: "l2", in: 256, out: 128, activation: .relu, seed: 2),
                      Linear(name: "l3", in: 128, out: 1, seed: 3)]
        let params = layers.flatMap(\.parameters)
        let adam = Adam(learningRate: 1e-3)
        let data = (0..<8).map { i in
            (Tensor.normal([batch, 320], seed: UInt64(10 + i)),
             Tensor.uniform([batch, 1], in: 0...1, seed: UInt64(20 + i)).rounded())
        }
        return try median(steps: steps) { i in
            let (x, y) = data[i % data.count]
            let tape = Tape(training: true, threads: threads)
            var h = tape.constant(x)
            for l in layers { h = try l(h) }
            try tape.backward(Loss.binaryCrossEntropy(logits: h, targets: y))
            try adam.step(params)
        }
    }

    /// The 26-field embedding model; returns seconds per step.
    static func embeddingStep(threads: Int, batch: Int, steps: Int, rows: Int) throws -> Double {
        let fields = 26, dim = 16
        let table = Parameter("emb", Tensor.normal([fields * rows, dim], std: 0.01, seed: 5), sparse: true)
        let layers = [Linear(name: "l1", in: fields * dim, out: 256, activation: .relu, seed: 1),
                      Linear(name: "l2", in: 256, out: 128, activation: .relu, seed: 2),
                      Linear(name: "l3", in: 128, out: 1, seed: 3)]
        let dense = layers.flatMap(\.parameters)
        let adam = Adam(learningRate: 1e-3), lazy = LazyAdam(learningRate: 1e-3)
        var rng = TensorRandom(seed: 9)
        let data = (0..<8).map { i -> (IndexTensor, Tensor) in
            let ids = IndexTensor(shape: Shape(batch, fields))
            for r in 0..<batch {
                for f in 0..<fields { ids.base[r * fields + f] = Int32(f * rows + zipf(&rng, exponent: 1.1, max: rows)) }
            }
            return (ids, Tensor.uniform([batch, 1], in: 0...1, seed: UInt64(30 + i)).rounded())
        }
        return try median(steps: steps) { i in
            let (ids, y) = data[i % data.count]
            let tape = Tape(training: true, threads: threads)
            var h = try tape.parameter(table).gather(ids).reshaped([batch, fields * dim])
            for l in layers { h = try l(h) }
            try tape.backward(Loss.binaryCrossEntropy(logits: h, targets: y))
            try adam.step(dense)
            try lazy.step([table])
        }
    }

    /// A Zipf-distributed id in 0..<max (rejection-inversion free approximation: inverse CDF of
    /// the continuous power law, clipped), as numpy's `zipf(a) - 1` clipped to the table.
    static func zipf(_ rng: inout TensorRandom, exponent s: Double, max: Int) -> Int {
        let u = Swift.max(Double(rng.nextUnitFloat()), 1e-9)
        let x = Foundation.pow(u, -1 / (s - 1))  // Pareto with tail exponent s - 1
        return Swift.min(Int(x) - 1, max - 1)
    }
}

extension Tensor {
    /// Each element rounded to the nearest integer (labels from uniform noise in benchmarks).
    func rounded() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        for i in 0..<count { out.base[i] = base[i].rounded() }
        return out
    }
}
