import Foundation
import Testing
@testable import CascadeTensor

/// End-to-end trainings with the tape, the losses and the optimizers.
extension OptimizersTests {
    /// A fixed synthetic logistic-regression problem: 500 samples, 5 features.
    struct LogisticData {
        let x: Tensor  // [n, d]
        let y: Tensor  // [n, 1]
        let n = 500, d = 5

        init() {
            x = Tensor.normal([500, 5], seed: 42)
            let trueW: [Double] = [1.0, -2.0, 0.5, 0.0, 1.5], trueB = 0.3
            var rng = TensorRandom(seed: 43)
            var labels = [Float]()
            for i in 0..<500 {
                var z = trueB
                for j in 0..<5 { z += trueW[j] * Double(x.base[i * 5 + j]) }
                labels.append(Double(rng.nextUnitFloat()) < 1 / (1 + exp(-z)) ? 1 : 0)
            }
            y = try! Tensor(shape: [500, 1], values: labels)
        }

        /// Newton's method (IRLS) in Float64 on mean BCE + lambda/2 |w|^2 (bias unpenalized).
        /// Returns [w..., b].
        func newton(lambda: Double) -> [Double] {
            let p = d + 1
            var theta = [Double](repeating: 0, count: p)
            for _ in 0..<50 {
                var grad = [Double](repeating: 0, count: p)
                var hess = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
                for i in 0..<n {
                    var row = (0..<d).map { Double(x.base[i * d + $0]) }
                    row.append(1)
                    let z = zip(row, theta).reduce(0) { $0 + $1.0 * $1.1 }
                    let pr = 1 / (1 + exp(-z)), r = pr - Double(y.base[i])
                    for a in 0..<p {
                        grad[a] += r * row[a] / Double(n)
                        for b in 0..<p { hess[a][b] += pr * (1 - pr) * row[a] * row[b] / Double(n) }
                    }
                }
                for a in 0..<d { grad[a] += lambda * theta[a]; hess[a][a] += lambda }
                let step = solve(hess, grad)
                for a in 0..<p { theta[a] -= step[a] }
                if step.map(abs).max()! < 1e-13 { break }
            }
            return theta
        }

        /// Gaussian elimination with partial pivoting.
        func solve(_ m: [[Double]], _ v: [Double]) -> [Double] {
            var a = m, b = v
            let k = b.count
            for c in 0..<k {
                let piv = (c..<k).max { abs(a[$0][c]) < abs(a[$1][c]) }!
                a.swapAt(c, piv); b.swapAt(c, piv)
                for r in (c + 1)..<k {
                    let f = a[r][c] / a[c][c]
                    for j in c..<k { a[r][j] -= f * a[c][j] }
                    b[r] -= f * b[c]
                }
            }
            var out = [Double](repeating: 0, count: k)
            for r in stride(from: k - 1, through: 0, by: -1) {
                var s = b[r]
                for j in (r + 1)..<k { s -= a[r][j] * out[j] }
                out[r] = s / a[r][r]
            }
            return out
        }
    }

    @Test func logisticRegressionByAdamMatchesNewton() throws {
        let data = LogisticData()
        let lambda: Float = 1e-2
        let exact = data.newton(lambda: Double(lambda))
        let w = Parameter("w", Tensor(shape: [5, 1])), b = Parameter("b", Tensor(shape: [1]))
        let steps = 3000
        let adam = Adam(beta2: 0.99, schedule: CosineDecay(initial: 0.05, steps: steps, minimum: 1e-4))
        var loss: Float = 0
        for _ in 0..<steps {
            let tape = Tape(threads: 1)
            let wv = tape.parameter(w)
            let logits = try tape.constant(data.x).linear(wv, tape.parameter(b))
            let l = try Loss.binaryCrossEntropy(logits: logits, targets: data.y) + wv.square().sum() * (lambda / 2)
            loss = l.scalar
            try tape.backward(l)
            try adam.step([w, b])
        }
        let got = w.value.toArray() + b.value.toArray()
        let err = zip(got, exact).map { abs(Double($0) - $1) }.max()!
        print("logistic regression: Adam vs Newton max |dw| = \(err), loss \(loss), weights \(got), newton \(exact)")
        #expect(err < 1e-3, "Adam \(got) vs Newton \(exact)")
    }

    @Test func mlpLearnsXOR() throws {
        let x = Tensor(rows: [[0, 0], [0, 1], [1, 0], [1, 1]]), y = Tensor([0, 1, 1, 0])
        let w1 = Parameter("l1.w", Tensor.normal([2, 8], std: 1, seed: 11)), b1 = Parameter("l1.b", Tensor(shape: [8]))
        let w2 = Parameter("l2.w", Tensor.normal([8, 1], std: 0.5, seed: 12)), b2 = Parameter("l2.b", Tensor(shape: [1]))
        let params = [w1, w2, b1, b2]
        let adam = Adam(learningRate: 0.05)
        var logits = Tensor(shape: [4, 1]), loss: Float = 0, steps = 0
        for step in 1...1000 {
            let tape = Tape(threads: 1)
            let h = try tape.constant(x).linear(tape.parameter(w1), tape.parameter(b1), activation: .tanh)
            let out = try h.linear(tape.parameter(w2), tape.parameter(b2))
            let l = try Loss.binaryCrossEntropy(logits: out, targets: y)
            logits = out.value
            loss = l.scalar
            steps = step
            if loss < 0.01 { break }
            try tape.backward(l)
            try adam.step(params)
        }
        let predicted = logits.toArray().map { $0 > 0 ? Float(1) : 0 }
        let accuracy = Double(zip(predicted, y.toArray()).filter { $0 == $1 }.count) / 4
        print("XOR: accuracy \(accuracy) after \(steps) steps, loss \(loss), logits \(logits.toArray())")
        #expect(accuracy == 1)
        #expect(loss < 0.05)
    }
}
