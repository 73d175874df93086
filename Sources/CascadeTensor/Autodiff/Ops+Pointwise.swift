import Foundation

/// Element-wise functions on the tape: the classic activations (fused SIMD kernels, backward
/// from the output), exp, log and square. Each O(n) forward and backward.
extension Variable {
    /// act(self) for the fused activations (identity, relu, sigmoid, tanh).
    public func activation(_ act: Activation) -> Variable {
        if act == .identity { return self }
        let out = Tensor(uninitializedShape: value.shape)
        Kernels.activate(act, value.base, out.base, count: out.count)
        return tape.record(out, input: self, name: act.rawValue) { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.activationBackward(act, output: out.base, grad: g.base, d.base, count: g.count)
            try tape.accumulate(self, d, fresh: true)
        }
    }

    public func relu() -> Variable { activation(.relu) }
    public func sigmoid() -> Variable { activation(.sigmoid) }
    public func tanh() -> Variable { activation(.tanh) }

    /// e^x (SIMD polynomial, relative error < 2e-7); backward g * e^x.
    public func exp() -> Variable {
        let out = Tensor(uninitializedShape: value.shape)
        Kernels.unary(value.base, out.base, out.count) { VectorMath.exp($0) }
        return tape.record(out, input: self, name: "exp") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.mul(g.base, out.base, d.base, count: g.count)
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// Natural log; non-positive inputs give -inf/NaN (a later loss check reports them).
    /// Backward g / x.
    public func log() -> Variable {
        let out = Tensor(uninitializedShape: value.shape)
        let x = value.base, o = out.base
        for i in 0..<out.count { o[i] = Foundation.log(x[i]) }
        return tape.record(out, input: self, name: "log") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.div(g.base, self.value.base, d.base, count: g.count)
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// x^2; backward 2 x g.
    public func square() -> Variable {
        let out = Tensor(uninitializedShape: value.shape)
        Kernels.mul(value.base, value.base, out.base, count: out.count)
        return tape.record(out, input: self, name: "square") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.mul(g.base, self.value.base, d.base, count: g.count)
            Kernels.scale(d.base, by: 2, d.base, count: g.count)
            try tape.accumulate(self, d, fresh: true)
        }
    }
}
