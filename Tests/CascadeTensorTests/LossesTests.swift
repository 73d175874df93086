import Foundation
import Testing
@testable import CascadeTensor

/// Gradient checks, hand-computed values, stability at extreme logits and shape errors of the
/// fused losses.
@Suite struct LossesTests {
    func expectPasses(_ r: GradientCheck.Result, _ what: String) {
        #expect(r.passed, "\(what): \(r)")
        #expect(r.probed > 0)
    }

    func value(_ f: (Tape) throws -> Variable) throws -> Float {
        let tape = Tape()
        return try withExtendedLifetime(tape) { try f(tape).scalar }
    }

    @Test func binaryCrossEntropy() throws {
        let z = Tensor.normal([6], std: 2, seed: 1)
        let y = Tensor([1, 0, 1, 0, 0.3, 1])
        let w = Tensor([1, 2, 0.5, 1, 3, 0])
        expectPasses(try GradientCheck.check(inputs: [z]) { _, v in try Loss.binaryCrossEntropy(logits: v[0], targets: y) }, "bce")
        for norm in [Loss.Normalization.weightSum, .batch] {
            expectPasses(try GradientCheck.check(inputs: [z]) { _, v in
                try Loss.binaryCrossEntropy(logits: v[0], targets: y, weights: w, normalization: norm)
            }, "bce weighted \(norm)")
        }
        // Hand-computed: z = [0, 2], y = [1, 0]: (log 2 + log(1 + e^2)) / 2.
        let l = try value { t in try Loss.binaryCrossEntropy(logits: t.constant(Tensor([0, 2])), targets: Tensor([1, 0])) }
        #expect(abs(Double(l) - (log(2) + log(1 + exp(2.0))) / 2) < 1e-6)
        // Weighted mean over the weight sum: weights [3, 1] -> (3 log 2 + log(1+e^2)) / 4.
        let lw = try value { t in
            try Loss.binaryCrossEntropy(logits: t.constant(Tensor([0, 2])), targets: Tensor([1, 0]), weights: Tensor([3, 1]))
        }
        #expect(abs(Double(lw) - (3 * log(2) + log(1 + exp(2.0))) / 4) < 1e-6)
    }

    @Test func bceIsStableAtExtremeLogits() throws {
        let tape = Tape()
        let z = tape.constant(Tensor([1000, -1000, 80, -80]), requiresGradient: true)
        let loss = try Loss.binaryCrossEntropy(logits: z, targets: Tensor([0, 1, 1, 0]))
        #expect(abs(loss.scalar - 500) < 1e-3)  // (1000 + 1000 + ~0 + ~0) / 4
        try tape.backward(loss)
        let g = try #require(tape.gradient(of: z)).toArray()
        #expect(maxAbsDiff(g, [0.25, -0.25, 0, 0]) < 1e-6)
    }

    @Test func weightedLogisticUsesWatchTimeForPositives() throws {
        let z = Tensor.normal([5], seed: 2)
        let clicked = Tensor([1, 0, 1, 0, 0]), watch = Tensor([30, 99, 5, 0, 7])
        expectPasses(try GradientCheck.check(inputs: [z]) { _, v in
            try Loss.weightedLogistic(logits: v[0], clicked: clicked, watchTime: watch)
        }, "weighted logistic")
        // Same as BCE with weights [30, 1, 5, 1, 1] normalized by the batch.
        let a = try value { t in try Loss.weightedLogistic(logits: t.constant(z), clicked: clicked, watchTime: watch) }
        let b = try value { t in
            try Loss.binaryCrossEntropy(logits: t.constant(z), targets: clicked, weights: Tensor([30, 1, 5, 1, 1]), normalization: .batch)
        }
        #expect(a == b)
        // At the optimum of a single shared logit, exp(logit) = sum(T) / negatives.
        var logit: Float = 0
        for _ in 0..<300 {
            let tape = Tape()
            let v = tape.constant(Tensor(shape: [5], repeating: logit), requiresGradient: true)
            try tape.backward(try Loss.weightedLogistic(logits: v, clicked: clicked, watchTime: watch))
            logit -= 0.5 * (tape.gradient(of: v)?.sum() ?? 0)
        }
        #expect(abs(exp(logit) - 35.0 / 3) < 1e-2)
        let tape = Tape()
        #expect(throws: TensorError.self) {
            try Loss.weightedLogistic(logits: tape.constant(z), clicked: Tensor([1, 0, 2, 0, 0]), watchTime: watch)
        }
    }

    @Test func softmaxCrossEntropy() throws {
        let z = Tensor.normal([4, 5], std: 2, seed: 3)
        let t = IndexTensor([Int32(0), 4, 2, 2])
        expectPasses(try GradientCheck.check(inputs: [z]) { _, v in try Loss.softmaxCrossEntropy(logits: v[0], targets: t) }, "softmax ce")
        var expected = 0.0
        for i in 0..<4 {
            let row = (0..<5).map { Double(z.base[i * 5 + $0]) }
            expected += log(row.map(exp).reduce(0, +)) - row[Int(t.base[i])]
        }
        let l = try value { tape in try Loss.softmaxCrossEntropy(logits: tape.constant(z), targets: t) }
        #expect(abs(Double(l) - expected / 4) < 1e-5)
        let big = try value { tape in
            try Loss.softmaxCrossEntropy(logits: tape.constant(Tensor(rows: [[1e4, 0, -1e4]])), targets: IndexTensor([Int32(1)]))
        }
        #expect(abs(big - 1e4) < 1)
        let tape = Tape()
        #expect(throws: TensorError.self) {
            try Loss.softmaxCrossEntropy(logits: tape.constant(z), targets: IndexTensor([Int32(0), 5, 1, 1]))
        }
    }

    @Test func sampledSoftmaxGradients() throws {
        let b = 4, n = 3
        let logits = Tensor.normal([b, b + n], seed: 4)
        let logQ = Tensor.uniform([b + n], in: -6 ... -1, seed: 5)
        let mask = try Loss.collisionMask(itemIds: IndexTensor([Int32(7), 3, 7, 9, 3, 1, 2]), rows: b)
        #expect(mask.toArray()[0 ..< 7] == [1, 1, 0, 1, 1, 1, 1])
        #expect(mask.toArray()[7 ..< 14] == [1, 1, 1, 1, 0, 1, 1])
        for (q, m, temp) in [(nil, nil, Float(1)), (logQ, nil, 0.5), (logQ, mask, 0.2)] as [(Tensor?, Tensor?, Float)] {
            expectPasses(try GradientCheck.check(inputs: [logits], epsilon: 2e-3) { _, v in
                try Loss.sampledSoftmax(logits: v[0], logQ: q, mask: m, temperature: temp)
            }, "sampled softmax logQ \(q != nil) mask \(m != nil) t \(temp)")
        }
        // In-batch [B, B] square form.
        expectPasses(try GradientCheck.check(inputs: [Tensor.normal([3, 3], seed: 6)]) { _, v in
            try Loss.sampledSoftmax(logits: v[0], logQ: Tensor([-1, -2, -3]))
        }, "in-batch")
    }

    @Test func sampledSoftmaxHandComputed() throws {
        // Two users, two items: s = [[2, 1], [0, 3]], log q = [ln 0.5, ln 0.25], temperature 1.
        // Corrected: row 0 = [2 - ln .5, 1 - ln .25] = [2.6931, 2.3863]; row 1 = [0.6931, 4.3863].
        // Masking item 1 out of row 0 leaves row 0 a single column: loss 0 there.
        let s = Tensor(rows: [[2, 1], [0, 3]])
        let lq = Tensor([log(0.5), log(0.25)])
        func ce(_ r: [Double], _ t: Int) -> Double { log(r.map(exp).reduce(0, +)) - r[t] }
        let r0 = [2 - log(0.5), 1 - log(0.25)], r1 = [0 - log(0.5), 3 - log(0.25)]
        let tape = Tape()
        let v = tape.constant(s, requiresGradient: true)
        let loss = try Loss.sampledSoftmax(logits: v, logQ: lq)
        #expect(abs(Double(loss.scalar) - (ce(r0, 0) + ce(r1, 1)) / 2) < 1e-6)
        try tape.backward(loss)
        let p0 = exp(r0[1]) / (exp(r0[0]) + exp(r0[1]))  // probability of the negative in row 0
        let p1 = exp(r1[0]) / (exp(r1[0]) + exp(r1[1]))
        let g = try #require(tape.gradient(of: v)).toArray().map(Double.init)
        let want = [-p0 / 2, p0 / 2, p1 / 2, -p1 / 2]
        for i in 0..<4 { #expect(abs(g[i] - want[i]) < 1e-6, "element \(i): \(g[i]) vs \(want[i])") }
        let masked = try Loss.sampledSoftmax(logits: tape.constant(s), logQ: lq, mask: Tensor(rows: [[1, 0], [1, 1]]))
        #expect(abs(Double(masked.scalar) - ce(r1, 1) / 2) < 1e-6)
        // Without the correction the popular item's logit is not shifted.
        let plain = try Loss.sampledSoftmax(logits: tape.constant(s))
        #expect(abs(Double(plain.scalar) - (ce([2, 1], 0) + ce([0, 3], 1)) / 2) < 1e-6)
    }

    @Test func pairwiseLosses() throws {
        let pos = Tensor.normal([3], seed: 7), neg = Tensor.normal([3, 2], seed: 8)
        expectPasses(try GradientCheck.check(inputs: [pos, neg]) { _, v in try Loss.bpr(positive: v[0], negative: v[1]) }, "bpr")
        // Hinge: keep every pair away from the kink (|margin - p + n| > epsilon).
        let hp = Tensor([1, 0, 2]), hn = Tensor(rows: [[0.5, -2], [0.3, 1], [0, 5]])
        expectPasses(try GradientCheck.check(inputs: [hp, hn]) { _, v in
            try Loss.hinge(positive: v[0], negative: v[1], margin: 1)
        }, "hinge")
        // Hand values: bpr of (2, -1) is log(1 + e^-3); hinge(m=1) of (1, 0.5) is 0.5 and of (3, 0) is 0.
        let b = try value { t in try Loss.bpr(positive: t.constant(Tensor([2])), negative: t.constant(Tensor([-1]))) }
        #expect(abs(Double(b) - log(1 + exp(-3.0))) < 1e-6)
        let h = try value { t in try Loss.hinge(positive: t.constant(Tensor([1, 3])), negative: t.constant(Tensor([0.5, 0]))) }
        #expect(abs(h - 0.25) < 1e-6)
        let far = try value { t in try Loss.bpr(positive: t.constant(Tensor([-500])), negative: t.constant(Tensor([500]))) }
        #expect(abs(far - 1000) < 1e-2)
        #expect(throws: TensorError.self) {
            let t = Tape()
            return try Loss.bpr(positive: t.constant(Tensor(shape: [3])), negative: t.constant(Tensor(shape: [4])))
        }
    }

    @Test func meanSquaredError() throws {
        let p = Tensor.normal([2, 3], seed: 9), t = Tensor.normal([6], seed: 10)
        expectPasses(try GradientCheck.check(inputs: [p]) { _, v in try Loss.meanSquaredError(prediction: v[0], target: t) }, "mse")
        expectPasses(try GradientCheck.check(inputs: [p]) { _, v in
            try Loss.meanSquaredError(prediction: v[0], target: t, weights: Tensor([1, 2, 3, 0, 1, 1]))
        }, "mse weighted")
        let l = try value { tape in try Loss.meanSquaredError(prediction: tape.constant(Tensor([1, 2])), target: Tensor([0, 4])) }
        #expect(l == 2.5)
    }

    @Test func shapeErrorsNameTheLossAndShapes() throws {
        let tape = Tape()
        let z = tape.constant(Tensor(shape: [4, 3]))
        let cases: [(String, () throws -> Variable)] = [
            ("binaryCrossEntropy", { try Loss.binaryCrossEntropy(logits: z, targets: Tensor(shape: [5])) }),
            ("binaryCrossEntropy", { try Loss.binaryCrossEntropy(logits: z, targets: Tensor(shape: [12]), weights: Tensor(shape: [3])) }),
            ("softmaxCrossEntropy", { try Loss.softmaxCrossEntropy(logits: z, targets: IndexTensor([Int32(0)])) }),
            ("sampledSoftmax", { try Loss.sampledSoftmax(logits: z) }),
            ("sampledSoftmax", { try Loss.sampledSoftmax(logits: tape.constant(Tensor(shape: [3, 4])), logQ: Tensor(shape: [3])) }),
            ("sampledSoftmax", { try Loss.sampledSoftmax(logits: tape.constant(Tensor(shape: [3, 4])), mask: Tensor(shape: [3, 3])) }),
            ("meanSquaredError", { try Loss.meanSquaredError(prediction: z, target: Tensor(shape: [2])) }),
            ("hinge", { try Loss.hinge(positive: z, negative: tape.constant(Tensor(shape: [5]))) }),
            ("weightedLogistic", { try Loss.weightedLogistic(logits: z, clicked: Tensor(shape: [12]), watchTime: Tensor(shape: [1])) }),
        ]
        for (name, f) in cases {
            do {
                _ = try f()
                Issue.record("\(name) accepted bad shapes")
            } catch let e as TensorError {
                let text = "\(e)"
                #expect(text.contains(name) && text.contains("["), "\(text)")
            }
        }
    }
}
