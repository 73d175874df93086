import Foundation

extension Loss {
    /// Bayesian personalized ranking (Rendle et al., "BPR: Bayesian Personalized Ranking from
    /// Implicit Feedback", UAI 2009): the mean of `-log sigmoid(pos - neg)` =
    /// `softplus(neg - pos)` (stable form) over all (positive, negative) pairs.
    ///
    /// - Parameters:
    ///   - positive: P scores (any shape).
    ///   - negative: P * K scores; entries `i*K ..< (i+1)*K` are the K negatives of positive i
    ///     (K = 1: the same shape as `positive`).
    /// - Returns: a scalar [1] variable.
    /// - Complexity: O(P K) forward and backward.
    public static func bpr(positive: Variable, negative: Variable) throws -> Variable {
        try pairwise(positive, negative, name: "bpr") { d in
            // d = neg - pos; loss softplus(d), derivative sigmoid(d) with respect to d.
            (softplus(d), sigmoid(d))
        }
    }

    /// Hinge (triplet) ranking loss with a margin (Weston, Bengio and Usunier, "WSABIE",
    /// IJCAI 2011; Schroff et al., "FaceNet", CVPR 2015): the mean over pairs of
    /// `max(0, margin - pos + neg)`. Pairs already separated by the margin contribute nothing.
    ///
    /// - Parameters:
    ///   - positive: P scores.
    ///   - negative: P * K scores, K negatives per positive (see `bpr`).
    ///   - margin: required gap between a positive and its negatives (>= 0).
    /// - Complexity: O(P K) forward and backward.
    public static func hinge(positive: Variable, negative: Variable, margin: Float = 1) throws -> Variable {
        guard margin >= 0, margin.isFinite else {
            throw TensorError.invalidArgument(op: "hinge", reason: "margin \(margin) must be finite and >= 0")
        }
        return try pairwise(positive, negative, name: "hinge") { d in
            let h = margin + d
            return h > 0 ? (Double(h), 1) : (0, 0)
        }
    }

    /// Mean squared error `sum w_i (p_i - t_i)^2 / norm` (ratings, regression heads).
    ///
    /// - Parameters:
    ///   - prediction: any shape.
    ///   - target: same element count.
    ///   - weights: optional per-element weights >= 0.
    ///   - normalization: `.weightSum` (the batch size without weights) or `.batch`.
    /// - Complexity: O(n) forward and backward.
    public static func meanSquaredError(prediction: Variable, target: Tensor, weights: Tensor? = nil,
                                        normalization: Normalization = .weightSum) throws -> Variable {
        let name = "meanSquaredError"
        let n = prediction.value.count
        try requireCount(name, "target", target, n, prediction.shape)
        guard n > 0 else { throw TensorError.invalidArgument(op: name, reason: "empty batch \(prediction.shape)") }
        if let w = weights {
            try requireCount(name, "weights", w, n, prediction.shape)
            try requireNonNegative(name, "weights", w)
        }
        let p = prediction.value.base, t = target.base, wp = weights?.base
        var total = 0.0, weightSum = 0.0
        for i in 0..<n {
            let wi = wp.map { Double($0[i]) } ?? 1
            let e = Double(p[i]) - Double(t[i])
            total += wi * e * e
            weightSum += wi
        }
        let norm = normalization == .batch ? Double(n) : weightSum
        guard norm > 0 else { throw TensorError.invalidArgument(op: name, reason: "weights sum to 0: nothing to average") }
        let d = Tensor(uninitializedShape: prediction.shape)
        if prediction.requiresGradient {
            let scale = Float(2 / norm)
            for i in 0..<n { d.base[i] = (wp?[i] ?? 1) * (p[i] - t[i]) * scale }
        }
        return recordScalar(total / norm, prediction, d, name: name)
    }

    /// Shared body of the pairwise losses: `f(neg - pos)` returns the pair's loss and its
    /// derivative with respect to (neg - pos); the mean is taken over all P K pairs.
    static func pairwise(_ pos: Variable, _ neg: Variable, name: String,
                         _ f: (Float) -> (Double, Float)) throws -> Variable {
        try pos.sameTape(neg, name)
        let np = pos.value.count, nn = neg.value.count
        guard np > 0, nn >= np, nn % np == 0 else {
            throw TensorError.shapeMismatch(op: name, lhs: pos.shape, rhs: neg.shape,
                                            reason: "needs K >= 1 negatives per positive (negative count a multiple of \(np))")
        }
        let k = nn / np
        let p = pos.value.base, q = neg.value.base
        let dPos = Tensor(shape: pos.shape), dNeg = Tensor(uninitializedShape: neg.shape)
        var total = 0.0
        let inv = 1 / Float(nn)
        for i in 0..<np {
            var acc: Float = 0
            for j in 0..<k {
                let (l, dl) = f(q[i * k + j] - p[i])
                total += l
                dNeg.base[i * k + j] = dl * inv
                acc += dl
            }
            dPos.base[i] = -acc * inv
        }
        let out = Tensor([Float(total / Double(nn))])
        return pos.tape.record(out, pos, neg, name: name) { tape, g in
            let s = g.base[0]
            if tape.needsGradient(pos) { try tape.accumulate(pos, dPos.scaled(by: s), fresh: true) }
            if tape.needsGradient(neg) { try tape.accumulate(neg, dNeg.scaled(by: s), fresh: true) }
        }
    }
}
