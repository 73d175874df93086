import CascadeCore

extension ClassificationMetrics {
    /// Group AUC: per-user AUC averaged with each user's number of rows (impressions) as weight,
    ///
    ///     GAUC = sum_u n_u * AUC_u / sum_u n_u
    ///
    /// over the users that have both a positive and a negative row; the others are skipped, as
    /// in the click-through judge. O(n log n).
    ///
    /// - Parameter users: the user of each row, a dense id (not negative).
    /// - Returns: nil when no user has both classes.
    /// - Throws: ``CascadeError/invalid(_:)`` on length mismatches, a label outside 0...1, a NaN
    ///   score or a negative user id.
    public static func gauc<S: BinaryFloatingPoint>(labels: [Float], scores: [S], users: [Int32]) throws(CascadeError) -> Double? {
        let values = try checked(labels: labels, scores: scores, name: "scores")
        guard users.count == labels.count else { throw .invalid("\(labels.count) labels but \(users.count) users") }
        return try gaucOfChecked(labels: labels, scores: values, users: users)
    }

    /// GAUC over validated Double scores; rows grouped by user with a counting pass.
    static func gaucOfChecked(labels: [Float], scores: [Double], users: [Int32]) throws(CascadeError) -> Double? {
        var top: Int32 = -1
        for (i, u) in users.enumerated() {
            guard u >= 0 else { throw .invalid("row \(i): user \(u) is negative") }
            top = max(top, u)
        }
        let userCount = Int(top) + 1
        var offsets = [Int](repeating: 0, count: userCount + 1)
        for u in users { offsets[Int(u) + 1] += 1 }
        for u in 0..<userCount { offsets[u + 1] += offsets[u] }
        var fill = offsets
        var rows = [Int](repeating: 0, count: users.count)
        for (i, u) in users.enumerated() {
            rows[fill[Int(u)]] = i
            fill[Int(u)] += 1
        }
        var num = 0.0, den = 0.0
        var pos: [Double] = [], neg: [Double] = []
        for u in 0..<userCount {
            pos.removeAll(keepingCapacity: true)
            neg.removeAll(keepingCapacity: true)
            for r in rows[offsets[u]..<offsets[u + 1]] {
                if labels[r] >= 0.5 { pos.append(scores[r]) } else { neg.append(scores[r]) }
            }
            guard let a = aucOfClasses(positives: &pos, negatives: &neg) else { continue }
            let n = Double(offsets[u + 1] - offsets[u])
            num += a * n
            den += n
        }
        return den > 0 ? num / den : nil
    }
}
