import CascadeCore
import CascadeEngine
import CascadeRecall
import CascadeStore
import Foundation
import Testing

/// A deployment whose client reports clicks only: the ranker learns from the served-page log.
@Suite struct PageImpressionsTests {
    /// 200 users, three pages each of 5 "good" and 5 "bad" items in a shuffled order; a good item
    /// is clicked with probability 0.5, a bad one with 0.05, by request id and slot, 5 s after its
    /// page. With `reportHalf`, the client also reports the impressions of every other page.
    static func deployment(reportHalf: Bool, pages: Bool = true) throws -> SQLiteStore {
        let s = try SQLiteStore()
        var rng = SplitMix64(seed: 7)
        var events: [Event] = [], served: [ServedPage] = []
        var t = 1_000_000.0
        for u in 0..<200 {
            for k in 0..<3 {
                let good = (0..<5).map { "good\((u + k + $0) % 10)" }, bad = (0..<5).map { "bad\((u * 3 + k + $0) % 10)" }
                var items = good + bad
                for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                let request = "r\(u)-\(k)"
                served.append(ServedPage(request: request, user: "u\(u)", timestamp: t, items: items))
                for (slot, item) in items.enumerated() {
                    if reportHalf && k % 2 == 0 {
                        events.append(Event(user: "u\(u)", item: item, type: .impression, timestamp: t + 1, request: request, position: slot))
                    }
                    let p = item.hasPrefix("good") ? 0.5 : 0.05
                    if Double(rng.next() % 1_000_000) / 1_000_000 < p {
                        events.append(Event(user: "u\(u)", item: item, timestamp: t + 5, request: request, position: slot))
                    }
                }
                t += 60
            }
        }
        // Every item has a dense id; the newest event comes an hour after the last page, so
        // every page has had its clicks.
        for i in 0..<10 {
            events.append(Event(user: "seed", item: "good\(i)", timestamp: 999_000 + Double(i)))
            events.append(Event(user: "seed", item: "bad\(i)", timestamp: 999_100 + Double(i)))
        }
        events.append(Event(user: "late", item: "good0", timestamp: t + 3_600))
        try s.appendEvents(events)
        if pages { try s.appendPages(served) }
        return s
    }

    static var config: FunnelConfig {
        var c = FunnelConfig()
        c.quotas = [ChannelQuota(channel: "popular", quota: 50)]
        c.rank.epochs = 2
        c.rank.preRank = false
        return c
    }

    @Test func clicksJoinedToServedPagesTrainTheRanker() throws {
        let s = try Self.deployment(reportHalf: false)
        let r = try Trainer.train(store: s, config: Self.config)
        #expect(r.pageImpressions == 200 * 3 * 10)
        let rank = try #require(r.rank)
        #expect(rank.samples == 200 * 3 * 10)
        // Good items draw ten times the clicks of bad ones: the ranker learned it.
        #expect((rank.validAUC["click"] ?? 0) > 0.75, "\(rank.validAUC)")
        // The impressions carry their slots: position bias could learn from them.
        var c = Self.config
        c.rank.positionBias = true
        let biased = try #require(try Trainer.train(store: s, config: c).rank)
        #expect(biased.positionCurve?.count == 10)
    }

    @Test func reportedImpressionsAreNotCountedTwice() throws {
        let s = try Self.deployment(reportHalf: true)
        let r = try Trainer.train(store: s, config: Self.config)
        // Pages 0 and 2 of each user were reported by the client; page 1 comes from the log.
        #expect(r.pageImpressions == 200 * 10)
        #expect(r.rank?.samples == 200 * 3 * 10)
    }

    @Test func withoutServedPagesTheHistoryAloneIsUsed() throws {
        let s = try Self.deployment(reportHalf: false, pages: false)
        let r = try Trainer.train(store: s, config: Self.config)
        #expect(r.pageImpressions == 0)
        #expect(r.rank == nil, "clicks alone are too few impressions for a ranker")
    }

    @Test func pagesStillWaitingForTheirClicksAreLeftOut() throws {
        let s = try Self.deployment(reportHalf: false)
        // A page served 10 minutes before the newest event has no clicks yet: not a sample.
        let newest = try s.loadEventLog().maxTimestamp
        try s.appendPages([ServedPage(request: "fresh", user: "u1", timestamp: newest - 600, items: ["good1", "good2"])])
        let r = try Trainer.train(store: s, config: Self.config)
        #expect(r.pageImpressions == 200 * 3 * 10)
    }

    /// Pages served with exploration: each slot shows, with probability 0.3, an item of a pool at
    /// random (propensity 0.02 against 0.7 for the ranked items). Clicks follow e(k) = (1+k)^-0.6.
    /// `train` with the position tower measures the curve on the explored slots and holds it.
    @Test func theCurveIsMeasuredOnTheExploredSlotsAndHeld() throws {
        let s = try SQLiteStore()
        var rng = SplitMix64(seed: 11)
        func u01() -> Double { Double(rng.next() % 1_000_000) / 1_000_000 }
        var events: [Event] = [], served: [ServedPage] = []
        var t = 1_000_000.0
        for i in 0..<20 {
            events.append(Event(user: "seed", item: "top\(i)", timestamp: 999_000 + Double(i)))
            events.append(Event(user: "seed", item: "pool\(i)", timestamp: 999_100 + Double(i)))
        }
        for u in 0..<200 {
            for k in 0..<4 {
                var items: [String] = [], propensities: [Double] = []
                for slot in 0..<10 {
                    let explored = u01() < 0.3
                    let item = explored ? "pool\(rng.next() % 20)" : "top\((u + k + slot) % 20)"
                    if items.contains(item) { continue }
                    items.append(item); propensities.append(explored ? 0.02 : 0.7)
                    let relevance = explored ? 0.35 : 0.5
                    if u01() < relevance * Foundation.pow(Double(1 + items.count - 1), -0.6) {
                        events.append(Event(user: "u\(u)", item: item, timestamp: t + 5))
                    }
                }
                served.append(ServedPage(request: "e\(u)-\(k)", user: "u\(u)", timestamp: t, items: items, propensities: propensities))
                t += 60
            }
        }
        events.append(Event(user: "late", item: "top0", timestamp: t + 3_600))
        try s.appendEvents(events)
        try s.appendPages(served)
        let m = try #require(try ExploredPositionCurve.measure(pages: try s.pages(from: 0, to: t), store: s))
        #expect(m.impressions >= 1_000 && abs(m.eta - 0.6) < 0.2, "\(m)")
        var c = Self.config
        c.rank.positionBias = true
        let r = try Trainer.train(store: s, config: c)
        let held = try #require(r.measuredPositionCurve)
        #expect(held.eta == m.eta)
        // The tower held it: the ranker's reported curve falls as the measured one does.
        let curve = try #require(r.rank?.positionCurve)
        #expect(curve.count == 10 && curve[9] < curve[1] && curve[1] < 1, "\(curve)")
        // Without the tower nothing is measured.
        #expect(try Trainer.train(store: s, config: Self.config).measuredPositionCurve == nil)
    }
}
