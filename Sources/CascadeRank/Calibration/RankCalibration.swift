import CascadeEval
import Foundation

/// One fitted score calibrator: isotonic or piecewise-linear. Encoded as
/// `{"method": "isotonic", "isotonic": {...}}` or `{"method": "piecewise-linear", "piecewiseLinear": {...}}`.
public enum ScoreCalibrator: Codable, Sendable, Equatable {
    case isotonic(IsotonicCalibrator)
    case piecewiseLinear(PiecewiseLinearCalibrator)

    public enum Method: String, Codable, Sendable, CaseIterable {
        case isotonic
        case piecewiseLinear = "piecewise-linear"
    }

    public var method: Method {
        switch self {
        case .isotonic: return .isotonic
        case .piecewiseLinear: return .piecewiseLinear
        }
    }

    /// Fits a calibrator of `method` on held-out scores (probabilities) and labels.
    public static func fit(_ method: Method, scores: [Float], labels: [Float], knotCount: Int = 20) throws -> ScoreCalibrator {
        switch method {
        case .isotonic: return .isotonic(try IsotonicCalibrator.fit(scores: scores, labels: labels))
        case .piecewiseLinear: return .piecewiseLinear(try PiecewiseLinearCalibrator.fit(scores: scores, labels: labels, knotCount: knotCount))
        }
    }

    public func callAsFunction(_ score: Float) -> Float {
        switch self {
        case .isotonic(let c): return c(score)
        case .piecewiseLinear(let c): return c(score)
        }
    }

    enum CodingKeys: String, CodingKey { case method, isotonic, piecewiseLinear }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(Method.self, forKey: .method) {
        case .isotonic: self = .isotonic(try c.decode(IsotonicCalibrator.self, forKey: .isotonic))
        case .piecewiseLinear: self = .piecewiseLinear(try c.decode(PiecewiseLinearCalibrator.self, forKey: .piecewiseLinear))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        switch self {
        case .isotonic(let x): try c.encode(x, forKey: .isotonic)
        case .piecewiseLinear(let x): try c.encode(x, forKey: .piecewiseLinear)
        }
    }
}

/// Per-task calibration of a ranking model's probabilities, fitted on a held-out slice (rows the
/// model did not train on), stored next to the model (`Codable`) and applied at serving time
/// after the sigmoid. The report gives each task's calibration ratio (mean prediction / mean
/// label) and logloss on the fitting slice before and after.
public struct RankCalibration: Codable, Sendable, Equatable {
    /// Task names, in the model's logit column order.
    public var tasks: [String]
    /// One calibrator per task.
    public var calibrators: [ScoreCalibrator]

    public init(tasks: [String], calibrators: [ScoreCalibrator]) throws {
        guard tasks.count == calibrators.count else {
            throw RankError.model("calibration: \(tasks.count) tasks but \(calibrators.count) calibrators")
        }
        self.tasks = tasks
        self.calibrators = calibrators
    }

    /// Fits one calibrator per task on `predictions` [rows][tasks] against `labels` [rows][tasks].
    public static func fit(_ method: ScoreCalibrator.Method, tasks: [String], predictions: [[Float]], labels: [[Float]],
                           knotCount: Int = 20) throws -> RankCalibration {
        guard predictions.count == labels.count else {
            throw RankError.data("calibration: \(predictions.count) prediction rows but \(labels.count) label rows")
        }
        let calibrators = try tasks.indices.map { t in
            // Watch time is served in seconds, not as a probability: scaled so its mean matches
            // the observed mean (the odds of weighted logistic regression overstate it by about
            // 1 / (1 - CTR) and more where clicks are common).
            if TaskKind.inferred(tasks[t]) == .watchTime {
                let p = try column(predictions, t, tasks.count, "predictions"), y = try column(labels, t, tasks.count, "labels")
                let sp = p.reduce(0.0) { $0 + Double($1) }, sy = y.reduce(0.0) { $0 + Double($1) }
                return try scaling(sp > 0 && sy > 0 ? sy / sp : 1)
            }
            return try ScoreCalibrator.fit(method, scores: try column(predictions, t, tasks.count, "predictions"),
                                           labels: try column(labels, t, tasks.count, "labels"), knotCount: knotCount)
        }
        return try RankCalibration(tasks: tasks, calibrators: calibrators)
    }

    /// A calibrator that multiplies scores in [0, 1e9] by `factor`.
    static func scaling(_ factor: Double) throws -> ScoreCalibrator {
        .piecewiseLinear(try PiecewiseLinearCalibrator(knots: [0, 1e9], values: [0, 1e9 * factor]))
    }

    /// Predicts `heldOut` with `model` and fits on its labels (one column per task).
    public static func fit(_ method: ScoreCalibrator.Method, model: any RankModel, heldOut: EncodedBatch,
                           knotCount: Int = 20, threads: Int? = 1) throws -> RankCalibration {
        let (p, y) = try predictionsAndLabels(model, heldOut, threads: threads)
        return try fit(method, tasks: model.tasks, predictions: p, labels: y, knotCount: knotCount)
    }

    /// Calibrated probabilities [rows][tasks].
    public func apply(_ predictions: [[Float]]) -> [[Float]] {
        predictions.map { row in
            precondition(row.count == calibrators.count, "calibration: rows need \(calibrators.count) task columns, got \(row.count)")
            return zip(row, calibrators).map { $1($0) }
        }
    }

    /// Calibrates task `task`'s column in place.
    public func apply(task: Int, _ scores: inout [Float]) {
        let c = calibrators[task]
        for i in scores.indices { scores[i] = c(scores[i]) }
    }

    /// Calibration ratio and logloss of each task before and after calibrating `predictions`.
    public func report(predictions: [[Float]], labels: [[Float]]) throws -> [CalibrationReport] {
        let after = apply(predictions)
        return try tasks.indices.map { t in
            let y = try Self.column(labels, t, tasks.count, "labels")
            let p0 = try Self.column(predictions, t, tasks.count, "predictions"), p1 = try Self.column(after, t, tasks.count, "predictions")
            if TaskKind.inferred(tasks[t]) == .watchTime {
                // Seconds: the ratio of means is meaningful, a logloss is not.
                let observed = y.reduce(0.0) { $0 + Double($1) }
                func ratio(_ p: [Float]) -> Double { observed > 0 ? p.reduce(0.0) { $0 + Double($1) } / observed : .nan }
                return CalibrationReport(task: tasks[t], method: calibrators[t].method, rows: y.count,
                                         ratioBefore: ratio(p0), ratioAfter: ratio(p1), logLossBefore: .nan, logLossAfter: .nan)
            }
            do {
                return CalibrationReport(task: tasks[t], method: calibrators[t].method, rows: y.count,
                                         ratioBefore: try ClassificationMetrics.calibrationRatio(labels: y, predictions: p0),
                                         ratioAfter: try ClassificationMetrics.calibrationRatio(labels: y, predictions: p1),
                                         logLossBefore: try ClassificationMetrics.logLoss(labels: y, predictions: p0),
                                         logLossAfter: try ClassificationMetrics.logLoss(labels: y, predictions: p1))
            } catch { throw RankError.data("calibration report, task \(tasks[t]): \(error)") }
        }
    }

    /// The report on `batch` predicted by `model`.
    public func report(model: any RankModel, batch: EncodedBatch, threads: Int? = 1) throws -> [CalibrationReport] {
        let (p, y) = try Self.predictionsAndLabels(model, batch, threads: threads)
        return try report(predictions: p, labels: y)
    }

    static func predictionsAndLabels(_ model: any RankModel, _ batch: EncodedBatch, threads: Int?) throws -> ([[Float]], [[Float]]) {
        guard let l = batch.labels else { throw RankError.data("calibration: the held-out rows have no labels") }
        guard l.shape.last == model.tasks.count else {
            throw RankError.data("calibration: labels have \(l.shape.last) columns, model has \(model.tasks.count) tasks")
        }
        let w = l.shape.last
        let y = (0..<batch.rows).map { r in (0..<w).map { l.base[r * w + $0] } }
        return (try model.predict(batch, threads: threads), y)
    }

    static func column(_ rows: [[Float]], _ t: Int, _ width: Int, _ what: String) throws -> [Float] {
        try rows.enumerated().map { i, row in
            guard row.count == width else { throw RankError.data("calibration: \(what) row \(i) has \(row.count) columns, expected \(width)") }
            return row[t]
        }
    }
}

/// Before/after figures of one task's calibration.
public struct CalibrationReport: Sendable, Equatable {
    public var task: String
    public var method: ScoreCalibrator.Method
    public var rows: Int
    /// Mean prediction / mean label (nil without positives).
    public var ratioBefore: Double?
    public var ratioAfter: Double?
    public var logLossBefore: Double
    public var logLossAfter: Double

    /// `task=click method=isotonic rows=... ratio_before=... ratio_after=... logloss_before=... logloss_after=...`
    public var line: String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "nan" }
        return "task=\(task) method=\(method.rawValue) rows=\(rows) ratio_before=\(f(ratioBefore)) ratio_after=\(f(ratioAfter))"
            + " logloss_before=\(f(logLossBefore)) logloss_after=\(f(logLossAfter))"
    }
}
