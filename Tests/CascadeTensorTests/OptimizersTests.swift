import Foundation
import Testing
@testable import CascadeTensor

/// Hand-computed steps of every optimizer, lazy row updates, FTRL sparsity, clipping,
/// non-finite gradients, schedules, and two end-to-end trainings (logistic regression against
/// Newton's method, an MLP on XOR).
@Suite struct OptimizersTests {
    /// Applies `grads` (one per step) to a fresh parameter holding `start` and returns the
    /// values after each step.
    func run(_ opt: some Optimizer, start: [Float], grads: [[Float]]) throws -> [[Float]] {
        let p = Parameter("w", Tensor(start))
        var out: [[Float]] = []
        for g in grads {
            try p.addGradient(Tensor(g))
            try opt.step([p])
            #expect(p.grad == nil)
            out.append(p.value.toArray())
        }
        return out
    }

    func expectClose(_ a: [Float], _ b: [Double], _ tol: Double = 1e-6, _ what: String) {
        #expect(a.count == b.count, "\(what)")
        for (x, y) in zip(a, b) { #expect(abs(Double(x) - y) <= tol * max(1, abs(y)), "\(what): \(a) vs \(b)") }
    }

    // Eleven elements exercise both the 8-lane body and the tail.
    let start: [Float] = (0..<11).map { Float($0) * 0.25 - 1 }
    let g1: [Float] = (0..<11).map { Float($0 % 4) * 0.5 - 0.7 }
    let g2: [Float] = (0..<11).map { 0.3 - Float($0 % 3) * 0.4 }

    @Test func sgdMomentumAndNesterov() throws {
        // Two elements by hand: w = [1, -2], g = [0.5, 1] twice, rate 0.1, momentum 0.9.
        let plain = try run(SGD(learningRate: 0.1, momentum: 0.9), start: [1, -2], grads: [[0.5, 1], [0.5, 1]])
        expectClose(plain[0], [0.95, -2.1], 1e-6, "sgd step 1")
        expectClose(plain[1], [0.855, -2.29], 1e-6, "sgd step 2")  // b = [0.95, 1.9]
        let nest = try run(SGD(learningRate: 0.1, momentum: 0.9, nesterov: true), start: [1, -2], grads: [[0.5, 1], [0.5, 1]])
        expectClose(nest[0], [0.905, -2.19], 1e-6, "nesterov step 1")
        expectClose(nest[1], [0.7695, -2.461], 1e-6, "nesterov step 2")
        let none = try run(SGD(learningRate: 0.5), start: start, grads: [g1])
        expectClose(none[0], zip(start, g1).map { Double($0) - 0.5 * Double($1) }, 1e-6, "plain sgd")
    }

    /// Scalar Double reference of Adam/AdamW for two steps.
    func adamReference(lr: Double, wd: Double, decoupled: Bool) -> [[Double]] {
        var w = start.map(Double.init), m = [Double](repeating: 0, count: 11), v = m
        var out: [[Double]] = []
        for (t, g) in [g1, g2].enumerated() {
            for i in 0..<11 {
                let gi = Double(g[i]) + (decoupled ? 0 : wd * w[i])
                m[i] = 0.9 * m[i] + 0.1 * gi
                v[i] = 0.999 * v[i] + 0.001 * gi * gi
                let mh = m[i] / (1 - pow(0.9, Double(t + 1))), vh = v[i] / (1 - pow(0.999, Double(t + 1)))
                if decoupled { w[i] *= 1 - lr * wd }
                w[i] -= lr * mh / (vh.squareRoot() + 1e-8)
            }
            out.append(w)
        }
        return out
    }

    @Test func adamAndAdamW() throws {
        let a = try run(Adam(learningRate: 0.01), start: start, grads: [g1, g2])
        let ra = adamReference(lr: 0.01, wd: 0, decoupled: false)
        // First step is rate * sign(g) by hand.
        expectClose(a[0], zip(start, g1).map { Double($0) - 0.01 * ($1 > 0 ? 1 : -1) }, 1e-5, "adam step 1 by hand")
        expectClose(a[1], ra[1], 1e-5, "adam step 2")
        let l2 = try run(Adam(learningRate: 0.01, weightDecay: 0.1), start: start, grads: [g1, g2])
        expectClose(l2[1], adamReference(lr: 0.01, wd: 0.1, decoupled: false)[1], 1e-5, "adam l2")
        let w = try run(AdamW(learningRate: 0.01, weightDecay: 0.1), start: start, grads: [g1, g2])
        let rw = adamReference(lr: 0.01, wd: 0.1, decoupled: true)
        expectClose(w[0], rw[0], 1e-5, "adamw step 1")
        expectClose(w[1], rw[1], 1e-5, "adamw step 2")
    }

    @Test func adagradByHand() throws {
        let r = try run(Adagrad(learningRate: 0.1, initialAccumulator: 0.1), start: [1, 1], grads: [[0.5, -1], [0.5, 2]])
        let s1 = [1 - 0.1 * 0.5 / 0.35.squareRoot(), 1 + 0.1 / 1.1.squareRoot()]
        expectClose(r[0], s1, 1e-5, "adagrad step 1")
        expectClose(r[1], [s1[0] - 0.1 * 0.5 / 0.6.squareRoot(), s1[1] - 0.2 / 5.1.squareRoot()], 1e-5, "adagrad step 2")
    }

    @Test func ftrlByHandAndExactZeros() throws {
        // w = 0, g = 0.5, alpha 0.1, beta 1, l1 0.1, l2 0.01: z = 0.5, n = 0.25,
        // w = -(0.5 - 0.1) / ((1 + 0.5) / 0.1 + 0.01).
        let ftrl = FTRL(alpha: 0.1, beta: 1, l1: 0.1, l2: 0.01)
        let r = try run(ftrl, start: [0, 0], grads: [[0.5, 0.05], [-0.2, 0.05]])
        let w1 = -0.4 / 15.01
        expectClose(r[0], [w1, 0], 1e-6, "ftrl step 1")  // |z| = 0.05 <= l1: exactly 0
        // Step 2, first coordinate: sigma = (sqrt(0.29) - 0.5) / 0.1; z = 0.5 - 0.2 - sigma w1.
        let sigma = (0.29.squareRoot() - 0.5) / 0.1, z = 0.3 - sigma * w1
        expectClose(r[1], [-(z - 0.1) / ((1 + 0.29.squareRoot()) / 0.1 + 0.01), 0], 1e-6, "ftrl step 2")
        #expect(r[1][1] == 0)
        // Strong L1: every weight stays exactly zero; no L1: none does.
        let grads = (0..<5).map { k in randomFloats(37, seed: UInt64(k)).map { $0 * 0.3 } }
        let sparse = try run(FTRL(alpha: 0.5, l1: 5), start: [Float](repeating: 0, count: 37), grads: grads)
        #expect(sparse.last!.allSatisfy { $0 == 0 })
        let dense = try run(FTRL(alpha: 0.5, l1: 0), start: [Float](repeating: 0, count: 37), grads: grads)
        #expect(dense.last!.allSatisfy { $0 != 0 })
        let some = try run(FTRL(alpha: 0.5, l1: 0.4), start: [Float](repeating: 0, count: 37), grads: grads)
        let zeros = some.last!.filter { $0 == 0 }.count
        #expect(zeros > 0 && zeros < 37, "moderate L1 zeros \(zeros) of 37")
    }

    @Test func lazyOptimizersLeaveUntouchedRowsBitIdentical() throws {
        for make in [{ LazyAdam(learningRate: 0.1) as GradientOptimizer }, { LazyAdagrad(learningRate: 0.1) }, { FTRL(alpha: 0.1) }] {
            let opt = make()
            let table = Parameter("emb", Tensor.normal([6, 11], seed: 3), sparse: true)
            let before = table.value.toArray()
            for ids in [[1, 4, 1], [4, 2]] as [[Int32]] {
                let tape = Tape()
                let rows = try tape.parameter(table).gather(IndexTensor(ids))
                try tape.backward(try (rows * tape.constant(Tensor.normal([ids.count, 11], seed: 4))).sum())
                try opt.step([table])
            }
            let after = table.value.toArray()
            for r in 0..<6 {
                let same = (0..<11).allSatisfy { before[r * 11 + $0].bitPattern == after[r * 11 + $0].bitPattern }
                #expect(same == [0, 3, 5].contains(r), "\(opt.kind) row \(r) changed: \(!same)")
            }
            let state = opt.exportState().slots
            for (key, t) in state where key.hasPrefix("emb#") {
                let fresh = opt.kind.hasPrefix("lazyAdagrad") ? Float(0.1) : 0
                #expect((0..<11).allSatisfy { t.base[5 * 11 + $0] == fresh }, "\(key) row 5 untouched")
            }
        }
        // Touched rows match dense Adam on the first step (untouched rows have zero moments).
        let a = Parameter("emb", Tensor.normal([4, 3], seed: 5), sparse: true)
        let b = Parameter("emb", a.value.copy(), sparse: false)
        let ids = IndexTensor([Int32(2), 0, 2])
        let gv = Tensor.normal([3, 3], seed: 6)
        try a.addRowGradient(ids: ids, values: gv)
        try b.addGradient(Tensor(shape: [4, 3]).scatterRowsForTest(ids: ids, values: gv))
        try LazyAdam(learningRate: 0.1).step([a])
        try Adam(learningRate: 0.1).step([b])
        #expect(a.value.toArray() == b.value.toArray())
        // A dense gradient on a sparse table is applied densely (all rows move).
        let c = Parameter("emb", Tensor.normal([4, 3], seed: 7), sparse: true)
        let c0 = c.value.toArray()
        try c.addGradient(Tensor.normal([4, 3], seed: 8))
        try c.addRowGradient(ids: ids, values: gv)
        try LazyAdam(learningRate: 0.1).step([c])
        #expect(zip(c0, c.value.toArray()).allSatisfy { $0 != $1 })
        #expect(c.rowGrads.isEmpty && c.grad == nil)
    }

    @Test func clippingByGlobalNormAndValue() throws {
        let p = Parameter("p", Tensor([0, 0])), q = Parameter("q", Tensor([0, 0, 0]))
        let sgd = SGD(learningRate: 1, clipping: GradientClipping(maxGlobalNorm: 1))
        try p.addGradient(Tensor([3, 0]))
        try q.addGradient(Tensor([0, 4, 0]))
        try sgd.step([p, q])
        #expect(sgd.lastGradientNorm == 5)
        expectClose(p.value.toArray() + q.value.toArray(), [-0.6, 0, 0, -0.8, 0], 1e-6, "clipped to norm 1")
        let small = SGD(learningRate: 1, clipping: GradientClipping(maxGlobalNorm: 10))
        try p.addGradient(Tensor([3, 0]))
        try small.step([p])
        expectClose(p.value.toArray(), [-3.6, 0], 1e-6, "norm under the limit is unchanged")
        let byValue = SGD(learningRate: 1, clipping: GradientClipping(maxValue: 1))
        try q.addGradient(Tensor([3, -0.2, -7]))
        try byValue.step([q])
        expectClose(q.value.toArray(), [-1, -0.6, 1], 1e-6, "clipped by value")
    }

    @Test func nonFiniteGradientChangesNothing() throws {
        let good = Parameter("good", Tensor([1, 2])), bad = Parameter("tower/bad", Tensor(shape: [3, 5], repeating: 1))
        let adam = Adam(learningRate: 0.1)
        try good.addGradient(Tensor([1, 1]))
        let g = Tensor(shape: [3, 5], repeating: 0.5)
        g.base[12] = .nan
        try bad.addGradient(g)
        do {
            try adam.step([good, bad])
            Issue.record("expected nonFinite")
        } catch let TensorError.nonFinite(op, reason) {
            #expect(op.contains("adam") && reason.contains("tower/bad") && reason.contains("12"), "\(reason)")
        }
        #expect(good.value.toArray() == [1, 2] && bad.value.toArray().allSatisfy { $0 == 1 })
        #expect(adam.stepCount == 0 && good.grad != nil && bad.grad != nil)
        let sparse = Parameter("emb", Tensor(shape: [4, 2]), sparse: true)
        try sparse.addRowGradient(ids: IndexTensor([Int32(1)]), values: Tensor([.infinity, 0]))
        #expect(throws: TensorError.self) { try LazyAdam().step([sparse]) }
    }

    @Test func scheduleValues() {
        #expect(ConstantRate(0.1).rate(at: 1000) == 0.1)
        let warm = LinearWarmup(steps: 4, then: ConstantRate(1))
        #expect((0..<6).map { warm.rate(at: $0) } == [0.25, 0.5, 0.75, 1, 1, 1])
        let step = StepDecay(initial: 1, factor: 0.5, every: 10)
        #expect([0, 9, 10, 25].map { step.rate(at: $0) } == [1, 1, 0.5, 0.25])
        let cos = CosineDecay(initial: 1, steps: 100, minimum: 0.1)
        #expect(cos.rate(at: 0) == 1 && abs(cos.rate(at: 50) - 0.55) < 1e-6 && cos.rate(at: 100) == 0.1 && cos.rate(at: 500) == 0.1)
        let inv = InverseSqrtDecay(peak: 1, warmupSteps: 4)
        #expect(inv.rate(at: 1) == 0.5 && inv.rate(at: 3) == 1 && inv.rate(at: 15) == 0.5)
        // The optimizer asks the schedule with its step count.
        let sgd = SGD(schedule: StepDecay(initial: 1, factor: 0.1, every: 1))
        #expect(sgd.learningRate == 1)
    }

    @Test func vectorSquareRootWithinOneUlp() {
        var rng = TensorRandom(seed: 9)
        var worst: Float = 0
        for _ in 0..<4000 {
            var v = SIMD8<Float>()
            for j in 0..<8 { v[j] = Float(exp(Double(rng.nextUnitFloat()) * 170 - 85)) }
            let s = OptimizerKernels.sqrt(v)
            for j in 0..<8 { worst = max(worst, abs(s[j] - v[j].squareRoot()) / v[j].squareRoot().ulp) }
        }
        #expect(worst <= 1, "worst error \(worst) ulp")
        let edge = OptimizerKernels.sqrt(SIMD8<Float>(0, 1, 4, .infinity, Float.leastNormalMagnitude / 16, 2, 1e38, 0.25))
        #expect(edge[0] == 0 && edge[1] == 1 && edge[2] == 2 && edge[3] == .infinity && edge[4] == 0 && edge[7] == 0.5)
    }

    @Test func stateExportImportRoundTrip() throws {
        let p = Parameter("w", Tensor(start))
        let a = Adam(learningRate: 0.01)
        try p.addGradient(Tensor(g1))
        try a.step([p])
        let b = Adam(learningRate: 0.01)
        try b.importState(a.exportState())
        #expect(b.stepCount == 1)
        let q = Parameter("w", p.value.copy())
        try p.addGradient(Tensor(g2)); try a.step([p])
        try q.addGradient(Tensor(g2)); try b.step([q])
        #expect(p.value.toArray() == q.value.toArray())
        #expect(throws: TensorError.self) { try SGD().importState(a.exportState()) }
    }
}

extension Tensor {
    /// A copy of this zero tensor with `values` rows added at `ids` (test helper).
    func scatterRowsForTest(ids: IndexTensor, values: Tensor) -> Tensor {
        let t = copy()
        Kernels.scatterAddRows(table: t.base, tableRows: shape[0], cols: shape[1], ids: ids.base, count: ids.count,
                               values: values.base, threads: 1)
        return t
    }
}
