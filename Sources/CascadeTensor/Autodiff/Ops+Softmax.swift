import Foundation

/// Softmax, log-softmax and masked softmax over the last axis, numerically stable (rows are
/// shifted by their maximum). Backward of softmax from its output y: y (g - sum(g y)); of
/// log-softmax: g - softmax sum(g). O(n) both ways.
extension Variable {
    /// exp(x - max) / sum(exp(x - max)) over the last axis.
    public func softmax() -> Variable {
        let rows = value.shape.rows, cols = value.shape.last
        let out = Tensor(uninitializedShape: value.shape)
        Kernels.softmaxRows(value.base, out.base, rows: rows, cols: cols)
        return tape.record(out, input: self, name: "softmax") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.softmaxRowsBackward(output: out.base, grad: g.base, d.base, rows: rows, cols: cols)
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// log(softmax(x)) over the last axis, computed without forming the softmax.
    public func logSoftmax() -> Variable {
        let rows = value.shape.rows, cols = value.shape.last
        let out = Tensor(uninitializedShape: value.shape)
        Kernels.logSoftmaxRows(value.base, out.base, rows: rows, cols: cols)
        return tape.record(out, input: self, name: "logSoftmax") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            for r in 0..<rows {
                let gr = g.base + r * cols, orow = out.base + r * cols, dr = d.base + r * cols
                let s = Kernels.sum(gr, cols)
                for c in 0..<cols { dr[c] = gr[c] - Foundation.exp(orow[c]) * s }
            }
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// Softmax over the last axis restricted to positions where `mask` is nonzero; masked
    /// positions get probability 0 and no gradient, and a row with every position masked is all
    /// zeros (not NaN). `mask` is 0/1 with either self's shape or, as a key mask, shape [B, cols]
    /// for self [B, ..., cols]: row b of the mask then applies to every row of batch entry b
    /// (attention scores [B, Tq, Tk] with a [B, Tk] padding mask; view per-head scores as
    /// [B, H * Tq, Tk]). O(n).
    public func maskedSoftmax(_ mask: Tensor) throws -> Variable {
        let rows = value.shape.rows, cols = value.shape.last
        let maskRows = mask.shape.rows
        guard mask.shape.last == cols, maskRows > 0 || rows == 0, mask.shape == value.shape || (mask.rank == 2 && value.rank >= 2 && maskRows == value.shape[0]) else {
            throw TensorError.shapeMismatch(op: "maskedSoftmax", lhs: value.shape, rhs: mask.shape,
                                            reason: "mask must have the input's shape or be [\(value.shape[0]), \(cols)] (one row per batch entry)")
        }
        let perMask = rows / Swift.max(maskRows, 1)
        let out = Tensor(uninitializedShape: value.shape)
        let xp = value.base, mp = mask.base, op = out.base
        for r in 0..<rows {
            let xr = xp + r * cols, mr = mp + (r / perMask) * cols, orow = op + r * cols
            var m = -Float.infinity
            for c in 0..<cols where mr[c] != 0 && xr[c] > m { m = xr[c] }
            var s: Float = 0
            for c in 0..<cols {
                let e: Float = mr[c] != 0 ? Foundation.exp(xr[c] - m) : 0
                orow[c] = e
                s += e
            }
            let inv: Float = s > 0 ? 1 / s : 0
            for c in 0..<cols { orow[c] *= inv }
        }
        return tape.record(out, input: self, name: "maskedSoftmax") { tape, g in
            // Masked outputs are exactly 0, so y (g - sum(g y)) vanishes there.
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.softmaxRowsBackward(output: out.base, grad: g.base, d.base, rows: rows, cols: cols)
            try tape.accumulate(self, d, fresh: true)
        }
    }
}
