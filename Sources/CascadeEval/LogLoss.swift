import CascadeCore
import Foundation

extension ClassificationMetrics {
    /// Binary cross-entropy with clipping:
    ///
    ///     q_i     = min(max(p_i, epsilon), 1 - epsilon)
    ///     logloss = -(1/n) * sum_i [ y_i * ln(q_i) + (1 - y_i) * ln(1 - q_i) ]
    ///
    /// Clipping keeps a confident wrong prediction finite; the click-through judge uses
    /// epsilon = 1e-7. Summed in row order. O(n).
    ///
    /// - Throws: ``CascadeError/invalid(_:)`` on a length mismatch, no rows, a label outside
    ///   0...1, a NaN prediction or epsilon outside (0, 0.5).
    public static func logLoss<S: BinaryFloatingPoint>(labels: [Float], predictions: [S],
                                                       epsilon: Double = 1e-7) throws(CascadeError) -> Double {
        guard epsilon > 0, epsilon < 0.5 else { throw .invalid("epsilon must be in (0, 0.5), got \(epsilon)") }
        let p = try checked(labels: labels, scores: predictions, name: "predictions")
        guard !p.isEmpty else { throw .invalid("logloss of no rows") }
        return logLossOfClipped(labels: labels, clipped: p.map { clip($0, epsilon) })
    }

    /// min(max(p, epsilon), 1 - epsilon).
    static func clip(_ p: Double, _ epsilon: Double) -> Double { min(max(p, epsilon), 1 - epsilon) }

    static func logLossOfClipped(labels: [Float], clipped q: [Double]) -> Double {
        var sum = 0.0
        for (y, p) in zip(labels, q) {
            let t = Double(y)
            sum += t * log(p) + (1 - t) * log(1 - p)
        }
        return -sum / Double(q.count)
    }
}
