import CascadeCore

extension ClassificationMetrics {
    /// Area under the ROC curve: the probability that a random positive scores above a random
    /// negative, ties counting one half.
    ///
    ///     AUC = (#{(p, n): s_p > s_n} + 0.5 * #{(p, n): s_p == s_n}) / (P * N)
    ///
    /// which equals the rank-sum (Mann-Whitney) form `(R_pos - P(P+1)/2) / (P * N)` with tied
    /// scores given their average rank. Positives and negatives are sorted apart and merged:
    /// O(n log n), O(n) memory. The pair counts are exact integers, so the result is the
    /// correctly rounded quotient, bit for bit what the click-through judge computes.
    ///
    /// - Returns: nil when all labels are of one class (AUC is undefined).
    /// - Throws: ``CascadeError/invalid(_:)`` on a length mismatch, a label outside 0...1 or a NaN score.
    public static func auc<S: BinaryFloatingPoint>(labels: [Float], scores: [S]) throws(CascadeError) -> Double? {
        let values = try checked(labels: labels, scores: scores, name: "scores")
        var pos: [Double] = [], neg: [Double] = []
        for (y, s) in zip(labels, values) {
            if y >= 0.5 { pos.append(s) } else { neg.append(s) }
        }
        return aucOfClasses(positives: &pos, negatives: &neg)
    }

    /// AUC of already separated (unsorted) positive and negative scores; sorts both in place.
    static func aucOfClasses(positives pos: inout [Double], negatives neg: inout [Double]) -> Double? {
        guard !pos.isEmpty, !neg.isEmpty else { return nil }
        pos.sort()
        neg.sort()
        var above = 0, tied = 0
        var i = 0, j = 0
        while i < pos.count {
            let v = pos[i]
            var m = 0
            while i < pos.count && pos[i] == v { i += 1; m += 1 }
            while j < neg.count && neg[j] < v { j += 1 }
            var t = j
            while t < neg.count && neg[t] == v { t += 1 }
            above += m * j
            tied += m * (t - j)
            j = t
        }
        return (Double(above) + 0.5 * Double(tied)) / (Double(pos.count) * Double(neg.count))
    }
}
