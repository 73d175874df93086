import CascadeEval
import CascadeTensor
import Foundation
import Testing
@testable import CascadeRank

/// Isotonic (PAV) and piecewise-linear calibration: a hand-computed PAV case, monotone output,
/// and biased predictors mapped back to a calibration ratio near 1 on a fresh sample.
@Suite struct CalibrationTests {
    /// True probabilities p (a logistic of a normal), labels drawn from p, and the biased score.
    static func sample(rows: Int, seed: UInt64, bias: (Float) -> Float) -> (scores: [Float], labels: [Float]) {
        var rng = TensorRandom(seed: seed)
        var scores: [Float] = [], labels: [Float] = []
        scores.reserveCapacity(rows); labels.reserveCapacity(rows)
        for _ in 0..<rows {
            // Box-Muller normal, mean -1.5 (a CTR-like base rate), std 1.
            let u1 = max(rng.nextUnitFloat(), 1e-7), u2 = rng.nextUnitFloat()
            let z = (-2 * log(u1)).squareRoot() * cos(2 * Float.pi * u2)
            let p = 1 / (1 + exp(-(z - 1.5)))
            labels.append(rng.nextUnitFloat() < p ? 1 : 0)
            scores.append(bias(p))
        }
        return (scores, labels)
    }

    @Test func handComputedPAV() throws {
        // Scores 1...6 with labels 0 1 0 0 1 1: PAV pools (1, 0) at scores 2, 3, then that block
        // with the 0 at score 4 -> mean 1/3 centred at 3; the rest are already ordered.
        let c = try IsotonicCalibrator.fit(scores: [1, 2, 3, 4, 5, 6], labels: [0, 1, 0, 0, 1, 1])
        #expect(c.centres == [1, 3, 5, 6])
        #expect(c.values.map { ($0 * 1e6).rounded() / 1e6 } == [0, 0.333333, 1, 1])
        // Interpolation between centres, clamping outside.
        #expect(abs(c(2) - 1.0 / 6) < 1e-6)
        #expect(abs(c(4) - 2.0 / 3) < 1e-6)
        #expect(c(0) == 0 && c(9) == 1)
        // Equal scores are pooled before PAV: (0.5, 1), (0.5, 0) -> one block 0.5.
        let tied = try IsotonicCalibrator.fit(scores: [0.25, 0.5, 0.5, 0.75], labels: [0, 1, 0, 1])
        #expect(tied.centres == [0.25, 0.5, 0.75] && tied.values == [0, 0.5, 1])
    }

    @Test func isotonicIsMonotone() throws {
        let (s, y) = Self.sample(rows: 20_000, seed: 3) { $0 }
        let c = try IsotonicCalibrator.fit(scores: s, labels: y)
        for i in c.values.indices.dropFirst() { #expect(c.values[i] >= c.values[i - 1]) }
        var last: Float = -1
        for i in 0...1000 {
            let v = c(Float(i) / 1000)
            #expect(v >= last)
            last = v
        }
        let pl = try PiecewiseLinearCalibrator.fit(scores: s, labels: y)
        last = -1
        for i in 0...1000 {
            let v = pl(Float(i) / 1000)
            #expect(v >= last && v >= 0 && v <= 1)
            last = v
        }
    }

    @Test(arguments: ScoreCalibrator.Method.allCases, ["square", "half"])
    func biasedPredictorIsRecalibrated(method: ScoreCalibrator.Method, bias: String) throws {
        let f: (Float) -> Float = bias == "square" ? { $0 * $0 } : { 0.5 * $0 }
        let fit = Self.sample(rows: 50_000, seed: 11, bias: f)
        let fresh = Self.sample(rows: 50_000, seed: 12, bias: f)
        let cal = try RankCalibration.fit(method, tasks: ["click"], predictions: fit.scores.map { [$0] },
                                          labels: fit.labels.map { [$0] })
        let report = try #require(try cal.report(predictions: fresh.scores.map { [$0] }, labels: fresh.labels.map { [$0] }).first)
        #expect(abs((report.ratioBefore ?? 0) - 1) > 0.3, "\(report.line)")
        #expect(abs((report.ratioAfter ?? 0) - 1) < 0.02, "\(report.line)")
        #expect(report.logLossAfter < report.logLossBefore, "\(report.line)")
    }

    @Test func codableRoundTripAndPerTaskApply() throws {
        let a = Self.sample(rows: 5_000, seed: 5) { $0 * $0 }, b = Self.sample(rows: 5_000, seed: 6) { 0.5 * $0 }
        let preds = zip(a.scores, b.scores).map { [$0, $1] }, labels = zip(a.labels, b.labels).map { [$0, $1] }
        for method in ScoreCalibrator.Method.allCases {
            let cal = try RankCalibration.fit(method, tasks: ["click", "like"], predictions: preds, labels: labels)
            let data = try JSONEncoder().encode(cal)
            let back = try JSONDecoder().decode(RankCalibration.self, from: data)
            #expect(back == cal)
            let out = back.apply(preds)
            #expect(out[7][0] == cal.calibrators[0](preds[7][0]) && out[7][1] == cal.calibrators[1](preds[7][1]))
        }
    }

    /// Watch time is in seconds: it is scaled to the observed mean, not squeezed into [0, 1],
    /// and reported by its ratio alone.
    @Test func watchTimeIsScaledToItsObservedMean() throws {
        let seconds: [Float] = [0, 30, 0, 90, 10, 0, 60, 20]
        let predictions = seconds.enumerated().map { [Float(0.1 + 0.05 * Double($0.offset % 3)), 2 * $0.element + 5] }
        let labels = seconds.enumerated().map { [Float($0.offset % 3 == 0 ? 1 : 0), $0.element] }
        let c = try RankCalibration.fit(.piecewiseLinear, tasks: ["click", "watch_time"], predictions: predictions, labels: labels)
        let after = c.apply(predictions)
        let predicted = after.reduce(0.0) { $0 + Double($1[1]) }, observed = seconds.reduce(0.0) { $0 + Double($1) }
        #expect(abs(predicted / observed - 1) < 1e-4)
        #expect(after.map { $0[1] }.max()! > 80, "seconds stay seconds, never clamped to 1")
        let report = try c.report(predictions: predictions, labels: labels)
        #expect(abs((report[1].ratioBefore ?? 0) - (2 * observed + 40) / observed) < 1e-4)
        #expect(report[1].logLossBefore.isNaN && report[0].logLossBefore.isFinite)
    }

    @Test func badInputIsRejected() {
        #expect(throws: RankError.self) { try IsotonicCalibrator.fit(scores: [0.1, 0.2], labels: [1]) }
        #expect(throws: RankError.self) { try IsotonicCalibrator.fit(scores: [], labels: []) }
        #expect(throws: RankError.self) { try PiecewiseLinearCalibrator.fit(scores: [0.1], labels: [2]) }
    }
}
