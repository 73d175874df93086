import CascadeCore

/// The click-through metrics the neutral judge prints (`ctr_judge.py score`), computed the
/// judge's way: predictions are clipped to [epsilon, 1 - epsilon] first, and AUC, GAUC,
/// logloss and calibration all read the clipped values.
public struct ClassificationReport: Sendable, Equatable {
    public var rows: Int
    /// AUC over all rows; NaN when all labels are of one class.
    public var auc: Double
    /// Impression-weighted per-user AUC; NaN when no user has both classes.
    public var gauc: Double
    public var logLoss: Double
    /// mean(prediction) / mean(label); NaN without positive labels.
    public var calibration: Double

    public init(rows: Int, auc: Double, gauc: Double, logLoss: Double, calibration: Double) {
        self.rows = rows
        self.auc = auc
        self.gauc = gauc
        self.logLoss = logLoss
        self.calibration = calibration
    }

    /// Scores `predictions` (probabilities) against 0/1 `labels`; `users` gives each row's user
    /// for GAUC. O(n log n).
    /// - Throws: ``CascadeError/invalid(_:)`` on length mismatches, no rows, a label outside
    ///   0...1, a NaN prediction, a negative user id or epsilon outside (0, 0.5).
    public static func evaluate<S: BinaryFloatingPoint>(labels: [Float], predictions: [S], users: [Int32],
                                                        epsilon: Double = 1e-7) throws(CascadeError) -> ClassificationReport {
        guard epsilon > 0, epsilon < 0.5 else { throw .invalid("epsilon must be in (0, 0.5), got \(epsilon)") }
        let raw = try ClassificationMetrics.checked(labels: labels, scores: predictions, name: "predictions")
        guard !raw.isEmpty else { throw .invalid("no rows to score") }
        guard users.count == labels.count else { throw .invalid("\(labels.count) labels but \(users.count) users") }
        let q = raw.map { ClassificationMetrics.clip($0, epsilon) }
        var pos: [Double] = [], neg: [Double] = []
        for (y, s) in zip(labels, q) {
            if y >= 0.5 { pos.append(s) } else { neg.append(s) }
        }
        let auc = ClassificationMetrics.aucOfClasses(positives: &pos, negatives: &neg)
        let gauc = try ClassificationMetrics.gaucOfChecked(labels: labels, scores: q, users: users)
        return ClassificationReport(rows: q.count, auc: auc ?? .nan, gauc: gauc ?? .nan,
                                    logLoss: ClassificationMetrics.logLossOfClipped(labels: labels, clipped: q),
                                    calibration: ClassificationMetrics.calibrationOfChecked(labels: labels, predictions: q) ?? .nan)
    }

    /// One line in the judge's format:
    /// `system=NAME rows=N auc=0.1234 gauc=0.1234 logloss=0.1234 calibration=1.234`.
    public func line(system: String) -> String {
        "system=\(system) rows=\(rows) auc=\(fixed(auc, 4)) gauc=\(fixed(gauc, 4)) logloss=\(fixed(logLoss, 4)) calibration=\(fixed(calibration, 3))"
    }

    /// A small aligned table, for people.
    public func table(system: String) -> String {
        formatTable(title: "\(system), \(rows) rows", rows: [
            ("AUC", fixed(auc, 4)), ("GAUC", fixed(gauc, 4)),
            ("logloss", fixed(logLoss, 4)), ("calibration", fixed(calibration, 3)),
        ])
    }
}
