import Testing
@testable import CascadeTensor

/// Gradient checks of the core tape ops: products, broadcasting arithmetic, reductions,
/// pointwise functions and gathers.
@Suite struct AutodiffCoreTests {
    func expectPasses(_ r: GradientCheck.Result, _ what: String) {
        #expect(r.passed, "\(what): \(r)")
        #expect(r.probed > 0)
    }

    @Test func matmulAllTransposes() throws {
        for ta in [false, true] {
            for tb in [false, true] {
                let a = Tensor.normal(ta ? [4, 3] : [3, 4], seed: 1)
                let b = Tensor.normal(tb ? [5, 4] : [4, 5], seed: 2)
                let r = try GradientCheck.check(inputs: [a, b]) { _, v in
                    try v[0].matmul(v[1], transposeSelf: ta, transposeOther: tb)
                }
                expectPasses(r, "matmul ta=\(ta) tb=\(tb)")
            }
        }
    }

    @Test func matmulMatchesKernel() throws {
        let tape = Tape()
        let a = Tensor.normal([7, 9], seed: 3), b = Tensor.normal([9, 11], seed: 4)
        let out = try tape.constant(a).matmul(tape.constant(b))
        let ref = Tensor(shape: [7, 11])
        Reference.gemm(transA: false, transB: false, m: 7, n: 11, k: 9, alpha: 1,
                       a: a.base, lda: 9, b: b.base, ldb: 11, beta: 0, c: ref.base, ldc: 11)
        #expect(maxAbsDiff(out.value.toArray(), ref.toArray()) < 1e-4)
    }

    @Test func batchedMatmul() throws {
        for ta in [false, true] {
            for tb in [false, true] {
                let a = Tensor.normal(ta ? [2, 4, 3] : [2, 3, 4], seed: 5)
                let b = Tensor.normal(tb ? [2, 5, 4] : [2, 4, 5], seed: 6)
                let r = try GradientCheck.check(inputs: [a, b]) { _, v in
                    try v[0].batchedMatmul(v[1], transposeSelf: ta, transposeOther: tb)
                }
                expectPasses(r, "batchedMatmul ta=\(ta) tb=\(tb)")
            }
        }
        let shared = try GradientCheck.check(inputs: [Tensor.normal([3, 2, 4], seed: 7), Tensor.normal([4, 5], seed: 8)]) { _, v in
            try v[0].batchedMatmul(v[1])
        }
        expectPasses(shared, "batchedMatmul shared rhs")
    }

    @Test func linearEachActivation() throws {
        for act in Activation.allCases {
            let w = Parameter("w", Tensor.normal([6, 4], std: 0.5, seed: 9))
            let b = Parameter("b", Tensor.normal([4], std: 0.5, seed: 10))
            let r = try GradientCheck.check(inputs: [Tensor.normal([5, 6], seed: 11)], parameters: [w, b]) { t, v in
                try v[0].linear(t.parameter(w), t.parameter(b), activation: act)
            }
            expectPasses(r, "linear \(act)")
        }
    }

    @Test func broadcastingArithmetic() throws {
        let shapes: [([Int], [Int])] = [([3, 4], [3, 4]), ([3, 4], [4]), ([3, 4], [3, 1]), ([2, 3, 4], [3, 1]),
                                        ([1, 4], [3, 1]), ([2, 1, 4], [3, 4]), ([4], [2, 3, 4])]
        for (sa, sb) in shapes {
            let a = Tensor.normal(sa, seed: 12)
            let b = Tensor.uniform(sb, in: 0.5...2, seed: 13)  // away from 0 for division
            for (name, op) in [("add", { try $0 + $1 }), ("sub", { try $0 - $1 }), ("mul", { try $0 * $1 }),
                               ("div", { try $0 / $1 })] as [(String, (Variable, Variable) throws -> Variable)] {
                let r = try GradientCheck.check(inputs: [a, b]) { _, v in try op(v[0], v[1]) }
                expectPasses(r, "\(name) \(sa) \(sb)")
            }
        }
    }

    @Test func broadcastShapeMismatchNamesShapes() throws {
        let tape = Tape()
        let a = tape.constant(Tensor(shape: [3, 4])), b = tape.constant(Tensor(shape: [3]))
        #expect(throws: TensorError.self) { try a + b }
        do { _ = try a * b } catch { #expect("\(error)".contains("[3, 4]") && "\(error)".contains("[3]")) }
    }

    @Test func reductionsAndPointwise() throws {
        let x = Tensor.normal([2, 3, 4], seed: 14)
        for axis in 0..<3 {
            expectPasses(try GradientCheck.check(inputs: [x]) { _, v in try v[0].sum(axis: axis) }, "sum axis \(axis)")
            expectPasses(try GradientCheck.check(inputs: [x]) { _, v in try v[0].mean(axis: axis, keepDims: true) }, "mean axis \(axis)")
        }
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].sum() }, "sum")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].mean() }, "mean")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].exp() }, "exp")
        expectPasses(try GradientCheck.check(inputs: [Tensor.uniform([5], in: 0.5...3, seed: 15)]) { _, v in v[0].log() }, "log")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].square() }, "square")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].sigmoid() }, "sigmoid")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].tanh() }, "tanh")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in v[0].relu() }, "relu")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in (v[0] * 3).affine(scale: -0.5, shift: 2) }, "affine")
        expectPasses(try GradientCheck.check(inputs: [x]) { _, v in try v[0].reshaped([6, -1]) }, "reshape")
    }

    @Test func gatherDenseAndSparse() throws {
        let ids = try IndexTensor(shape: [2, 3], ids: [0, 4, 4, 2, 0, 1])
        expectPasses(try GradientCheck.check(inputs: [Tensor.normal([5, 3], seed: 16)]) { _, v in try v[0].gather(ids) }, "gather dense")
        let table = Parameter("emb", Tensor.normal([5, 3], seed: 17), sparse: true)
        expectPasses(try GradientCheck.check(inputs: [], parameters: [table]) { t, _ in try t.parameter(table).gather(ids) }, "gather sparse")
        // Sparse tables receive rows, never a dense gradient; coalescing merges duplicates.
        let tape = Tape()
        let out = try tape.parameter(table).gather(ids)
        try tape.backward(out.sum())
        #expect(table.grad == nil)
        let merged = try #require(table.coalescedRowGradient())
        #expect(merged.ids.toArray() == [0, 1, 2, 4])
        #expect(merged.values.toArray() == [2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 2])
        #expect(throws: TensorError.self) { try tape.parameter(table).gather(IndexTensor([Int32(5)])) }
    }

    @Test func parameterUsedTwiceAccumulates() throws {
        let w = Parameter("w", Tensor([2]))
        let tape = Tape()
        let x = tape.parameter(w)
        try tape.backward(try (x * x).sum())  // d(w^2)/dw = 2w = 4
        #expect(w.grad?.toArray() == [4])
        try { let t2 = Tape(); try t2.backward(t2.parameter(w).sum()) }()
        #expect(w.grad?.toArray() == [5])
        w.zeroGradient()
        #expect(w.grad == nil)
    }

    @Test func nonFiniteLossIsReported() throws {
        let tape = Tape()
        let x = tape.constant(Tensor([-1]), requiresGradient: true)
        do {
            try tape.backward(x.log().sum())
            Issue.record("expected an error")
        } catch let e as TensorError {
            #expect("\(e)".contains("NaN") && "\(e)".contains("sum"))
        }
    }

    @Test func checkerCatchesAWrongBackward() throws {
        // An op whose backward is off by a factor of 2 must fail the check.
        let r = try GradientCheck.check(inputs: [Tensor.normal([3], seed: 20)]) { t, v in
            let x = v[0]
            let out = x.value.copy()
            return t.record(out, input: x, name: "broken") { tape, g in
                try tape.accumulate(x, g.scaled(by: 2), fresh: true)
            }
        }
        #expect(!r.passed)
    }

    @Test func dataInputsGetNoGradient() throws {
        let tape = Tape()
        let w = Parameter("w", Tensor.normal([3, 2], seed: 18))
        let x = tape.constant(Tensor.normal([4, 3], seed: 19))
        let y = try x.matmul(tape.parameter(w))
        try tape.backward(y.sum())
        #expect(tape.gradient(of: x) == nil)
        #expect(w.grad != nil)
    }
}

@Suite struct L2NormalizeTests {
    @Test func gradientAndUnitNorm() throws {
        let x = Tensor.normal([4, 5], seed: 30)
        let r = try GradientCheck.check(inputs: [x], epsilon: 1e-3) { _, v in v[0].l2Normalized() }
        #expect(r.passed, "\(r)")
        let tape = Tape()
        let y = tape.constant(x).l2Normalized().value
        for i in 0..<4 {
            let row = Array(y.toArray()[i * 5..<(i + 1) * 5])
            #expect(abs(row.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
        }
    }
}
