import Foundation

/// Activations beyond the fused four: leaky ReLU, PReLU, Swish/SiLU, GELU and Dice, each with
/// its hand-written backward. All are O(n) forward and backward.
extension Variable {
    /// max(x, 0) + slope min(x, 0) (Maas et al. 2013). Backward g where x > 0, slope g elsewhere.
    public func leakyReLU(slope: Float = 0.01) -> Variable {
        let out = Tensor(uninitializedShape: value.shape)
        let s = SIMD8(repeating: slope)
        Kernels.unary(value.base, out.base, out.count) { $0.replacing(with: $0 * s, where: $0 .< 0) }
        return tape.record(out, input: self, name: "leakyReLU") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.binary(self.value.base, g.base, d.base, g.count) { $1.replacing(with: $1 * s, where: $0 .< 0) }
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// PReLU (He et al. 2015): x for x > 0, alpha[c] x otherwise, with a learned slope per
    /// channel. `alpha` has shape [C] and self [..., C]. O(n) both ways.
    public func prelu(_ alpha: Variable) throws -> Variable {
        try sameTape(alpha, "prelu")
        let x = self, cols = value.shape.last, rows = value.shape.rows
        guard alpha.value.count == cols else {
            throw TensorError.shapeMismatch(op: "prelu", lhs: value.shape, rhs: alpha.value.shape,
                                            reason: "alpha needs one slope per channel (\(cols))")
        }
        let out = Tensor(uninitializedShape: value.shape)
        let xp = value.base, ap = alpha.value.base, op = out.base
        for r in 0..<rows {
            for c in 0..<cols { let v = xp[r * cols + c]; op[r * cols + c] = v > 0 ? v : ap[c] * v }
        }
        return tape.record(out, x, alpha, name: "prelu") { tape, g in
            let gp = g.base, xp = x.value.base, ap = alpha.value.base
            if tape.needsGradient(x) {
                let d = Tensor(uninitializedShape: g.shape)
                for r in 0..<rows {
                    for c in 0..<cols { let i = r * cols + c; d.base[i] = xp[i] > 0 ? gp[i] : ap[c] * gp[i] }
                }
                try tape.accumulate(x, d, fresh: true)
            }
            if tape.needsGradient(alpha) {
                let da = Tensor(shape: alpha.value.shape)
                for r in 0..<rows {
                    for c in 0..<cols { let i = r * cols + c; if xp[i] <= 0 { da.base[c] += gp[i] * xp[i] } }
                }
                try tape.accumulate(alpha, da, fresh: true)
            }
        }
    }

    /// Swish (Ramachandran et al. 2017): x sigmoid(beta x); beta = 1 is SiLU. Backward
    /// g (s + beta x s (1 - s)) with s = sigmoid(beta x).
    public func swish(beta: Float = 1) -> Variable {
        let n = value.count
        let sig = Tensor(uninitializedShape: value.shape), out = Tensor(uninitializedShape: value.shape)
        let b = SIMD8(repeating: beta)
        Kernels.unary(value.base, sig.base, n) { VectorMath.sigmoid($0 * b) }
        Kernels.mul(value.base, sig.base, out.base, count: n)
        return tape.record(out, input: self, name: "swish") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.binary(self.value.base, sig.base, d.base, n) { (x: SIMD8<Float>, s: SIMD8<Float>) -> SIMD8<Float> in
                let ds: SIMD8<Float> = s * (1 - s)
                return s + b * x * ds
            }
            Kernels.mul(d.base, g.base, d.base, count: n)
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// SiLU: swish with beta = 1.
    public func silu() -> Variable { swish(beta: 1) }

    /// GELU, tanh approximation (Hendrycks & Gimpel 2016):
    /// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    public func gelu() -> Variable {
        let n = value.count
        let c = SIMD8<Float>(repeating: 0.797_884_56), k = SIMD8<Float>(repeating: 0.044_715)
        let t = Tensor(uninitializedShape: value.shape), out = Tensor(uninitializedShape: value.shape)
        Kernels.unary(value.base, t.base, n) { (x: SIMD8<Float>) -> SIMD8<Float> in
            let cube: SIMD8<Float> = x * x * x
            return VectorMath.tanh(c * (x + k * cube))
        }
        Kernels.binary(value.base, t.base, out.base, n) { (x: SIMD8<Float>, th: SIMD8<Float>) -> SIMD8<Float> in 0.5 * x * (1 + th) }
        return tape.record(out, input: self, name: "gelu") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            let half = SIMD8<Float>(repeating: 0.5), one = SIMD8<Float>(repeating: 1), k3 = 3 * k
            Kernels.binary(self.value.base, t.base, d.base, n) { (x: SIMD8<Float>, th: SIMD8<Float>) -> SIMD8<Float> in
                let inner: SIMD8<Float> = c * (one + k3 * x * x)
                let sech2: SIMD8<Float> = one - th * th
                return half * (one + th) + half * x * sech2 * inner
            }
            Kernels.mul(d.base, g.base, d.base, count: n)
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// Dice (Zhou et al., "Deep Interest Network", KDD 2018): p = sigmoid((x - mean) /
    /// sqrt(var + eps)), out = p x + (1 - p) alpha x, per feature of self [B, F...] (features
    /// are all dimensions after the first). Training tapes use the statistics of this batch
    /// (over the first dimension) and update `state`'s running ones; inference tapes use the
    /// running statistics. `alpha` has one entry per feature. O(n) both ways.
    public func dice(_ alpha: Variable, state: BatchNormState) throws -> Variable {
        try sameTape(alpha, "dice")
        let x = self
        let rows = value.shape[0], cols = value.count / Swift.max(rows, 1)
        guard value.rank >= 2, alpha.value.count == cols, state.features == cols else {
            throw TensorError.shapeMismatch(op: "dice", lhs: value.shape, rhs: alpha.value.shape,
                                            reason: "needs [B, F] input with alpha and state of \(cols) features (state has \(state.features))")
        }
        let training = tape.training
        let stats = try state.statistics(of: value, rows: rows, cols: cols, training: training, op: "dice")
        let xhat = stats.normalize(value, rows: rows, cols: cols)
        let p = Tensor(uninitializedShape: value.shape)
        Kernels.unary(xhat.base, p.base, p.count) { VectorMath.sigmoid($0) }
        let out = Tensor(uninitializedShape: value.shape)
        let xp = value.base, pp = p.base, ap = alpha.value.base, op = out.base
        for r in 0..<rows {
            for c in 0..<cols {
                let i = r * cols + c
                op[i] = xp[i] * (ap[c] + (1 - ap[c]) * pp[i])
            }
        }
        return tape.record(out, x, alpha, name: "dice") { tape, g in
            let gp = g.base, xp = x.value.base, ap = alpha.value.base, pp = p.base
            if tape.needsGradient(alpha) {
                let da = Tensor(shape: alpha.value.shape)
                for r in 0..<rows {
                    for c in 0..<cols { let i = r * cols + c; da.base[c] += gp[i] * xp[i] * (1 - pp[i]) }
                }
                try tape.accumulate(alpha, da, fresh: true)
            }
            guard tape.needsGradient(x) else { return }
            // Gradient through p's normalized input, then through the normalization.
            let gh = Tensor(uninitializedShape: g.shape)
            let d = Tensor(uninitializedShape: g.shape)
            for r in 0..<rows {
                for c in 0..<cols {
                    let i = r * cols + c
                    gh.base[i] = gp[i] * xp[i] * (1 - ap[c]) * pp[i] * (1 - pp[i])
                    d.base[i] = gp[i] * (ap[c] + (1 - ap[c]) * pp[i])
                }
            }
            let dn = stats.backward(gh, xhat: xhat, rows: rows, cols: cols, batchStatistics: training)
            Kernels.add(d.base, dn.base, d.base, count: d.count)
            try tape.accumulate(x, d, fresh: true)
        }
    }
}
