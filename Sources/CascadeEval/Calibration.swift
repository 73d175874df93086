import CascadeCore

extension ClassificationMetrics {
    /// Calibration ratio: predicted positives over observed positives,
    ///
    ///     ratio = sum_i p_i / sum_i y_i   ( = mean(p) / mean(y) )
    ///
    /// 1 is calibrated, above 1 over-predicts. Computed as mean over mean, as the click-through
    /// judge does. O(n).
    ///
    /// - Returns: nil when there are no rows or no positive labels.
    /// - Throws: ``CascadeError/invalid(_:)`` on a length mismatch, a label outside 0...1 or a NaN prediction.
    public static func calibrationRatio<S: BinaryFloatingPoint>(labels: [Float], predictions: [S]) throws(CascadeError) -> Double? {
        let p = try checked(labels: labels, scores: predictions, name: "predictions")
        return calibrationOfChecked(labels: labels, predictions: p)
    }

    static func calibrationOfChecked(labels: [Float], predictions p: [Double]) -> Double? {
        var sp = 0.0, sy = 0.0
        for x in p { sp += x }
        for y in labels { sy += Double(y) }
        guard !p.isEmpty, sy > 0 else { return nil }
        let n = Double(p.count)
        return (sp / n) / (sy / n)
    }
}
