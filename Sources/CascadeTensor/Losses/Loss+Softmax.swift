import Foundation

extension Loss {
    /// Softmax cross-entropy over the rows of `logits` with integer class targets: the mean over
    /// rows of `logsumexp(z_i) - z_i[t_i]`, computed from the row maximum so any logit magnitude
    /// is finite. The gradient is `(softmax(z_i) - onehot(t_i)) / rows`.
    ///
    /// - Parameters:
    ///   - logits: [rows, classes].
    ///   - targets: [rows] class ids in 0..<classes.
    /// - Returns: a scalar [1] variable.
    /// - Complexity: O(rows classes) forward and backward.
    public static func softmaxCrossEntropy(logits: Variable, targets: IndexTensor) throws -> Variable {
        let name = "softmaxCrossEntropy"
        let s = logits.shape
        guard s.rank == 2, s[0] > 0, s[1] > 0, targets.count == s[0] else {
            throw TensorError.shapeMismatch(op: name, lhs: s, rhs: targets.shape,
                                            reason: "needs logits [rows, classes] and one target per row")
        }
        let rows = s[0], cols = s[1]
        for i in 0..<rows where !(0..<Int32(cols)).contains(targets.base[i]) {
            throw TensorError.invalidArgument(op: name, reason: "target[\(i)] = \(targets.base[i]) is outside 0..<\(cols) classes")
        }
        let probs = Tensor(uninitializedShape: s)
        var total = 0.0
        for i in 0..<rows {
            let t = Int(targets.base[i])
            total += rowSoftmax(logits.value.base + i * cols, shift: nil, keep: nil, cols: cols,
                                target: t, probs: probs.base + i * cols)
            probs.base[i * cols + t] -= 1
        }
        if logits.requiresGradient { probs.scale(by: 1 / Float(rows)) }
        return recordScalar(total / Double(rows), logits, probs, name: name)
    }

    /// In-batch (and sampled) softmax with the sampling-bias correction of Yi et al.,
    /// "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item Recommendations",
    /// RecSys 2019 (section 3, equation 3): with logits `s_ij = u_i . v_j / temperature`, each
    /// column is corrected to `s^c_ij = s_ij - log q_j` where q_j is the probability that item j
    /// appears in a batch (popular items are over-represented as in-batch negatives; the
    /// correction makes the softmax an unbiased estimate of the full one). Row i's positive is
    /// column i; the loss is the mean over rows of `logsumexp_j(s^c_ij) - s^c_ii`.
    ///
    /// - Parameters:
    ///   - logits: [B, B + N] raw scores `u_i . v_j`: B in-batch items (positives on the
    ///     diagonal) followed by N optional extra sampled negatives shared by every row.
    ///   - logQ: optional [B + N] log sampling probability of each column's item.
    ///   - mask: optional [B, B + N]: 0 drops a column from a row's softmax (use
    ///     `collisionMask(itemIds:rows:)` to drop in-batch negatives that are the row's own
    ///     positive item); the diagonal is always kept.
    ///   - temperature: divides the scores before the correction (> 0).
    /// - Returns: a scalar [1] variable; its gradient is `(softmax - onehot) / (B temperature)`
    ///   on kept columns and 0 on masked ones.
    /// - Complexity: O(B (B + N)) forward and backward.
    public static func sampledSoftmax(logits: Variable, logQ: Tensor? = nil, mask: Tensor? = nil,
                                      temperature: Float = 1) throws -> Variable {
        let name = "sampledSoftmax"
        let s = logits.shape
        guard s.rank == 2, s[0] > 0, s[1] >= s[0] else {
            throw TensorError.shapeMismatch(op: name, lhs: s, rhs: Shape(s.rows, s.rows),
                                            reason: "logits must be [B, B + N] with the positives on the diagonal")
        }
        guard temperature > 0, temperature.isFinite else {
            throw TensorError.invalidArgument(op: name, reason: "temperature \(temperature) must be > 0")
        }
        let rows = s[0], cols = s[1]
        if let q = logQ {
            guard q.count == cols else {
                throw TensorError.shapeMismatch(op: name, lhs: s, rhs: q.shape, reason: "logQ needs one entry per column (\(cols))")
            }
        }
        if let m = mask {
            guard m.shape == s else {
                throw TensorError.shapeMismatch(op: name, lhs: s, rhs: m.shape, reason: "mask must match the logits")
            }
        }
        let invT = 1 / temperature
        let scaled = Tensor(uninitializedShape: s)
        Kernels.scale(logits.value.base, by: invT, scaled.base, count: scaled.count)
        let probs = Tensor(uninitializedShape: s)
        var total = 0.0
        for i in 0..<rows {
            total += rowSoftmax(scaled.base + i * cols, shift: logQ?.base, keep: mask.map { $0.base + i * cols },
                                cols: cols, target: i, probs: probs.base + i * cols)
            probs.base[i * cols + i] -= 1
        }
        if logits.requiresGradient { probs.scale(by: invT / Float(rows)) }
        return recordScalar(total / Double(rows), logits, probs, name: name)
    }

    /// A [rows, ids.count] mask for `sampledSoftmax`: entry (i, j) is 0 when column j holds the
    /// same item as row i's positive (`itemIds[j] == itemIds[i]`, j != i), else 1. `itemIds`
    /// lists the item of every column (the B in-batch positives, then the sampled negatives).
    /// O(rows ids.count).
    public static func collisionMask(itemIds: IndexTensor, rows: Int) throws -> Tensor {
        guard rows <= itemIds.count else {
            throw TensorError.invalidArgument(op: "collisionMask", reason: "\(rows) rows need at least \(rows) item ids, got \(itemIds.count)")
        }
        let cols = itemIds.count
        let m = Tensor(shape: Shape(rows, cols), repeating: 1)
        let ids = itemIds.base
        for i in 0..<rows {
            for j in 0..<cols where j != i && ids[j] == ids[i] { m.base[i * cols + j] = 0 }
        }
        return m
    }

    /// Softmax of one row `x - shift` over the kept columns (masked ones get probability 0),
    /// written to `probs`; returns `logsumexp - (x - shift)[target]` in Float64.
    static func rowSoftmax(_ x: UnsafePointer<Float>, shift: UnsafePointer<Float>?, keep: UnsafePointer<Float>?,
                           cols: Int, target: Int, probs p: UnsafeMutablePointer<Float>) -> Double {
        if let q = shift { Kernels.sub(x, q, p, count: cols) } else { p.update(from: x, count: cols) }
        if let k = keep {
            for j in 0..<cols where k[j] == 0 && j != target { p[j] = -.infinity }
        }
        let zt = p[target]
        let m = Kernels.rowMax(UnsafePointer(p), cols)
        let mv = SIMD8(repeating: m)
        Kernels.unary(UnsafePointer(p), p, cols) { VectorMath.exp($0 - mv) }
        var sum = 0.0
        for j in 0..<cols { sum += Double(p[j]) }
        let inv = Float(1 / sum)
        Kernels.scale(UnsafePointer(p), by: inv, p, count: cols)
        return Double(m) + Foundation.log(sum) - Double(zt)
    }
}
