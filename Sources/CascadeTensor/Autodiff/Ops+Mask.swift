/// Masks for padded sequences. A mask is a 0/1 tensor whose shape is either the input's or a
/// leading part of it ([B, T] on [B, T, D]): each mask element then covers the trailing
/// elements of its position (a whole D-vector). O(n) forward and backward.
extension Variable {
    /// Elements covered per mask element, or a shape error naming `op`.
    func maskSpan(_ mask: Tensor, _ op: String) throws -> Int {
        let s = value.shape, m = mask.shape
        guard m.rank <= s.rank, Array(s.dims.prefix(m.rank)) == m.dims else {
            throw TensorError.shapeMismatch(op: op, lhs: s, rhs: m,
                                            reason: "mask must have the input's shape or its leading dimensions")
        }
        return s.count / Swift.max(m.count, 1)
    }

    /// self where mask != 0, `value` where mask == 0 (e.g. -1e9 on padded attention scores).
    /// Filled positions get no gradient.
    public func maskedFill(_ mask: Tensor, value fill: Float) throws -> Variable {
        let span = try maskSpan(mask, "maskedFill")
        let out = value.copy()
        let mp = mask.base
        for i in 0..<mask.count where mp[i] == 0 { (out.base + i * span).update(repeating: fill, count: span) }
        return tape.record(out, input: self, name: "maskedFill") { tape, g in
            let d = g.copy()
            let mp = mask.base
            for i in 0..<mask.count where mp[i] == 0 { (d.base + i * span).update(repeating: 0, count: span) }
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// self * mask with the mask broadcast over trailing dimensions (zeroes padded steps of a
    /// [B, T, D] sequence with a [B, T] mask). Masks need not be 0/1: any weights work.
    public func masked(by mask: Tensor) throws -> Variable {
        let span = try maskSpan(mask, "masked(by:)")
        func apply(_ src: Tensor) -> Tensor {
            let out = Tensor(uninitializedShape: src.shape)
            let mp = mask.base
            for i in 0..<mask.count {
                Kernels.scale(src.base + i * span, by: mp[i], out.base + i * span, count: span)
            }
            return out
        }
        return tape.record(apply(value), input: self, name: "masked") { tape, g in
            try tape.accumulate(self, apply(g), fresh: true)
        }
    }
}
