import Foundation

/// Running statistics of a batch-normalized input (batch norm, Dice): per-feature mean and
/// variance, updated on every training pass as
/// `running = (1 - momentum) running + momentum batch` (the batch variance unbiased, n / (n - 1)),
/// and used in place of the batch statistics by inference tapes.
///
/// The running tensors are non-trainable `Parameter`s (`<name>.running_mean`,
/// `<name>.running_var`) so model files save them with the weights; they never get gradients.
public final class BatchNormState: ParameterContainer {
    public let runningMean: Parameter
    public let runningVar: Parameter
    /// Weight of the newest batch in the running averages (0.1 as in most frameworks).
    public var momentum: Float
    /// Added to the variance before the square root.
    public let eps: Float
    public let features: Int

    public init(name: String, features: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        precondition(features > 0, "BatchNormState \(name): features must be positive")
        self.features = features
        self.momentum = momentum
        self.eps = eps
        runningMean = Parameter("\(name).running_mean", Tensor(shape: [features]), trainable: false)
        runningVar = Parameter("\(name).running_var", Tensor(shape: [features], repeating: 1), trainable: false)
    }

    public var parameters: [Parameter] { [runningMean, runningVar] }

    /// Batch statistics of x viewed as [rows, cols] (training: also folded into the running
    /// ones), or the running statistics (inference).
    func statistics(of x: Tensor, rows: Int, cols: Int, training: Bool, op: String) throws -> ColumnStatistics {
        guard cols == features else {
            throw TensorError.shapeMismatch(op: op, lhs: x.shape, rhs: runningMean.shape,
                                            reason: "input has \(cols) features, state \(features)")
        }
        var mean = [Float](repeating: 0, count: cols), invStd = [Float](repeating: 0, count: cols)
        let rm = runningMean.value.base, rv = runningVar.value.base
        if !training {
            for c in 0..<cols { mean[c] = rm[c]; invStd[c] = 1 / (rv[c] + eps).squareRoot() }
            return ColumnStatistics(mean: mean, invStd: invStd)
        }
        guard rows > 0 else {
            throw TensorError.invalidArgument(op: op, reason: "batch statistics of an empty batch \(x.shape)")
        }
        var sum = [Double](repeating: 0, count: cols), sq = [Double](repeating: 0, count: cols)
        let p = x.base
        for r in 0..<rows { for c in 0..<cols { sum[c] += Double(p[r * cols + c]) } }
        for c in 0..<cols { sum[c] /= Double(rows) }
        for r in 0..<rows { for c in 0..<cols { let d = Double(p[r * cols + c]) - sum[c]; sq[c] += d * d } }
        let m = momentum
        for c in 0..<cols {
            let v = sq[c] / Double(rows)
            mean[c] = Float(sum[c])
            invStd[c] = Float(1 / (v + Double(eps)).squareRoot())
            let unbiased = rows > 1 ? Float(sq[c] / Double(rows - 1)) : Float(v)
            rm[c] = (1 - m) * rm[c] + m * mean[c]
            rv[c] = (1 - m) * rv[c] + m * unbiased
        }
        return ColumnStatistics(mean: mean, invStd: invStd)
    }
}

/// Per-column mean and 1 / sqrt(var + eps) of a [rows, cols] matrix, with the normalization
/// and its backward.
struct ColumnStatistics {
    var mean: [Float]
    var invStd: [Float]

    /// (x - mean) * invStd per column. O(rows cols).
    func normalize(_ x: Tensor, rows: Int, cols: Int) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape)
        let p = x.base, o = out.base
        for r in 0..<rows { for c in 0..<cols { o[r * cols + c] = (p[r * cols + c] - mean[c]) * invStd[c] } }
        return out
    }

    /// Gradient of x from the gradient `gh` of xhat. With batch statistics the mean and variance
    /// depend on x: dx = invStd (gh - mean_rows(gh) - xhat mean_rows(gh xhat)); otherwise
    /// dx = invStd gh. O(rows cols).
    func backward(_ gh: Tensor, xhat: Tensor, rows: Int, cols: Int, batchStatistics: Bool) -> Tensor {
        let d = Tensor(uninitializedShape: gh.shape)
        let g = gh.base, h = xhat.base, o = d.base
        if !batchStatistics {
            for r in 0..<rows { for c in 0..<cols { o[r * cols + c] = g[r * cols + c] * invStd[c] } }
            return d
        }
        var mg = [Float](repeating: 0, count: cols), mgh = [Float](repeating: 0, count: cols)
        for r in 0..<rows {
            for c in 0..<cols { let i = r * cols + c; mg[c] += g[i]; mgh[c] += g[i] * h[i] }
        }
        let inv = 1 / Float(rows)
        for c in 0..<cols { mg[c] *= inv; mgh[c] *= inv }
        for r in 0..<rows {
            for c in 0..<cols { let i = r * cols + c; o[i] = invStd[c] * (g[i] - mg[c] - h[i] * mgh[c]) }
        }
        return d
    }
}

extension Variable {
    /// Layer normalization (Ba et al. 2016) over the last axis: (x - mean) / sqrt(var + eps)
    /// per row, then gain * . + bias (each [last], optional). O(n) both ways.
    public func layerNorm(gain: Variable?, bias: Variable?, eps: Float = 1e-5) throws -> Variable {
        let x = self, cols = value.shape.last, rows = value.shape.rows
        for v in [gain, bias].compactMap({ $0 }) {
            try sameTape(v, "layerNorm")
            guard v.value.count == cols else {
                throw TensorError.shapeMismatch(op: "layerNorm", lhs: value.shape, rhs: v.value.shape,
                                                reason: "gain and bias need \(cols) elements (the last axis)")
            }
        }
        let xhat = Tensor(uninitializedShape: value.shape)
        var invStd = [Float](repeating: 0, count: rows)
        let xp = value.base, hp = xhat.base
        for r in 0..<rows {
            let row = xp + r * cols
            let m = Kernels.sum(row, cols) / Float(Swift.max(cols, 1))
            var v: Float = 0
            for c in 0..<cols { let d = row[c] - m; v += d * d }
            let inv = 1 / (v / Float(Swift.max(cols, 1)) + eps).squareRoot()
            invStd[r] = inv
            for c in 0..<cols { hp[r * cols + c] = (row[c] - m) * inv }
        }
        let out = Variable.scaleAndShift(xhat, gain: gain, bias: bias, rows: rows, cols: cols)
        let inputs = [x] + [gain, bias].compactMap { $0 }
        return tape.record(out, inputs: inputs, name: "layerNorm") { tape, g in
            let go = g.base, hp = xhat.base, gp = gain?.value.base
            try Variable.accumulateGainAndBias(tape, g, xhat: xhat, gain: gain, bias: bias, rows: rows, cols: cols)
            guard tape.needsGradient(x) else { return }
            let d = Tensor(uninitializedShape: g.shape)
            let dp = d.base
            for r in 0..<rows {
                var mg: Float = 0, mgh: Float = 0
                for c in 0..<cols {
                    let i = r * cols + c, gh = go[i] * (gp?[c] ?? 1)
                    dp[i] = gh
                    mg += gh
                    mgh += gh * hp[i]
                }
                mg /= Float(cols); mgh /= Float(cols)
                for c in 0..<cols { let i = r * cols + c; dp[i] = invStd[r] * (dp[i] - mg - hp[i] * mgh) }
            }
            try tape.accumulate(x, d, fresh: true)
        }
    }

    /// Batch normalization (Ioffe & Szegedy 2015) of self [B, F...] over the first dimension,
    /// per feature (all later dimensions flattened): gain * (x - mean) / sqrt(var + eps) + bias.
    /// Training tapes use this batch's statistics (and update `state`); inference tapes use the
    /// running ones, so the op is then an affine map. gain and bias have F elements. O(n).
    public func batchNorm(gain: Variable?, bias: Variable?, state: BatchNormState) throws -> Variable {
        let x = self
        let rows = value.shape[0], cols = value.count / Swift.max(rows, 1)
        guard value.rank >= 2 else {
            throw TensorError.invalidArgument(op: "batchNorm", reason: "needs a batch [B, F], got \(value.shape)")
        }
        for v in [gain, bias].compactMap({ $0 }) {
            try sameTape(v, "batchNorm")
            guard v.value.count == cols else {
                throw TensorError.shapeMismatch(op: "batchNorm", lhs: value.shape, rhs: v.value.shape,
                                                reason: "gain and bias need \(cols) elements (one per feature)")
            }
        }
        let training = tape.training
        let stats = try state.statistics(of: value, rows: rows, cols: cols, training: training, op: "batchNorm")
        let xhat = stats.normalize(value, rows: rows, cols: cols)
        let out = Variable.scaleAndShift(xhat, gain: gain, bias: bias, rows: rows, cols: cols)
        let inputs = [x] + [gain, bias].compactMap { $0 }
        return tape.record(out, inputs: inputs, name: "batchNorm") { tape, g in
            let go = g.base, gp = gain?.value.base
            try Variable.accumulateGainAndBias(tape, g, xhat: xhat, gain: gain, bias: bias, rows: rows, cols: cols)
            guard tape.needsGradient(x) else { return }
            let gh: Tensor
            if let gp {
                gh = Tensor(uninitializedShape: g.shape)
                for r in 0..<rows { for c in 0..<cols { let i = r * cols + c; gh.base[i] = go[i] * gp[c] } }
            } else { gh = g }
            try tape.accumulate(x, stats.backward(gh, xhat: xhat, rows: rows, cols: cols, batchStatistics: training), fresh: true)
        }
    }
}

extension Variable {
    /// xhat * gain + bias per column (gain 1 and bias 0 when absent): the affine tail shared by
    /// layer and batch norm. O(rows cols).
    static func scaleAndShift(_ xhat: Tensor, gain: Variable?, bias: Variable?, rows: Int, cols: Int) -> Tensor {
        let out = Tensor(uninitializedShape: xhat.shape)
        let hp = xhat.base, gp = gain?.value.base, bp = bias?.value.base, op = out.base
        for r in 0..<rows {
            for c in 0..<cols { let i = r * cols + c; op[i] = hp[i] * (gp?[c] ?? 1) + (bp?[c] ?? 0) }
        }
        return out
    }

    /// Backward of `scaleAndShift` into gain and bias: dbias = column sums of g,
    /// dgain = column sums of g * xhat. O(rows cols).
    static func accumulateGainAndBias(_ tape: Tape, _ g: Tensor, xhat: Tensor, gain: Variable?, bias: Variable?,
                                      rows: Int, cols: Int) throws {
        let go = g.base, hp = xhat.base
        if let b = bias, tape.needsGradient(b) {
            let db = Tensor(uninitializedShape: b.value.shape)
            Kernels.columnSums(go, rows: rows, cols: cols, db.base)
            try tape.accumulate(b, db, fresh: true)
        }
        if let w = gain, tape.needsGradient(w) {
            let dw = Tensor(shape: w.value.shape)
            for r in 0..<rows { for c in 0..<cols { let i = r * cols + c; dw.base[c] += go[i] * hp[i] } }
            try tape.accumulate(w, dw, fresh: true)
        }
    }
}
