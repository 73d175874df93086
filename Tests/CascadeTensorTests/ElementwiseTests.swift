import Foundation
import Testing
import CascadeTensor

@Suite struct ElementwiseTests {
    static let lengths = [0, 1, 7, 8, 17, 33, 100]

    @Test func binaryOpsAndScale() {
        for n in Self.lengths {
            let x = randomFloats(n, seed: 1), y = randomFloats(n, seed: 2)
            var out = [Float](repeating: 0, count: n)
            Kernels.add(x, y, &out, count: n); #expect(out == zip(x, y).map { $0 + $1 })
            Kernels.sub(x, y, &out, count: n); #expect(out == zip(x, y).map { $0 - $1 })
            Kernels.mul(x, y, &out, count: n); #expect(out == zip(x, y).map { $0 * $1 })
            Kernels.scale(x, by: 3, &out, count: n); #expect(out == x.map { $0 * 3 })
            Kernels.axpby(alpha: 2, x, beta: -0.5, y, &out, count: n)
            #expect(maxAbsDiff(out, zip(x, y).map { 2 * $0 - 0.5 * $1 }) <= 1e-6)
        }
    }

    @Test(arguments: Activation.allCases)
    func activationsMatchLibm(act: Activation) {
        // Wide range including saturation and the small-|x| branch of tanh.
        var x = randomFloats(1000, seed: 3).map { $0 * 30 }
        x += [0, -0, 1e-5, -1e-5, 0.003, -0.003, 0.0041, 88, 89, -87, -100, 1000, -1000]
        for n in Self.lengths + [x.count] {
            let xs = Array(x.prefix(n))
            var out = [Float](repeating: 0, count: n)
            Kernels.activate(act, xs, &out, count: n)
            let ref = xs.map { Reference.activate(act, $0) }
            #expect(maxAbsDiff(out, ref) <= 3e-7, "\(act) n=\(n)")
        }
    }

    @Test(arguments: Activation.allCases)
    func biasActivationAndBackward(act: Activation) throws {
        let rows = 5, cols = 17
        let x = Tensor.uniform([rows, cols], in: -4...4, seed: 4), bias = Tensor.uniform([cols], seed: 5)
        let y = try x.addingBias(bias, activation: act)
        for i in 0..<rows {
            for j in 0..<cols {
                #expect(abs(y[i, j] - Reference.activate(act, x[i, j] + bias[j])) <= 3e-7)
            }
        }
        let g = Tensor.uniform([rows, cols], seed: 6)
        var dx = [Float](repeating: 0, count: rows * cols)
        Kernels.activationBackward(act, output: y.base, grad: g.base, &dx, count: rows * cols)
        let yv = y.toArray(), gv = g.toArray()
        let ref = (0..<yv.count).map { gv[$0] * Reference.activationDerivative(act, output: yv[$0]) }
        #expect(maxAbsDiff(dx, ref) <= 1e-6)
        #expect(throws: TensorError.self) { try x.addingBias(Tensor(shape: [cols + 1])) }
    }

    @Test func tensorElementwiseApi() throws {
        let a = Tensor([1, -2, 3]), b = Tensor([4, 5, -6])
        #expect(try a.adding(b).toArray() == [5, 3, -3])
        #expect(try a.subtracting(b).toArray() == [-3, -7, 9])
        #expect(try a.multiplying(b).toArray() == [4, -10, -18])
        #expect(a.scaled(by: 2).toArray() == [2, -4, 6])
        #expect(a.relu().toArray() == [1, 0, 3])
        let c = a.copy()
        try c.add(b, scaledBy: 0.5)
        #expect(c.toArray() == [3, 0.5, 0])
        c.scale(by: 2)
        #expect(c.toArray() == [6, 1, 0])
        #expect(abs(Tensor([0]).sigmoid()[0] - 0.5) < 1e-7 && Tensor([0]).tanh()[0] == 0)
    }

    @Test func softmaxRowsSumToOneAndMatchReference() {
        for (rows, cols) in [(1, 1), (3, 7), (4, 17), (2, 100)] {
            let t = Tensor.uniform([rows, cols], in: -10...10, seed: UInt64(cols))
            let s = t.softmax(), l = t.logSoftmax()
            for i in 0..<rows {
                let row = Array(t.toArray()[(i * cols)..<((i + 1) * cols)])
                let got = Array(s.toArray()[(i * cols)..<((i + 1) * cols)])
                let logGot = Array(l.toArray()[(i * cols)..<((i + 1) * cols)])
                #expect(abs(got.reduce(0, +) - 1) <= 1e-5)
                #expect(maxAbsDiff(got, Reference.softmaxRow(row)) <= 1e-6)
                #expect(maxAbsDiff(logGot, Reference.logSoftmaxRow(row)) <= 1e-5)
            }
        }
    }

    @Test func softmaxIsStableWithLargeInputs() throws {
        let t = try Tensor(shape: [3, 4], values: [1e4, 1e4 + 1, 1e4 - 1, 1e4,
                                                  -1e4, -1e4 + 2, -1e4, -1e4,
                                                  3e38, 0, -3e38, 1])
        let s = t.softmax(), l = t.logSoftmax()
        #expect(s.toArray().allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
        #expect(l.toArray().allSatisfy { !$0.isNaN })
        for i in 0..<3 {
            let row = Array(t.toArray()[(i * 4)..<(i * 4 + 4)])
            #expect(abs((0..<4).map { s[i, $0] }.reduce(0, +) - 1) <= 1e-6)
            #expect(maxAbsDiff((0..<4).map { s[i, $0] }, Reference.softmaxRow(row)) <= 1e-6)
        }
        #expect(abs(l[0, 1] - Reference.logSoftmaxRow([1e4, 1e4 + 1, 1e4 - 1, 1e4])[1]) <= 1e-5)
    }

    @Test func softmaxBackwardMatchesFiniteDifference() {
        let x = randomFloats(6, seed: 8), g = randomFloats(6, seed: 9)
        var y = [Float](repeating: 0, count: 6), dx = y
        Kernels.softmaxRows(x, &y, rows: 1, cols: 6)
        Kernels.softmaxRowsBackward(output: y, grad: g, &dx, rows: 1, cols: 6)
        // d/dx_j of sum_i g_i softmax(x)_i, by central differences in Double.
        for j in 0..<6 {
            var xp = x.map(Double.init), xm = xp
            xp[j] += 1e-4; xm[j] -= 1e-4
            func f(_ v: [Double]) -> Double {
                let m = v.max()!, e = v.map { Foundation.exp($0 - m) }, s = e.reduce(0, +)
                return zip(e, g).map { $0 / s * Double($1) }.reduce(0, +)
            }
            #expect(abs(Double(dx[j]) - (f(xp) - f(xm)) / 2e-4) < 1e-5)
        }
    }

    @Test func reductions() throws {
        for (rows, cols) in [(1, 1), (7, 17), (33, 1), (1, 100), (17, 33)] {
            let x = randomFloats(rows * cols, seed: UInt64(rows * 100 + cols))
            var r = [Float](repeating: 0, count: rows), c = [Float](repeating: 0, count: cols)
            Kernels.rowSums(x, rows: rows, cols: cols, &r)
            Kernels.columnSums(x, rows: rows, cols: cols, &c)
            #expect(maxAbsDiff(r, Reference.rowSums(x, rows: rows, cols: cols)) <= 1e-6 * Float(cols + 1))
            #expect(maxAbsDiff(c, Reference.columnSums(x, rows: rows, cols: cols)) <= 1e-6 * Float(rows + 1))
            #expect(abs(Kernels.sum(x, x.count) - Reference.rowSums(x, rows: 1, cols: x.count)[0]) <= 1e-6 * Float(x.count))
        }
        let t = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(try t.sum(axis: 0).toArray() == [5, 7, 9])
        #expect(try t.sum(axis: 1).toArray() == [6, 15])
        #expect(t.sum() == 21)
        let t3 = try t.reshaped([1, 2, 3])
        #expect(try t3.sum(axis: 0).shape == Shape(2, 3))
        #expect(try t3.sum(axis: 2).shape == Shape(1, 2))
        #expect(throws: TensorError.self) { try t3.sum(axis: 1) }
    }
}
