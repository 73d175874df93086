import Foundation
import Testing
import CascadeCore
@testable import CascadeEval
import CascadeRerank

/// The off-policy estimators on a hand-computed case, and unbiased against a simulated
/// position-based world logged by epsilon exploration.
@Suite struct OffPolicyEstimateTests {
    @Test func handComputedCase() throws {
        let pairs: [(logged: OffPolicyEstimate.LoggedPage, target: OffPolicyEstimate.TargetPage)] = [
            (.init(items: [1, 2], clicks: [1, 0], inclusion: [0.8, 0.1]), .init(items: [2, 1], predicted: [0.2, 0.3], supported: [true, true])),
            (.init(items: [3, 4], clicks: [0, 1], inclusion: [0.8, 0.8]), .init(items: [4, 5], predicted: [0.1, 0.05], supported: [true, false])),
        ]
        let r = try OffPolicyEstimate.estimate(pairs, examination: [1, 0.5])
        func near(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-9 }
        #expect(near(r.ips.value, 0.78125) && near(r.dr.value, 0.31875) && near(r.snips.value, 0.25) && near(r.directModel, 0.1625))
        #expect(near(r.effectiveSampleSize, 156.25 / 103.125) && near(r.support, 0.75) && r.impressions == 4 && r.requests == 2)
        #expect(near(r.ips.low, -0.1375) && near(r.ips.high, 1.7))
    }

    @Test func refusesWhatCannotBeEstimated() {
        let logged = OffPolicyEstimate.LoggedPage(items: [1], clicks: [1], inclusion: [0.5])
        #expect(throws: CascadeError.self) {
            try OffPolicyEstimate.estimate([(logged, .init(items: [9], predicted: [0.1], supported: [false]))], examination: [1])
        }
        #expect(throws: CascadeError.self) {
            try OffPolicyEstimate.estimate([(.init(items: [1], clicks: [1], inclusion: [0]), .init(items: [1], predicted: [0.1], supported: [true]))],
                                           examination: [1])
        }
        #expect(throws: CascadeError.self) { try OffPolicyEstimate.estimate([], examination: [1]) }
        #expect(throws: CascadeError.self) {
            try OffPolicyEstimate.estimate([(logged, .init(items: [1], predicted: [0.1], supported: [true]))], examination: [0])
        }
    }

    @Test func explorationPropensitiesMatchTheirFrequencies() throws {
        let ranked = (0..<20).map(Int32.init)
        var counts = [Double](repeating: 0, count: 20)
        let runs = 40_000
        for s in 0..<runs {
            let p = try EpsilonExploration.page(ranked: ranked, pageSize: 5, pool: 8, epsilon: 0.3, seed: UInt64(s))
            #expect(Set(p.items).count == 5)
            for (k, item) in p.items.enumerated() {
                counts[Int(item)] += 1
                #expect(p.inclusion[k] == EpsilonExploration.inclusion(rank: Int(item), count: 20, pageSize: 5, pool: 8, epsilon: 0.3))
            }
        }
        for i in 0..<20 {
            let expected = EpsilonExploration.inclusion(rank: i, count: 20, pageSize: 5, pool: 8, epsilon: 0.3)
            #expect(abs(counts[i] / Double(runs) - expected) < 0.01, "rank \(i): \(counts[i] / Double(runs)) vs \(expected)")
        }
        #expect(EpsilonExploration.inclusion(rank: 13, count: 20, pageSize: 5, pool: 8, epsilon: 0.3) == 0)
        // A pool smaller than the page: no exploration.
        let short = try EpsilonExploration.page(ranked: Array(ranked.prefix(8)), pageSize: 5, pool: 8, epsilon: 0.3, seed: 1)
        #expect(short.items == [0, 1, 2, 3, 4] && short.inclusion == [1, 1, 1, 1, 1])
    }

    /// A position-based world: item i clicked with r(i) when examined, slot k examined with
    /// (1 + k)^-0.6. Logged by epsilon exploration around a noisy ranking; the target orders the
    /// same candidates by r. IPS, SNIPS and DR (with a direct model 30% too high) land on the
    /// target's true CTR, which the logging policy's own CTR is far from.
    @Test func unbiasedOnASimulatedPositionBasedWorld() throws {
        var rng = SplitMix64(seed: 3)
        let e = (0..<5).map { pow(1 + Double($0), -0.6) }
        var pairs: [(logged: OffPolicyEstimate.LoggedPage, target: OffPolicyEstimate.TargetPage)] = []
        var truth = 0.0, logged = 0.0
        let requests = 30_000
        for q in 0..<requests {
            let r = (0..<20).map { _ in 0.05 + 0.45 * rng.nextUnitDouble() }
            let noisy = (0..<20).map { r[$0] + 0.3 * rng.nextUnitDouble() }
            let ranked = (0..<20).sorted { noisy[$0] > noisy[$1] }.map(Int32.init)
            let page = try EpsilonExploration.page(ranked: ranked, pageSize: 5, pool: 10, epsilon: 0.3, seed: UInt64(q) &* 7919)
            let clicks = page.items.enumerated().map { k, i in rng.nextUnitDouble() < e[k] * r[Int(i)] ? 1.0 : 0.0 }
            logged += page.items.enumerated().reduce(0) { $0 + e[$1.offset] * r[Int($1.element)] }
            let target = Array(ranked.prefix(15)).sorted { r[Int($0)] > r[Int($1)] }.prefix(5).map { $0 }
            truth += target.enumerated().reduce(0) { $0 + e[$1.offset] * r[Int($1.element)] }
            pairs.append((.init(items: page.items, clicks: clicks, inclusion: page.inclusion),
                          .init(items: target, predicted: target.enumerated().map { 1.3 * e[$0.offset] * r[Int($0.element)] },
                                supported: Array(repeating: true, count: 5))))
        }
        let trueCTR = truth / Double(requests * 5), loggedCTR = logged / Double(requests * 5)
        let est = try OffPolicyEstimate.estimate(pairs, examination: e)
        #expect(abs(loggedCTR - trueCTR) / trueCTR > 0.1)
        for (name, x) in [("ips", est.ips), ("snips", est.snips), ("dr", est.dr)] {
            #expect(abs(x.value - trueCTR) / trueCTR < 0.04, "\(name) \(x.value) vs \(trueCTR)")
            #expect(x.low <= trueCTR && trueCTR <= x.high, "\(name) \(x) vs \(trueCTR)")
        }
        #expect(abs(est.directModel - 1.3 * trueCTR) / trueCTR < 0.01)
    }
}
