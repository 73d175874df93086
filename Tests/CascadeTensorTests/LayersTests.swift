import Foundation
import Testing
@testable import CascadeTensor

/// Layers: gradient checks over parameters and inputs on tiny batches, forward behaviour,
/// parameter naming and shape errors that name the layer.
@Suite struct LayersTests {
    func expectPasses(_ r: GradientCheck.Result, _ what: String) {
        #expect(r.passed, "\(what): \(r)")
        #expect(r.probed > 0)
    }

    func expectUniqueNames(_ c: ParameterContainer, prefix: String) {
        let names = c.parameters.map(\.name)
        #expect(Set(names).count == names.count, "duplicate names in \(names)")
        #expect(names.allSatisfy { $0.hasPrefix(prefix + ".") }, "\(names)")
    }

    func expectLayerError(_ layer: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected a TensorError naming \(layer)")
        } catch let e as TensorError {
            #expect("\(e)".contains(layer), "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func embedding() throws {
        let emb = Embedding(name: "item", rows: 7, dim: 3, seed: 1)
        expectUniqueNames(emb, prefix: "item")
        #expect(emb.table.sparse)
        let ids = try IndexTensor(shape: [2, 2], ids: [6, 0, 3, 6])
        let tape = Tape()
        let out = try emb(ids, tape: tape)
        #expect(out.shape == Shape(2, 2, 3))
        #expect(try out.value.row(1).row(1).toArray() == emb.table.value.row(6).toArray())
        expectPasses(try GradientCheck.check(inputs: [], parameters: [emb.table]) { t, _ in try emb(ids, tape: t) }, "embedding")
        expectLayerError("Embedding item") { _ = try emb(IndexTensor([Int32(7)]), tape: tape) }
        // Same seed, same table; different names, different tables.
        #expect(Embedding(name: "item", rows: 7, dim: 3, seed: 1).table.value.toArray() == emb.table.value.toArray())
        #expect(Embedding(name: "user", rows: 7, dim: 3, seed: 1).table.value.toArray() != emb.table.value.toArray())
    }

    @Test func hashedEmbedding() throws {
        let emb = Embedding(name: "tag", rows: 10, dim: 4, hashed: true)
        let raw: [Int64] = [-5, 0, 1, 123_456_789_012, Int64.max, Int64.min]
        let buckets = raw.map { Embedding.bucket($0, rows: 10) }
        #expect(buckets.allSatisfy { (0..<10).contains($0) })
        #expect(buckets == raw.map { Embedding.bucket($0, rows: 10) })  // fixed function
        // Spread: 10k consecutive ids fill every bucket roughly evenly.
        var counts = [Int](repeating: 0, count: 10)
        for id in 0..<10_000 { counts[Int(Embedding.bucket(Int64(id), rows: 10))] += 1 }
        #expect(counts.allSatisfy { $0 > 800 && $0 < 1200 }, "\(counts)")
        let tape = Tape()
        let a = try emb(hashing: raw, tape: tape)
        #expect(a.shape == Shape(6, 4))
        #expect(try a.value.row(3).toArray() == emb.table.value.row(Int(buckets[3])).toArray())
        // Int32 ids out of range are hashed too rather than rejected.
        let b = try emb(IndexTensor([Int32(1_000_000)]), tape: tape)
        #expect(try b.value.row(0).toArray() == emb.table.value.row(Int(Embedding.bucket(1_000_000, rows: 10))).toArray())
    }

    @Test func embeddingBag() throws {
        let ids = IndexTensor([Int32(1), 4, 4, 0, 2])
        let offsets = [0, 3, 3, 5]
        for mode in [SegmentReduction.sum, .mean] {
            let bag = EmbeddingBag(name: "tags", rows: 5, dim: 3, mode: mode)
            expectUniqueNames(bag, prefix: "tags")
            let tape = Tape()
            let out = try bag(ids, offsets: offsets, tape: tape).value
            #expect(out.shape == Shape(3, 3))
            let t = bag.table.value
            let want = (t[1, 2] + 2 * t[4, 2]) / (mode == .sum ? 1 : 3)
            #expect(abs(out[0, 2] - want) < 1e-6)
            #expect(try out.row(1).toArray() == [0, 0, 0])
            expectPasses(try GradientCheck.check(inputs: [], parameters: [bag.table]) { t, _ in try bag(ids, offsets: offsets, tape: t) }, "bag \(mode)")
            expectLayerError("EmbeddingBag tags") { _ = try bag(ids, offsets: [0, 2, 6], tape: tape) }
            expectLayerError("EmbeddingBag tags") { _ = try bag(IndexTensor([Int32(9)]), offsets: [0, 1], tape: tape) }
        }
        let hashedBag = EmbeddingBag(name: "h", rows: 3, dim: 2, hashed: true)
        let tape = Tape()
        #expect(try hashedBag(IndexTensor([Int32(99), -7]), offsets: [0, 2], tape: tape).shape == Shape(1, 2))
    }

    @Test func linearAndNorms() throws {
        let x = Tensor.normal([4, 5], seed: 2)
        for act in Activation.allCases {
            let lin = Linear(name: "fc", in: 5, out: 3, activation: act, seed: 3)
            try lin.bias!.value.assign(Tensor.normal([3], std: 0.5, seed: 4))
            expectUniqueNames(lin, prefix: "fc")
            expectPasses(try GradientCheck.check(inputs: [x], parameters: lin.parameters) { _, v in try lin(v[0]) }, "Linear \(act)")
        }
        let lin = Linear(name: "fc", in: 5, out: 3, bias: false)
        #expect(lin.parameters.count == 1)
        expectLayerError("Linear fc") { let t = Tape(); _ = try lin(t.constant(Tensor(shape: [4, 4]))) }

        let ln = LayerNorm(name: "ln", features: 5)
        expectUniqueNames(ln, prefix: "ln")
        expectPasses(try GradientCheck.check(inputs: [x], parameters: ln.parameters) { _, v in try ln(v[0]) }, "LayerNorm")
        expectLayerError("LayerNorm ln") { let t = Tape(); _ = try ln(t.constant(Tensor(shape: [4, 4]))) }

        let bn = BatchNorm(name: "bn", features: 5)
        expectUniqueNames(bn, prefix: "bn")
        expectPasses(try GradientCheck.check(inputs: [x], parameters: [bn.gain, bn.bias]) { _, v in try bn(v[0]) }, "BatchNorm training")
        expectPasses(try GradientCheck.check(inputs: [x], parameters: [bn.gain, bn.bias], training: false) { _, v in try bn(v[0]) }, "BatchNorm inference")
        expectLayerError("BatchNorm bn") { let t = Tape(); _ = try bn(t.constant(Tensor(shape: [4, 4]))) }
    }

    @Test func mlpVariants() throws {
        let x = Tensor.normal([6, 4], seed: 5)
        let variants: [(HiddenActivation, HiddenNorm, Float)] = [
            (.relu, .none, 0), (.tanh, .none, 0.25), (.prelu, .layerNorm, 0), (.dice, .batchNorm, 0),
            (.gelu, .none, 0), (.swish(beta: 1), .layerNorm, 0.2), (.leakyReLU(slope: 0.2), .none, 0), (.dice, .none, 0),
        ]
        for (i, (act, norm, drop)) in variants.enumerated() {
            let mlp = MLP(name: "tower", sizes: [4, 8, 5, 2], activation: act, norm: norm, dropout: drop, seed: UInt64(10 + i))
            expectUniqueNames(mlp, prefix: "tower")
            let trainable = mlp.parameters.filter(\.trainable)
            // A small step: kinks (ReLU family) and stacked batch statistics curve sharply.
            expectPasses(try GradientCheck.check(inputs: [x], parameters: trainable, epsilon: 1e-3) { _, v in try mlp(v[0]) }, "MLP \(act) \(norm) \(drop)")
            let inference = Tape(training: false)
            #expect(try mlp(inference.constant(x)).shape == Shape(6, 2))
        }
        let mixed = MLP(name: "mixed", sizes: [4, 6, 5, 2], activations: [.dice, .prelu], dropout: 0.1, seed: 30)
        expectUniqueNames(mixed, prefix: "mixed")
        #expect(mixed.activations.map(\.kind) == [.dice, .prelu])
        expectPasses(try GradientCheck.check(inputs: [x], parameters: mixed.parameters.filter(\.trainable), epsilon: 1e-3) { _, v in
            try mixed(v[0])
        }, "MLP mixed activations")
        let mlp = MLP(name: "tower", sizes: [4, 3, 1], outputActivation: .sigmoid)
        #expect(mlp.parameters.count == 4)
        let tape = Tape()  // variables hold their tape unowned: keep it alive
        let y = try mlp(tape.constant(x)).value.toArray()
        #expect(y.allSatisfy { $0 > 0 && $0 < 1 })
        expectLayerError("MLP tower") { _ = try mlp(tape.constant(Tensor(shape: [6, 5]))) }
    }

    @Test func multiHeadAttention() throws {
        let mha = MultiHeadAttention(name: "self", dim: 4, heads: 2, seed: 6)
        expectUniqueNames(mha, prefix: "self")
        #expect(mha.parameterCount == 4 * (16 + 4))
        let x = Tensor.normal([2, 3, 4], seed: 7)
        let mask = try Tensor(shape: [2, 3], values: [1, 1, 0, 1, 0, 0])
        expectPasses(try GradientCheck.check(inputs: [x], parameters: mha.parameters) { _, v in try mha(v[0]) }, "MHA")
        expectPasses(try GradientCheck.check(inputs: [x], parameters: mha.parameters) { _, v in try mha(v[0], mask: mask) }, "MHA masked")
        // Padded keys have no influence on any output.
        let tape = Tape()
        let before = try mha(tape.constant(x), mask: mask).value
        let x2 = x.copy()
        x2[0, 2, 1] += 5
        x2[1, 2, 3] -= 5
        let after = try mha(tape.constant(x2), mask: mask).value
        for (b, t) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            #expect(maxAbsDiff(try before.row(b).row(t).toArray(), try after.row(b).row(t).toArray()) < 1e-5)
        }
        // One head with identity projections is plain softmax(x x^T / sqrt(d)) x.
        let one = MultiHeadAttention(name: "one", dim: 2, heads: 1)
        for l in [one.query, one.key, one.value, one.output] {
            try l.weight.value.assign(Tensor(rows: [[1, 0], [0, 1]]))
        }
        let seq = try Tensor(shape: [1, 2, 2], values: [1, 0, 0, 2])
        let o = try one(tape.constant(seq)).value
        let w0 = Reference.softmaxRow([1 / Float(2).squareRoot(), 0])
        #expect(abs(o[0, 0, 1] - w0[1] * 2) < 1e-5 && abs(o[0, 0, 0] - w0[0]) < 1e-5)
        expectLayerError("MultiHeadAttention self") { _ = try mha(tape.constant(Tensor(shape: [2, 3, 5]))) }
        expectLayerError("MultiHeadAttention self") { _ = try mha(tape.constant(x), mask: Tensor(shape: [2, 4])) }
    }

    @Test func targetAttention() throws {
        let q = Tensor.normal([3, 2], seed: 8), keys = Tensor.normal([3, 4, 2], seed: 9)
        let mask = try Tensor(shape: [3, 4], values: [1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1])
        for (act, normalize) in [(HiddenActivation.dice, false), (.prelu, true), (.relu, false)] {
            let att = TargetAttention(name: "din", dim: 2, hidden: [6, 3], activation: act, normalize: normalize, seed: 10)
            expectUniqueNames(att, prefix: "din")
            let params = att.parameters.filter(\.trainable)
            expectPasses(try GradientCheck.check(inputs: [q, keys], parameters: params) { _, v in
                try att(query: v[0], keys: v[1], mask: mask)
            }, "TargetAttention \(act) normalize=\(normalize)")
            // Inference: padded steps do not matter and get weight 0.
            let tape = Tape(training: false)
            let w = try att.weights(query: tape.constant(q), keys: tape.constant(keys), mask: mask).value
            #expect(w[0, 3] == 0 && w[1, 1] == 0 && w[1, 3] == 0)
            if normalize { #expect(abs(w[1, 0] - 1) < 1e-6) }
            let k2 = keys.copy()
            k2[0, 3, 0] += 7
            k2[1, 2, 1] -= 7
            let a = try att(query: tape.constant(q), keys: tape.constant(keys), mask: mask).value
            let b = try att(query: tape.constant(q), keys: tape.constant(k2), mask: mask).value
            #expect(maxAbsDiff(a.toArray(), b.toArray()) < 1e-5)
            // Output is the weighted sum of keys.
            let want = (0..<4).reduce(Float(0)) { $0 + w[2, $1] * keys[2, $1, 1] }
            #expect(abs(a[2, 1] - want) < 1e-5)
        }
        let att = TargetAttention(name: "din", dim: 2)
        let tape = Tape()
        expectLayerError("TargetAttention din") { _ = try att(query: tape.constant(Tensor(shape: [3, 3])), keys: tape.constant(keys)) }
        expectLayerError("TargetAttention din") { _ = try att(query: tape.constant(q), keys: tape.constant(Tensor(shape: [2, 4, 2]))) }
        expectLayerError("TargetAttention din") { _ = try att(query: tape.constant(q), keys: tape.constant(keys), mask: Tensor(shape: [3, 3])) }
    }
}
