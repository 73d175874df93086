import Foundation

extension Loss {
    /// Binary cross-entropy on logits: mean over samples of
    /// `w_i * (log(1 + e^z_i) - y_i z_i)`, written as `max(z, 0) - z y + log1p(e^-|z|)` so large
    /// |z| neither overflows nor loses the small term (the standard stable form, e.g. Goodfellow
    /// et al., "Deep Learning", 2016, section 6.2.2.2). The gradient is `w_i (sigmoid(z_i) - y_i)
    /// / norm`.
    ///
    /// - Parameters:
    ///   - logits: any shape; one logit per sample.
    ///   - targets: labels in [0, 1] (soft labels allowed), same element count as `logits`.
    ///   - weights: optional per-sample weights >= 0, same element count.
    ///   - normalization: `.weightSum` divides by the sum of weights (by the batch size when
    ///     there are no weights), `.batch` by the batch size.
    /// - Returns: a scalar [1] variable.
    /// - Complexity: O(n) forward and backward.
    public static func binaryCrossEntropy(logits: Variable, targets: Tensor, weights: Tensor? = nil,
                                          normalization: Normalization = .weightSum) throws -> Variable {
        try logistic(logits: logits, targets: targets, weights: weights, normalization: normalization,
                     name: "binaryCrossEntropy")
    }

    /// YouTube's weighted logistic regression for expected watch time (Covington, Adams and
    /// Sargin, "Deep Neural Networks for YouTube Recommendations", RecSys 2016, section 4.2):
    /// clicked impressions (label 1) are weighted by their watch time, unclicked ones (label 0)
    /// by 1. The odds learned are then `sum(T_i) / (N - k)` (k positives among N impressions),
    /// which approximates the expected watch time E[T](1 + P) ~ E[T] when the click probability
    /// P is small, so **serving uses `exp(logit)` as the predicted watch time** (not the sigmoid).
    ///
    /// - Parameters:
    ///   - logits: any shape, one per impression.
    ///   - clicked: 1 for a positive (watched) impression, 0 for a negative; same count.
    ///   - watchTime: watch time of each impression (read only for positives), >= 0; same count.
    /// - Returns: the weighted cross-entropy averaged over impressions (`.batch` normalization).
    /// - Complexity: O(n) forward and backward.
    public static func weightedLogistic(logits: Variable, clicked: Tensor, watchTime: Tensor) throws -> Variable {
        let name = "weightedLogistic"
        try requireCount(name, "clicked", clicked, logits.value.count, logits.shape)
        try requireCount(name, "watchTime", watchTime, logits.value.count, logits.shape)
        let w = Tensor(uninitializedShape: clicked.shape)
        let c = clicked.base, t = watchTime.base
        for i in 0..<clicked.count {
            guard c[i] == 0 || c[i] == 1 else {
                throw TensorError.invalidArgument(op: name, reason: "clicked[\(i)] = \(c[i]); labels must be 0 or 1")
            }
            w.base[i] = c[i] == 1 ? t[i] : 1
        }
        return try logistic(logits: logits, targets: clicked, weights: w, normalization: .batch, name: name)
    }

    static func logistic(logits: Variable, targets: Tensor, weights: Tensor?, normalization: Normalization,
                         name: String) throws -> Variable {
        let n = logits.value.count
        try requireCount(name, "targets", targets, n, logits.shape)
        guard n > 0 else { throw TensorError.invalidArgument(op: name, reason: "empty batch \(logits.shape)") }
        if let w = weights {
            try requireCount(name, "weights", w, n, logits.shape)
            try requireNonNegative(name, "weights", w)
        }
        let z = logits.value.base, y = targets.base, wp = weights?.base
        var total = 0.0, weightSum = 0.0
        for i in 0..<n {
            let wi = wp.map { Double($0[i]) } ?? 1
            total += wi * (softplus(z[i]) - Double(z[i]) * Double(y[i]))
            weightSum += wi
        }
        let norm: Double
        switch normalization {
        case .weightSum: norm = weightSum
        case .batch: norm = Double(n)
        }
        guard norm > 0 else {
            throw TensorError.invalidArgument(op: name, reason: "weights sum to 0: nothing to average")
        }
        let d = Tensor(uninitializedShape: logits.shape)
        if logits.requiresGradient {
            let inv = Float(1 / norm), dp = d.base
            for i in 0..<n { dp[i] = (wp?[i] ?? 1) * (sigmoid(z[i]) - y[i]) * inv }
        }
        return recordScalar(total / norm, logits, d, name: name)
    }
}
