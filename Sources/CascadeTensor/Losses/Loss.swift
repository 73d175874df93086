import Foundation

/// Training losses as fused tape ops. Each loss takes its prediction as a `Variable`, its
/// targets as plain tensors (data never needs a gradient), checks shapes (a `TensorError`
/// naming the loss and both shapes), computes a scalar [1] value in a numerically stable form
/// with Float64 accumulation, and records one node whose backward is written by hand: the
/// gradient of a fused loss is a simple closed form (`sigmoid(z) - y`, `softmax - onehot`), so
/// no intermediate nodes are kept. Every loss is O(elements of its prediction) both ways.
///
/// The losses live in `Losses/`: `Loss+Logistic.swift` (binary cross-entropy with logits and
/// YouTube's weighted logistic), `Loss+Softmax.swift` (softmax cross-entropy and the
/// sampling-bias-corrected in-batch softmax), `Loss+Pairwise.swift` (BPR, hinge, MSE).
public enum Loss {
    /// How a weighted mean is normalized.
    public enum Normalization: Sendable {
        /// Divide by the sum of the weights (a weighted mean; the default).
        case weightSum
        /// Divide by the number of samples, whatever the weights (weights act as repetition counts).
        case batch
    }

    /// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|). O(1).
    @inline(__always)
    static func softplus(_ x: Float) -> Double {
        let d = Double(x)
        return Swift.max(d, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(d)))
    }

    /// 1 / (1 + e^-x) evaluated on the side that cannot overflow. O(1).
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
        let e = Foundation.exp(x)
        return e / (1 + e)
    }

    /// Throws unless `t` has exactly `count` elements; the message names the loss, the role of
    /// the tensor and both shapes.
    static func requireCount(_ loss: String, _ what: String, _ t: Tensor, _ count: Int, _ reference: Shape) throws {
        guard t.count == count else {
            throw TensorError.shapeMismatch(op: loss, lhs: reference, rhs: t.shape,
                                            reason: "\(what) must have \(count) elements (one per prediction)")
        }
    }

    /// Throws unless every element of `t` is finite and >= 0 (weights, watch times).
    static func requireNonNegative(_ loss: String, _ what: String, _ t: Tensor) throws {
        let p = t.base
        for i in 0..<t.count where !(p[i] >= 0 && p[i].isFinite) {
            throw TensorError.invalidArgument(op: loss, reason: "\(what)[\(i)] = \(p[i]); must be finite and >= 0")
        }
    }

    /// Records the scalar `value` with a backward that scales the precomputed per-element
    /// derivative `dInput` (d loss / d input) by the incoming gradient.
    static func recordScalar(_ value: Double, _ input: Variable, _ dInput: Tensor, name: String) -> Variable {
        let out = Tensor([Float(value)])
        return input.tape.record(out, input: input, name: name) { tape, g in
            let s = g.base[0]
            try tape.accumulate(input, s == 1 ? dInput : dInput.scaled(by: s), fresh: s != 1)
        }
    }
}
