import CascadeCore

/// Metrics of predicted scores or probabilities against binary labels: ``auc(labels:scores:)``,
/// ``gauc(labels:scores:users:)``, ``logLoss(labels:predictions:epsilon:)`` and
/// ``calibrationRatio(labels:predictions:)``.
///
/// Labels are 0 or 1 (any value in 0...1 is accepted; AUC counts a label as positive when it is
/// at least 0.5). Scores may be `Float` or `Double`; they are widened to `Double` before any
/// arithmetic, so Float32 model outputs give the numbers a judge computes from the same values
/// printed exactly.
public enum ClassificationMetrics {
    /// Checks lengths, labels in 0...1 and scores that are not NaN; returns the scores as Double.
    static func checked<S: BinaryFloatingPoint>(labels: [Float], scores: [S], name: String) throws(CascadeError) -> [Double] {
        guard labels.count == scores.count else {
            throw .invalid("\(labels.count) labels but \(scores.count) \(name)")
        }
        for (i, y) in labels.enumerated() where !(y >= 0 && y <= 1) {
            throw .invalid("label \(i) is \(y); labels must be in 0...1")
        }
        let values = widened(scores)
        for (i, s) in values.enumerated() where s.isNaN { throw .invalid("\(name) \(i) is NaN") }
        return values
    }

    /// `scores` as Double, without the generic per-element conversion for Float and Double.
    static func widened<S: BinaryFloatingPoint>(_ scores: [S]) -> [Double] {
        if S.self == Double.self { return unsafeBitCast(scores, to: [Double].self) }
        if S.self == Float.self { return unsafeBitCast(scores, to: [Float].self).map { Double($0) } }
        return scores.map { Double($0) }
    }
}
