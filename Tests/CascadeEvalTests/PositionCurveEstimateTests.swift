import CascadeCore
import CascadeEval
import Foundation
import Testing

@Suite struct PositionCurveEstimateTests {
    /// Expected counts of a world with e(k) = (1 + k)^-0.6 and relevance 0.05 give back eta 0.6
    /// exactly, and the raw ratios are the curve itself.
    @Test func expectedCountsGiveTheExponentBack() throws {
        let shown = [Int](repeating: 10_000, count: 10)
        let clicks = (0..<10).map { 10_000 * 0.05 * Foundation.pow(Double(1 + $0), -0.6) }
        let r = try PositionCurveEstimate.fit(shown: shown, clicks: clicks)
        #expect(abs(r.eta - 0.6) < 1e-4, "\(r.eta)")
        #expect(abs(r.curve[3] - Foundation.pow(4, -0.6)) < 1e-4)
        #expect(abs(r.raw[9] - Foundation.pow(10, -0.6)) < 1e-9)
        #expect(r.impressions == 100_000)
    }

    /// Binomial draws of 600 impressions a slot (the explored slots of a small run) land near the truth.
    @Test func drawnClicksLandNearTheTruth() throws {
        var rng = SplitMix64(seed: 3)
        let shown = [Int](repeating: 600, count: 10)
        let clicks = (0..<10).map { k -> Double in
            let p = 0.1 * Foundation.pow(Double(1 + k), -0.6)
            return Double((0..<600).filter { _ in Double(rng.next() % 1_000_000) / 1_000_000 < p }.count)
        }
        let r = try PositionCurveEstimate.fit(shown: shown, clicks: clicks)
        #expect(abs(r.eta - 0.6) < 0.15, "\(r.eta)")
        #expect(r.curve[0] == 1)
    }

    @Test func refusesCountsThatSayNothing() {
        #expect(throws: CascadeError.self) { try PositionCurveEstimate.fit(shown: [10], clicks: [1]) }
        #expect(throws: CascadeError.self) { try PositionCurveEstimate.fit(shown: [0, 10], clicks: [0, 1]) }
        #expect(throws: CascadeError.self) { try PositionCurveEstimate.fit(shown: [10, 10], clicks: [0, 0]) }
        #expect(throws: CascadeError.self) { try PositionCurveEstimate.fit(shown: [10, 10], clicks: [11, 0]) }
    }
}
