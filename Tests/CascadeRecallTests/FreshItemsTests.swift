import CascadeCore
@testable import CascadeRecall
import Testing

/// Eight items around request time 1000 with a 200-second window (fresh: published in [800, 1000]).
/// Prior rate 0.1 with 10 pseudo-exposures, floor at half the prior (0.05).
@Suite struct FreshItemsTests {
    static let weights = EventTypeRegistry().weightsByCode

    static var items: [Item] {
        [
            Item(id: "old", publishedAt: 100),
            Item(id: "ok", publishedAt: 900),          // 10 impressions, 1 click: (1+1)/(10+10) = 0.1
            Item(id: "bad", publishedAt: 950),         // 100 impressions, no click: 1/110 < 0.05
            Item(id: "unseen", publishedAt: 980),      // nothing yet: the prior, 0.1
            Item(id: "hidden", publishedAt: 990, hidden: true),
            Item(id: "undated"),
            Item(id: "future", publishedAt: 1100),
            Item(id: "good", publishedAt: 960),        // 20 impressions, 10 clicks: 11/30
        ]
    }

    static var log: EventLog {
        var l = EventLog()
        var u: Int32 = 0
        func add(_ item: Int32, impressions: Int, clicks: Int, at t: Double = 990) {
            for k in 0..<impressions {
                l.append(user: u, item: item, type: 0, timestamp: t)
                if k < clicks { l.append(user: u, item: item, type: 1, timestamp: t) }
                u += 1
            }
        }
        add(1, impressions: 10, clicks: 1)
        add(2, impressions: 100, clicks: 0)
        add(7, impressions: 20, clicks: 10)
        add(3, impressions: 50, clicks: 0, at: 2000) // after the build time: ignored
        return l
    }

    static func parameters(_ order: FreshItems.Order) -> FreshItems.Parameters {
        var p = FreshItems.Parameters()
        p.window = 200
        p.order = order
        p.priorRate = 0.1
        p.priorStrength = 10
        p.floorRatio = 0.5
        return p
    }

    static func build(_ order: FreshItems.Order, graduateAfter: Double? = nil) -> FreshItems {
        var p = parameters(order)
        p.graduateAfter = graduateAfter
        return FreshItems.build(items: items, log: log, typeWeights: weights, parameters: p, now: 1000)
    }

    func recall(_ f: FreshItems, now: Double = 1000, quota: Int = 10, seen: Set<Int32> = []) -> [Candidate] {
        f.recall(RecallContext(user: nil, now: now), quota: quota, filter: CandidateFilter(itemCount: 8, seen: seen))
    }

    @Test func newestFirstWithinWindowAboveFloor() {
        let got = recall(Self.build(.newest))
        #expect(got.map(\.item) == [3, 7, 1])
        #expect(got.map(\.score) == [0.9, 0.8, 0.5])
        #expect(got.allSatisfy { $0.channel == "fresh" })
    }

    @Test func qualityOrderUsesSmoothedRate() {
        let f = Self.build(.quality)
        #expect(f.items == [7, 1, 3])
        #expect(abs(f.quality[0] - 11.0 / 30) < 1e-6 && abs(f.quality[1] - 0.1) < 1e-6 && abs(f.quality[2] - 0.1) < 1e-6)
        #expect(recall(f, quota: 2).map(\.item) == [7, 1])
    }

    @Test func windowFollowsRequestTime() {
        let f = Self.build(.newest)
        #expect(recall(f, now: 1090).map(\.item) == [3, 7, 1])
        #expect(recall(f, now: 1150).map(\.item) == [3, 7])
        #expect(recall(f, now: 970).map(\.item) == [7, 1]) // item 3 is not published yet
        #expect(recall(f, now: 5000).isEmpty)
    }

    @Test func filterQuotaAndGraduation() {
        #expect(recall(Self.build(.newest), seen: [7]).map(\.item) == [3, 1])
        #expect(recall(Self.build(.newest), quota: 1).map(\.item) == [3])
        #expect(recall(Self.build(.newest), quota: 0).isEmpty)
        // Items with 15 impressions or more leave the pool.
        #expect(recall(Self.build(.newest, graduateAfter: 15)).map(\.item) == [3, 1])
    }

    @Test func estimatedPriorAndEmptyCatalog() {
        var p = Self.parameters(.newest)
        p.priorRate = nil // 11 positives over 130 exposures
        let f = FreshItems.build(items: Self.items, log: Self.log, typeWeights: Self.weights, parameters: p, now: 1000)
        #expect(f.items == [3, 7, 1])
        let empty = FreshItems.build(items: [], log: EventLog(), typeWeights: Self.weights)
        #expect(empty.items.isEmpty && recall(empty).isEmpty)
    }

    @Test func loadRejectsInconsistentArtifacts() throws {
        let f = Self.build(.newest)
        #expect(try FreshItems(serialized: f.serialized()).items == f.items)
        let badWindow = FreshItems(window: -1, order: .newest, items: [1], published: [900], quality: [0.1])
        #expect(throws: CascadeError.self) { _ = try FreshItems(serialized: badWindow.serialized()) }
        let unsorted = FreshItems(window: 10, order: .newest, items: [1, 2], published: [900, 950], quality: [0.1, 0.1])
        #expect(throws: CascadeError.self) { _ = try FreshItems(serialized: unsorted.serialized()) }
        let repeated = FreshItems(window: 10, order: .quality, items: [1, 1], published: [900, 950], quality: [0.2, 0.1])
        #expect(throws: CascadeError.self) { _ = try FreshItems(serialized: repeated.serialized()) }
    }
}
