import CascadeCore
@testable import CascadeRecall
import Foundation
import Testing

/// A catalog for the conformance fixture's 21 items, which carries no metadata of its own.
/// Items 0-9 (group A) are by authors "a0" (0-4) and "a1" (5-9) and lie in Paris; items 10-19
/// (group B) are by "b0" (10-14) and "b1" (15-19) and lie in Lyon; item 20 is by "star" in Paris.
/// Item i is published at 50 i seconds, so at the conformance request time (1000) items 10-20 are
/// within a 500-second window.
enum RuleFixture {
    static let paris = GeoPoint(latitude: 48.8566, longitude: 2.3522)
    static let lyon = GeoPoint(latitude: 45.7640, longitude: 4.8357)

    static var items: [Item] {
        (0..<Fixture.itemCount).map { i in
            let author = i == 20 ? "star" : ["a0", "a1", "b0", "b1"][i / 5]
            let base = i < 10 || i == 20 ? paris : lyon
            let loc = GeoPoint(latitude: base.latitude + Double(i % 5) * 0.002, longitude: base.longitude + Double(i % 5) * 0.002)
            return Item(id: "i\(i)", author: author, location: loc, publishedAt: Double(50 * i))
        }
    }

    static let followType = EventTypeRegistry().code(of: .followAuthor)!

    /// The fixture log plus follows: users 0-9 follow the author of item 0 ("a0"), users 0-4 also
    /// "a1" (item 5); users 10-19 follow "b0" (item 10), users 10-14 also "b1" (item 15).
    static var log: EventLog {
        var l = Fixture.log
        for u in Int32(0)..<Int32(Fixture.userCount) {
            let base: Int32 = u < 10 ? 0 : 10
            l.append(user: u, item: base, type: followType, timestamp: 500 + Double(u))
            if u % 10 < 5 { l.append(user: u, item: base + 5, type: followType, timestamp: 520 + Double(u)) }
        }
        return l
    }

    /// Request context with a location (none for users 6 and 13) and a recent follow of the
    /// author of the user's group's first item.
    @Sendable static func enrich(_ c: RecallContext) -> RecallContext {
        var c = c
        guard let u = c.user else { return c }
        if u != 6 && u != 13 { c.location = u < 10 ? paris : lyon }
        c.history.insert(HistoryEvent(item: u < 10 ? 0 : 10, type: followType, timestamp: c.now - 1), at: 0)
        return c
    }

    static func cache() -> CacheRecall {
        let cache = CacheRecall()
        for u in Int32(0)..<Int32(Fixture.userCount) {
            var list: [(item: Int32, score: Float)] = []
            for k in 0..<8 {
                let item = Int32((Int(u) * 3 + k) % Fixture.itemCount)
                list.append((item: item, score: Float(8 - k) / 8))
            }
            cache.remember(user: u, items: list, now: 900 + Double(u))
        }
        return cache
    }
}

/// Runs a channel with the request context changed (location, follows), so the conformance suite
/// exercises the paths the plain fixture contexts never reach.
struct EnrichedChannel: RecallChannel {
    let inner: any RecallChannel
    let enrich: @Sendable (RecallContext) -> RecallContext
    var name: String { inner.name }
    func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        inner.recall(enrich(context), quota: quota, filter: filter)
    }
    func serialized() -> [UInt8] { inner.serialized() }
}

extension ChannelCase {
    static func freshParameters(_ order: FreshItems.Order) -> FreshItems.Parameters {
        var p = FreshItems.Parameters()
        p.window = 500
        p.order = order
        return p
    }

    static var authorParameters: AuthorRecall.Parameters {
        var p = AuthorRecall.Parameters()
        p.minCommonFans = 1
        p.interactionMinWeight = 1
        return p
    }

    /// Rule channels (fresh, geo, author, cache) in the shared conformance suite.
    static let rules: [ChannelCase] = [
        ChannelCase(name: "fresh-newest", make: {
            FreshItems.build(items: RuleFixture.items, log: Fixture.log, typeWeights: Fixture.weights, parameters: freshParameters(.newest), now: 1000)
        }, load: { try FreshItems(serialized: $0) }),
        ChannelCase(name: "fresh-quality", make: {
            FreshItems.build(items: RuleFixture.items, log: Fixture.log, typeWeights: Fixture.weights, parameters: freshParameters(.quality), now: 1000)
        }, load: { try FreshItems(serialized: $0) }),
        ChannelCase(name: "geo", make: {
            EnrichedChannel(inner: GeoRecall.build(items: RuleFixture.items, log: Fixture.log, typeWeights: Fixture.weights),
                            enrich: RuleFixture.enrich)
        }, load: { EnrichedChannel(inner: try GeoRecall(serialized: $0), enrich: RuleFixture.enrich) }),
        ChannelCase(name: "geo-no-location", make: {
            GeoRecall.build(items: RuleFixture.items, log: Fixture.log, typeWeights: Fixture.weights)
        }, load: { try GeoRecall(serialized: $0) }),
        ChannelCase(name: "author", make: {
            AuthorRecall.build(items: RuleFixture.items, log: RuleFixture.log, typeWeights: Fixture.weights, parameters: authorParameters)
        }, load: { try AuthorRecall(serialized: $0) }),
        ChannelCase(name: "author-follows", make: {
            EnrichedChannel(inner: AuthorRecall.build(items: RuleFixture.items, log: RuleFixture.log, typeWeights: Fixture.weights,
                                                      parameters: authorParameters),
                            enrich: RuleFixture.enrich)
        }, load: { EnrichedChannel(inner: try AuthorRecall(serialized: $0), enrich: RuleFixture.enrich) }),
        ChannelCase(name: "cache", make: { RuleFixture.cache() }, load: { try CacheRecall(serialized: $0) }),
    ]
}

/// The rule cases are not vacuous: on the fixture they recall something (except where they must not).
@Suite struct RuleCasesTests {
    @Test(arguments: ChannelCase.rules)
    func recallsOnTheFixture(_ c: ChannelCase) {
        let ch = c.make()
        let filter = CandidateFilter(itemCount: Fixture.itemCount)
        for u in [Int32(0), 6, 15] {
            let got = ch.recall(RecallContext(user: u, history: Fixture.history(u), now: 1000), quota: 10, filter: filter)
            if c.name == "geo-no-location" || (c.name == "geo" && u == 6) {
                #expect(got.isEmpty)
            } else {
                #expect(!got.isEmpty, "\(c.name) recalled nothing for user \(u)")
            }
        }
    }

    @Test func geoCasesStayInTheUsersCity() {
        let geo = ChannelCase.rules.first { $0.name == "geo" }!.make()
        let ctx = RecallContext(user: 15, history: Fixture.history(15), now: 1000)
        #expect(Set(geo.recall(ctx, quota: 30, filter: CandidateFilter(itemCount: Fixture.itemCount)).map(\.item)) == Set(10..<20))
    }
}
