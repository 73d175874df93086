/// Inverted dropout (Srivastava et al. 2014): in training, each element is zeroed with
/// probability `rate` and the survivors are scaled by 1 / (1 - rate), so inference needs no
/// rescaling. The mask comes from `tape.random`, so tapes built with the same seed draw the
/// same masks (which is what lets gradient checks run through dropout). O(n) both ways.
extension Variable {
    /// Identity when the tape is not training or `rate` is 0; `rate` must be in [0, 1).
    public func dropout(rate: Float) throws -> Variable {
        guard rate >= 0, rate < 1 else {
            throw TensorError.invalidArgument(op: "dropout", reason: "rate must be in [0, 1), got \(rate)")
        }
        if !tape.training || rate == 0 { return self }
        let n = value.count
        let keepScale = 1 / (1 - rate)
        let mask = Tensor(uninitializedShape: value.shape)
        let mp = mask.base
        for i in 0..<n { mp[i] = tape.random.nextUnitFloat() < rate ? 0 : keepScale }
        let out = Tensor(uninitializedShape: value.shape)
        Kernels.mul(value.base, mp, out.base, count: n)
        return tape.record(out, input: self, name: "dropout") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.mul(g.base, mask.base, d.base, count: n)
            try tape.accumulate(self, d, fresh: true)
        }
    }
}
