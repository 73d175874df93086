import Foundation
import Testing
@testable import CascadeTensor

/// Gradient checks and forward checks of the activation, softmax, shape, segment, mask, norm
/// and dropout ops.
@Suite struct AutodiffOpsTests {
    func expectPasses(_ r: GradientCheck.Result, _ what: String) {
        #expect(r.passed, "\(what): \(r)")
        #expect(r.probed > 0)
    }

    // MARK: Activations

    @Test func pointwiseActivations() throws {
        // Keep inputs away from the kinks of leaky ReLU / PReLU (finite differences across 0).
        let x = Tensor.normal([3, 5], seed: 1)
        for i in 0..<x.count where abs(x.base[i]) < 0.05 { x.base[i] = 0.3 }
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].leakyReLU(slope: 0.1) }, "leakyReLU")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].swish(beta: 1.5) }, "swish")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].silu() }, "silu")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].gelu() }, "gelu")
        expectPasses(try GradientCheck.check(inputs: [x, Tensor.uniform([5], in: 0...0.5, seed: 2)]) { _, v in
            try v[0].prelu(v[1])
        }, "prelu")
        // Forward against scalar formulas.
        let tape = Tape()
        let c = tape.constant(Tensor([-2, -0.5, 0, 1, 3]))
        #expect(maxAbsDiff(c.leakyReLU(slope: 0.1).value.toArray(), [-0.2, -0.05, 0, 1, 3]) < 1e-6)
        let gelu = [-2, -0.5, 0, 1, 3].map { (x: Double) in Float(0.5 * x * (1 + Foundation.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))) }
        #expect(maxAbsDiff(c.gelu().value.toArray(), gelu) < 1e-5)
        let swish = [-2, -0.5, 0, 1, 3].map { (x: Double) in Float(x / (1 + Foundation.exp(-2 * x))) }
        #expect(maxAbsDiff(c.swish(beta: 2).value.toArray(), swish) < 1e-5)
        let alpha = tape.constant(Tensor([0.25]))
        #expect(maxAbsDiff(try tape.constant(Tensor(shape: [2, 1], values: [-4, 4])).prelu(alpha).value.toArray(), [-1, 4]) < 1e-6)
        #expect(throws: TensorError.self) { try c.prelu(tape.constant(Tensor([1, 2]))) }
    }

    @Test func diceTrainingAndInference() throws {
        let x = Tensor.normal([6, 4], mean: 0.5, std: 2, seed: 3)
        let alpha = Tensor.uniform([4], in: 0...0.5, seed: 4)
        let state = BatchNormState(name: "dice", features: 4)
        expectPasses(try GradientCheck.check(inputs: [x, alpha]) { _, v in try v[0].dice(v[1], state: state) }, "dice training")
        expectPasses(try GradientCheck.check(inputs: [x, alpha], training: false) { _, v in try v[0].dice(v[1], state: state) }, "dice inference")
        // Forward against the formula with batch statistics.
        let fresh = BatchNormState(name: "d2", features: 4, momentum: 1)
        let tape = Tape()
        let out = try tape.constant(x).dice(tape.constant(alpha), state: fresh)
        for c in 0..<4 {
            let col = (0..<6).map { Double(x[$0, c]) }
            let m = col.reduce(0, +) / 6, v = col.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 6
            for r in 0..<6 {
                let p = 1 / (1 + Foundation.exp(-(col[r] - m) / (v + 1e-5).squareRoot()))
                let want = p * col[r] + (1 - p) * Double(alpha[c]) * col[r]
                #expect(abs(Double(out.value[r, c]) - want) < 1e-4)
            }
            // momentum 1: running stats are this batch's (variance unbiased).
            #expect(abs(Double(fresh.runningMean.value[c]) - m) < 1e-4)
            #expect(abs(Double(fresh.runningVar.value[c]) - v * 6 / 5) < 1e-3)
        }
    }

    // MARK: Softmax

    @Test func softmaxFamily() throws {
        let x = Tensor.normal([3, 5], std: 2, seed: 5)
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].softmax() }, "softmax")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].logSoftmax() }, "logSoftmax")
        let mask = try Tensor(shape: [3, 5], values: [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in try v[0].maskedSoftmax(mask) }, "maskedSoftmax")
        let tape = Tape()
        let y = try tape.constant(x).maskedSoftmax(mask).value
        let row0 = Reference.softmaxRow([x[0, 0], x[0, 1], x[0, 3]])
        #expect(maxAbsDiff([y[0, 0], y[0, 1], y[0, 2], y[0, 3], y[0, 4]], [row0[0], row0[1], 0, row0[2], 0]) < 1e-6)
        #expect(try y.row(1).toArray() == [0, 0, 0, 0, 0])  // all masked: zeros, not NaN
        #expect(maxAbsDiff(try y.row(2).toArray(), Reference.softmaxRow(try x.row(2).toArray())) < 1e-6)
        // A [B, T] key mask broadcast over [B, Tq, T] scores.
        let scores = Tensor.normal([2, 3, 4], seed: 6)
        let keyMask = try Tensor(shape: [2, 4], values: [1, 1, 0, 0, 1, 0, 1, 1])
        expectPasses(try GradientCheck.check(inputs: [scores]) { _, v in try v[0].maskedSoftmax(keyMask) }, "maskedSoftmax key mask")
        let z = try tape.constant(scores).maskedSoftmax(keyMask).value
        #expect(z[1, 2, 1] == 0 && z[0, 1, 3] == 0)
        #expect(throws: TensorError.self) { try tape.constant(scores).maskedSoftmax(Tensor(shape: [3, 4])) }
    }

    // MARK: Shape

    @Test func shapeOps() throws {
        let a = Tensor.normal([2, 3, 4], seed: 7), b = Tensor.normal([2, 1, 4], seed: 8)
        for axis in 0..<3 {
            let other = Tensor.normal(axis == 0 ? [1, 3, 4] : axis == 1 ? [2, 2, 4] : [2, 3, 2], seed: 9)
            expectPasses(try GradientCheck.check(inputs: [a, other, a.copy()]) { _, v in try Variable.concat(v, axis: axis) }, "concat \(axis)")
            expectPasses(try GradientCheck.check(inputs: [a]) { _, v in
                let parts = try v[0].split(axis == 2 ? [1, 3] : axis == 1 ? [1, 0, 2] : [1, 1], axis: axis)
                return try Variable.concat([parts.last!, parts.first!], axis: axis)
            }, "split \(axis)")
            expectPasses(try GradientCheck.check(inputs: [a]) { _, v in try v[0].slice(axis: axis, 1..<2) }, "slice \(axis)")
        }
        expectPasses(try GradientCheck.check(inputs: [a]) { _, v in try v[0].transposed(0, 2) }, "transpose")
        expectPasses(try GradientCheck.check(inputs: [Tensor.normal([2, 3, 2, 2], seed: 10)]) { _, v in try v[0].permuted([2, 0, 3, 1]) }, "permute 4")
        expectPasses(try GradientCheck.check(inputs: [b]) { _, v in try v[0].expanded(to: [3, 2, 3, 4]) }, "expand")
        // Forward values.
        let tape = Tape()
        let m = tape.constant(Tensor(rows: [[1, 2, 3], [4, 5, 6]]))
        #expect(try m.transposed(0, 1).value.toArray() == [1, 4, 2, 5, 3, 6])
        #expect(try Variable.concat([m, m], axis: 1).value.toArray() == [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6])
        #expect(try m.slice(axis: 1, 1..<3).value.toArray() == [2, 3, 5, 6])
        let p = try tape.constant(a).permuted([2, 0, 1]).value
        #expect(p.shape == Shape(4, 2, 3) && p[3, 1, 2] == a[1, 2, 3])
        #expect(throws: TensorError.self) { try Variable.concat([m, tape.constant(Tensor(shape: [3, 3]))], axis: 1) }
        #expect(throws: TensorError.self) { try m.split([1, 1], axis: 1) }
        #expect(throws: TensorError.self) { try m.slice(axis: 0, 1..<3) }
        #expect(throws: TensorError.self) { try m.expanded(to: [2, 4]) }
    }

    // MARK: Segments

    @Test func segmentPooling() throws {
        let x = Tensor.normal([6, 3], seed: 11)
        let offsets = [0, 2, 2, 5, 6]  // segment 1 is empty
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in try v[0].segmentSum(offsets: offsets) }, "segmentSum")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in try v[0].segmentMean(offsets: offsets) }, "segmentMean")
        let tape = Tape()
        let mean = try tape.constant(x).segmentMean(offsets: offsets).value
        #expect(try mean.row(1).toArray() == [0, 0, 0])
        #expect(abs(mean[2, 1] - (x[2, 1] + x[3, 1] + x[4, 1]) / 3) < 1e-6)
        #expect(throws: TensorError.self) { try tape.constant(x).segmentSum(offsets: [0, 3, 2, 6]) }
        #expect(throws: TensorError.self) { try tape.constant(x).segmentSum(offsets: [0, 5]) }

        // Fused gather + pool equals gather then segment pooling, dense and sparse tables.
        let ids = IndexTensor([Int32(3), 1, 3, 0, 4, 2])
        for mode in [SegmentReduction.sum, .mean] {
            let table = Tensor.normal([5, 3], seed: 12)
            let fused = try tape.constant(table).gatherSegment(ids, offsets: offsets, mode: mode).value
            let naive = try tape.constant(table).gather(ids).segmentReduce(offsets: offsets, mode: mode).value
            #expect(maxAbsDiff(fused.toArray(), naive.toArray()) < 1e-6)
            expectPasses(try GradientCheck.check(inputs: [table]) { _, v in try v[0].gatherSegment(ids, offsets: offsets, mode: mode) }, "gatherSegment dense \(mode)")
            let p = Parameter("bag", table.copy(), sparse: true)
            expectPasses(try GradientCheck.check(inputs: [], parameters: [p]) { t, _ in
                try t.parameter(p).gatherSegment(ids, offsets: offsets, mode: mode)
            }, "gatherSegment sparse \(mode)")
            let t2 = Tape()
            try t2.backward(t2.parameter(p).gatherSegment(ids, offsets: offsets, mode: mode).sum())
            #expect(p.grad == nil && p.rowGrads.count == 1)
        }
        #expect(throws: TensorError.self) { try tape.constant(Tensor(shape: [4, 3])).gatherSegment(ids, offsets: offsets) }
    }

    // MARK: Masks

    @Test func masks() throws {
        let x = Tensor.normal([2, 3, 4], seed: 13)
        let mask = try Tensor(shape: [2, 3], values: [1, 1, 0, 1, 0, 0])
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in try v[0].masked(by: mask) }, "masked")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in try v[0].maskedFill(mask, value: -3) }, "maskedFill")
        let tape = Tape()
        let f = try tape.constant(x).maskedFill(mask, value: -3).value
        #expect(f[0, 2, 1] == -3 && f[1, 1, 3] == -3 && f[0, 1, 2] == x[0, 1, 2])
        let m = try tape.constant(x).masked(by: mask).value
        #expect(m[1, 2, 0] == 0 && m[1, 0, 0] == x[1, 0, 0])
        #expect(throws: TensorError.self) { try tape.constant(x).masked(by: Tensor(shape: [3, 2])) }
    }

    // MARK: Norms

    @Test func layerNorm() throws {
        let x = Tensor.normal([4, 5], mean: 1, std: 3, seed: 14)
        let gain = Parameter("g", Tensor.uniform([5], in: 0.5...1.5, seed: 15)), bias = Parameter("b", Tensor.normal([5], seed: 16))
        expectPasses(try GradientCheck.check(inputs: [x], parameters: [gain, bias]) { t, v in
            try v[0].layerNorm(gain: t.parameter(gain), bias: t.parameter(bias))
        }, "layerNorm")
        expectPasses(try GradientCheck.check(inputs: [Tensor.normal([2, 3, 4], seed: 17)]) { _, v in try v[0].layerNorm(gain: nil, bias: nil) }, "layerNorm plain")
        let tape = Tape()
        let y = try tape.constant(x).layerNorm(gain: nil, bias: nil).value
        for r in 0..<4 {
            let row = try y.row(r).toArray()
            let m = row.reduce(0, +) / 5, v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 5
            #expect(abs(m) < 1e-5 && abs(v - 1) < 1e-3)
        }
        #expect(throws: TensorError.self) { try tape.constant(x).layerNorm(gain: tape.parameter(Parameter("w", Tensor(shape: [4]))), bias: nil) }
    }

    @Test func batchNormBothModes() throws {
        let x = Tensor.normal([6, 3], mean: 2, std: 3, seed: 18)
        let gain = Parameter("g", Tensor.uniform([3], in: 0.5...1.5, seed: 19)), bias = Parameter("b", Tensor.normal([3], seed: 20))
        let state = BatchNormState(name: "bn", features: 3)
        expectPasses(try GradientCheck.check(inputs: [x], parameters: [gain, bias]) { t, v in
            try v[0].batchNorm(gain: t.parameter(gain), bias: t.parameter(bias), state: state)
        }, "batchNorm training")
        expectPasses(try GradientCheck.check(inputs: [x], parameters: [gain, bias], training: false) { t, v in
            try v[0].batchNorm(gain: t.parameter(gain), bias: t.parameter(bias), state: state)
        }, "batchNorm inference")
        // Training: each column normalized with this batch's statistics; running stats move.
        let s2 = BatchNormState(name: "bn2", features: 3, momentum: 0.5)
        let train = Tape(training: true)
        let y = try train.constant(x).batchNorm(gain: nil, bias: nil, state: s2).value
        for c in 0..<3 {
            let col = (0..<6).map { y[$0, c] }
            #expect(abs(col.reduce(0, +) / 6) < 1e-5)
            let xc = (0..<6).map { Double(x[$0, c]) }
            let m = xc.reduce(0, +) / 6
            #expect(abs(Double(s2.runningMean.value[c]) - 0.5 * m) < 1e-4)
        }
        // Inference: an affine map with the running statistics.
        let infer = Tape(training: false)
        let z = try infer.constant(x).batchNorm(gain: nil, bias: nil, state: s2).value
        let want = (x[4, 1] - s2.runningMean.value[1]) / (s2.runningVar.value[1] + s2.eps).squareRoot()
        #expect(abs(z[4, 1] - want) < 1e-5)
        #expect(s2.parameters.allSatisfy { !$0.trainable })
        #expect(throws: TensorError.self) { try infer.constant(Tensor(shape: [2, 4])).batchNorm(gain: nil, bias: nil, state: s2) }
    }

    // MARK: Dropout

    @Test func dropout() throws {
        let x = Tensor.normal([8, 16], seed: 21)
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in try v[0].dropout(rate: 0.3) }, "dropout")
        let tape = Tape(training: true, seed: 3)
        let y = try tape.constant(Tensor(shape: [10_000], repeating: 1)).dropout(rate: 0.25).value.toArray()
        let zeros = y.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 10_000 - 0.25) < 0.02)
        #expect(y.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3) < 1e-6 })
        let inference = Tape(training: false)
        let c = inference.constant(x)
        #expect(try c.dropout(rate: 0.5).id == c.id)
        #expect(throws: TensorError.self) { try c.dropout(rate: 1) }
    }
}
