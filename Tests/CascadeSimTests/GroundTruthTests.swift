import Foundation
import Testing
import CascadeCore
import CascadeSim

private let registry = EventTypeRegistry()
private func code(_ t: EventType) -> UInt8 { registry.code(of: t)! }

@Suite struct GroundTruthTests {
    let w = smallWorld

    @Test func everyImpressionHasItsTruth() {
        let impressions = (0..<w.log.count).filter { w.log.types[$0] == code(.impression) }
        #expect(w.impressionTruth.count == impressions.count)
        #expect(w.impressionTruth.map { Int($0.event) } == impressions)
        for t in w.impressionTruth {
            #expect(t.click > 0 && t.click < 1)
            #expect(t.likeGivenClick > 0 && t.likeGivenClick < 1)
            #expect(t.finishGivenClick >= 0 && t.finishGivenClick <= 1)
            #expect(Int(t.position) < w.config.pageSize)
        }
    }

    @Test func truthFollowsTheDocumentedClickModel() {
        // click = e(position) * sigmoid(z), with z taken at the page time (the impression time up to
        // a few milliseconds).
        for t in w.impressionTruth.prefix(2_000) {
            let k = Int(t.event)
            let e = w.expectedEngagement(user: w.log.users[k], item: w.log.items[k], at: w.log.timestamps[k])
            #expect(abs(e.affinity - t.affinity) < 1e-6)
            let expected = w.positionBias(position: Int(t.position)) * e.click
            #expect(abs(expected - t.click) < 1e-4)
            #expect(abs(e.likeGivenClick - t.likeGivenClick) < 1e-6)
            #expect(abs(e.finishGivenClick - t.finishGivenClick) < 1e-6)
        }
        #expect(w.positionBias(position: 0) == 1)
        #expect(w.positionBias(position: 1) < 1)
        #expect(w.positionBias(position: 5) < w.positionBias(position: 1))
    }

    @Test func clicksDependOnAffinity() {
        let clicked = w.impressionTruth.filter(\.clicked), skipped = w.impressionTruth.filter { !$0.clicked }
        #expect(!clicked.isEmpty && !skipped.isEmpty)
        let mean = { (xs: [ImpressionTruth]) in xs.map { Double($0.affinity) }.reduce(0, +) / Double(xs.count) }
        #expect(mean(clicked) > mean(skipped) + 0.2)
        let ctr = Double(clicked.count) / Double(w.impressionTruth.count)
        #expect(ctr > 0.03 && ctr < 0.25)
    }

    @Test func positionBiasShowsInTheLog() {
        var shown = [Int](repeating: 0, count: w.config.pageSize), clicks = shown
        for t in w.impressionTruth {
            shown[Int(t.position)] += 1
            if t.clicked { clicks[Int(t.position)] += 1 }
        }
        let first = Double(clicks[0]) / Double(shown[0]), last = Double(clicks.last!) / Double(shown.last!)
        #expect(first > 1.5 * last)
    }

    @Test func popularityIsHeavyTailed() {
        var clicks = [Int](repeating: 0, count: w.items.count)
        for k in 0..<w.log.count where w.log.types[k] == code(.click) { clicks[Int(w.log.items[k])] += 1 }
        clicks.sort(by: >)
        let total = clicks.reduce(0, +)
        let top = clicks.prefix(w.items.count / 100).reduce(0, +)
        #expect(Double(top) / Double(total) > 0.05, "top 1% of items get \(top) of \(total) clicks")
    }

    @Test func activityIsHeavyTailed() {
        var perUser = [Int](repeating: 0, count: w.users.count)
        for u in w.log.users { perUser[Int(u)] += 1 }
        perUser.sort(by: >)
        let top = perUser.prefix(w.users.count / 10).reduce(0, +)
        #expect(Double(top) / Double(w.log.count) > 0.4)
    }

    @Test func bayesOptimalAUCIsInformative() {
        let auc = w.bayesOptimalClickAUC()
        #expect(auc > 0.6 && auc < 1)
        for target in [TruthTarget.like, .share, .finish] {
            let a = w.bayesOptimalAUC(target)
            #expect(a > 0.6 && a < 1)
        }
    }

    @Test func aucByRanksWithTies() {
        #expect(SimulatedWorld.auc(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]) == 0.75)
        #expect(SimulatedWorld.auc(scores: [0.5, 0.5], labels: [true, false]) == 0.5)
        #expect(SimulatedWorld.auc(scores: [-1, 2, 0], labels: [false, true, false]) == 1)
        #expect(SimulatedWorld.auc(scores: [0.3, 0.3, 0.1, 0.9], labels: [true, false, false, true]) == 0.875)
        #expect(SimulatedWorld.auc(scores: [1, 2], labels: [true, true]).isNaN)
    }

    /// Brute force: every item's click logit, best first, ties to the smaller index.
    func bruteForce(user: Int32, k: Int, excluding: Set<Int32>, at: Double?) -> [Int32] {
        var scored: [(Int32, Float)] = []
        for i in 0..<Int32(w.items.count) where !excluding.contains(i) {
            if let at, w.items[Int(i)].publishedAt! > at { continue }
            scored.append((i, w.expectedEngagement(user: user, item: i, at: at).clickLogit))
        }
        scored.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return scored.prefix(k).map(\.0)
    }

    @Test func trueTopKMatchesBruteForce() {
        let mid = w.config.start + w.config.duration / 2
        for user in [Int32(0), 17, 250, 499] {
            #expect(w.trueTopK(user: user, k: 20) == bruteForce(user: user, k: 20, excluding: [], at: nil))
            let excluded = Set(w.trueTopK(user: user, k: 5))
            #expect(w.trueTopK(user: user, k: 10, excluding: excluded) == bruteForce(user: user, k: 10, excluding: excluded, at: nil))
            #expect(w.trueTopK(user: user, k: 10, at: mid) == bruteForce(user: user, k: 10, excluding: [], at: mid))
        }
        #expect(w.trueTopK(user: 3, k: 0).isEmpty)
    }

    @Test func trueTopKItemsAreCloseToTheUser() {
        for user in [Int32(1), 2, 3] {
            let top = w.trueTopK(user: user, k: 10)
            let meanTop = top.map { w.trueAffinity(user: user, item: $0) }.reduce(0, +) / 10
            let meanAll = (0..<Int32(w.items.count)).map { w.trueAffinity(user: user, item: $0) }.reduce(0, +) / Float(w.items.count)
            #expect(meanTop > meanAll + 0.3)
        }
    }

    @Test func expectedEngagementIsConsistent() {
        let e = w.expectedEngagement(user: 5, item: 9, at: nil)
        #expect(abs(e.click - 1 / (1 + exp(-e.clickLogit))) < 1e-6)
        #expect(e.like == e.click * e.likeGivenClick)
        #expect(e.expectedWatchSeconds > 0)
        #expect(Double(e.expectedWatchSeconds) <= w.items[9].numeric["length"]! + 1e-3)
        #expect(e.value > 0)
        #expect(e.affinity == w.trueAffinity(user: 5, item: 9))
    }

    @Test func profilesCarrySignalAboutTastes() {
        // The strongest interest's top category is spread differently across age bands.
        let t = w.truth
        var byBand: [String: [Int]] = [:]
        for (u, user) in w.users.enumerated() {
            let top = Int(t.interests[t.interestOffsets[u]]) / t.subcategoriesPerTop
            byBand[user.categorical["age_band"]!, default: [Int](repeating: 0, count: w.config.topCategories)][top] += 1
        }
        let shares = byBand.values.filter { $0.reduce(0, +) >= 60 }.map { row in
            row.map { Double($0) / Double(row.reduce(0, +)) }
        }
        #expect(shares.count >= 2)
        var widest = 0.0
        for a in shares { for b in shares { widest = max(widest, zip(a, b).map { abs($0 - $1) }.reduce(0, +)) } }
        #expect(widest > 0.3)
    }
}
