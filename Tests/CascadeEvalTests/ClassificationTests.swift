import CascadeCore
import Foundation
import Testing
@testable import CascadeEval

@Suite("Classification metrics")
struct ClassificationTests {
    @Test func aucOfPerfectReversedAndTiedRankings() throws {
        let labels: [Float] = [0, 0, 1, 1]
        #expect(try ClassificationMetrics.auc(labels: labels, scores: [0.1, 0.2, 0.3, 0.4]) == 1)
        #expect(try ClassificationMetrics.auc(labels: labels, scores: [0.4, 0.3, 0.2, 0.1]) == 0)
        #expect(try ClassificationMetrics.auc(labels: labels, scores: [0.5, 0.5, 0.5, 0.5]) == 0.5)
        #expect(try ClassificationMetrics.auc(labels: [1, 1], scores: [0.1, 0.2]) == nil)
    }

    @Test func aucHandCaseWithTies() throws {
        // labels 1 1 0 0 1 0, scores .8 .6 .6 .3 .3 .1: positives {.8, .6, .3}, negatives {.6, .3, .1}.
        // .8 beats all 3 -> 3;  .6: tie .6 (0.5) + beats .3, .1 -> 2.5;  .3: tie .3 (0.5) + beats .1 -> 1.5
        // AUC = 7 / (3 * 3) = 0.7777...
        // Rank sum check: ranks .1:1, .3:2.5 2.5, .6:4.5 4.5, .8:6; R_pos = 2.5 + 4.5 + 6 = 13;
        // (13 - 3*4/2) / 9 = 7/9.
        let a = try ClassificationMetrics.auc(labels: [1, 1, 0, 0, 1, 0], scores: [0.8, 0.6, 0.6, 0.3, 0.3, 0.1] as [Float])
        #expect(a == 7.0 / 9.0)
    }

    @Test func gaucWeightsUsersByRowsAndSkipsOneClassUsers() throws {
        // user 0: labels 1 0, scores .9 .2 -> AUC 1, 2 rows.
        // user 1: labels 1 0 0 1, scores .3 .5 .1 .4 -> positives {.3, .4} each beat only .1 -> 2/4 = 0.5, 4 rows.
        // user 2: labels 1 1 -> one class, skipped.
        // GAUC = (2 * 1 + 4 * 0.5) / (2 + 4) = 4/6
        let g = try ClassificationMetrics.gauc(labels: [1, 0, 1, 0, 0, 1, 1, 1],
                                               scores: [0.9, 0.2, 0.3, 0.5, 0.1, 0.4, 0.7, 0.8],
                                               users: [0, 0, 1, 1, 1, 1, 2, 2])
        #expect(abs(g! - 4.0 / 6.0) < 1e-15)
        #expect(try ClassificationMetrics.gauc(labels: [1, 0], scores: [0.5, 0.5], users: [0, 1]) == nil)
    }

    @Test func logLossWithClipping() throws {
        // -(ln 0.8 + ln(1 - 0.4)) / 2 = (0.2231435513142097 + 0.5108256237659907) / 2 = 0.3669845875401002
        let l = try ClassificationMetrics.logLoss(labels: [1, 0], predictions: [0.8, 0.4])
        #expect(abs(l - 0.3669845875401002) < 1e-15)
        // A positive predicted 0 is clipped to 1e-7: -ln(1e-7) = 16.11809565095832
        let c = try ClassificationMetrics.logLoss(labels: [1], predictions: [0.0])
        #expect(abs(c - 16.11809565095832) < 1e-9)
        #expect(throws: CascadeError.self) { try ClassificationMetrics.logLoss(labels: [1], predictions: [Double.nan]) }
        #expect(throws: CascadeError.self) { try ClassificationMetrics.logLoss(labels: [2], predictions: [0.5]) }
        #expect(throws: CascadeError.self) { try ClassificationMetrics.logLoss(labels: [1, 0], predictions: [0.5]) }
    }

    @Test func calibrationRatio() throws {
        // sum p = 0.6 + 0.2 + 0.2 + 0.6 = 1.6, sum y = 2 -> 0.8 (under-predicts)
        let r = try ClassificationMetrics.calibrationRatio(labels: [1, 0, 0, 1], predictions: [0.6, 0.2, 0.2, 0.6])
        #expect(abs(r! - 0.8) < 1e-15)
        #expect(try ClassificationMetrics.calibrationRatio(labels: [0, 0], predictions: [0.1, 0.2]) == nil)
    }

    @Test func reportLineFormat() throws {
        // Perfect ranking of 2 rows for one user: AUC 1, GAUC 1;
        // logloss -(ln .75 + ln .75)/2 = 0.2876820724517809; calibration (1/2)/(1/2) = 1.
        let r = try ClassificationReport.evaluate(labels: [1, 0], predictions: [0.75, 0.25], users: [0, 0])
        #expect(r.line(system: "m") == "system=m rows=2 auc=1.0000 gauc=1.0000 logloss=0.2877 calibration=1.000")
        #expect(r.table(system: "m").contains("GAUC"))
    }
}
