import Foundation
import Testing
import CascadeCore
import CascadeSim

/// One small world shared by the read-only tests (generated once, lazily).
let smallWorld = SimulatedWorld.generate(.small())

/// A tinier config for tests that generate several worlds.
func tinyConfig(seed: UInt64) -> SimConfig {
    var c = SimConfig(users: 200, items: 800, events: 12_000, seed: seed, authors: 40)
    c.cities = 3
    c.topCategories = 6
    c.subcategoriesPerTop = 4
    c.policy.popularPoolSize = 50
    return c
}

private let registry = EventTypeRegistry()
private func code(_ t: EventType) -> UInt8 { registry.code(of: t)! }

@Suite struct DeterminismTests {
    @Test func sameSeedGivesTheSameWorld() {
        let a = SimulatedWorld.generate(tinyConfig(seed: 7))
        let b = SimulatedWorld.generate(tinyConfig(seed: 7))
        #expect(a.users == b.users)
        #expect(a.items == b.items)
        #expect(a.log.users == b.log.users)
        #expect(a.log.items == b.log.items)
        #expect(a.log.types == b.log.types)
        #expect(a.log.timestamps == b.log.timestamps)
        // NaN != NaN, so compare bit patterns.
        #expect(a.log.values.map(\.bitPattern) == b.log.values.map(\.bitPattern))
        #expect(a.impressionTruth == b.impressionTruth)
        #expect(a.truth.userTaste == b.truth.userTaste)
        #expect(a.truth.itemTaste == b.truth.itemTaste)
    }

    @Test func parallelEntityDrawsAreDeterministic() {
        // Enough users and items for several 4,096-entity chunks on worker threads.
        var c = SimConfig(users: 4_500, items: 4_500, events: 1_000, seed: 11)
        c.topCategories = 4
        c.subcategoriesPerTop = 3
        let a = SimulatedWorld.generate(c), b = SimulatedWorld.generate(c)
        #expect(a.truth.userTaste == b.truth.userTaste)
        #expect(a.truth.itemTaste == b.truth.itemTaste)
        #expect(a.truth.itemPublishedAt == b.truth.itemPublishedAt)
        #expect(a.users == b.users)
        #expect(a.items == b.items)
        #expect(a.log.items == b.log.items)
    }

    @Test func differentSeedGivesADifferentWorld() {
        let a = SimulatedWorld.generate(tinyConfig(seed: 7))
        let b = SimulatedWorld.generate(tinyConfig(seed: 8))
        #expect(a.truth.userTaste != b.truth.userTaste)
        #expect(a.log.items != b.log.items)
    }

    @Test func generatorStreamsArePinned() {
        // Reference values of the algorithms, so a change of generator cannot go unnoticed.
        var s = SplitMix64(seed: 0)
        #expect(s.next() == 0xE220_A839_7B1D_CDAF)
        var x = Xoshiro256(seed: 1)
        let first = x.next()
        var y = Xoshiro256(seed: 1)
        #expect(y.next() == first)
        var s1 = Xoshiro256(seed: 1, stream: 1), s2 = Xoshiro256(seed: 1, stream: 2)
        #expect(s1.next() != s2.next())
        var r = Xoshiro256(seed: 3)
        for n in [1, 2, 7, 1000] { for _ in 0..<100 { #expect((0..<n).contains(r.below(n))) } }
    }

    @Test func progressIsReportedUpToOne() {
        final class Box: @unchecked Sendable { var values: [Double] = [] }
        let box = Box()
        _ = SimulatedWorld.generate(tinyConfig(seed: 1)) { box.values.append($0) }
        #expect(!box.values.isEmpty)
        #expect(box.values.last == 1)
        #expect(zip(box.values, box.values.dropFirst()).allSatisfy { $0 <= $1 })
    }
}

@Suite struct EntityAndLogTests {
    let w = smallWorld

    @Test func countsAndIds() {
        let c = w.config
        #expect(w.users.count == c.users)
        #expect(w.items.count == c.items)
        #expect(w.users.enumerated().allSatisfy { $0.element.id == "u\($0.offset + 1)" })
        #expect(w.items.enumerated().allSatisfy { $0.element.id == "i\($0.offset + 1)" })
        #expect(w.log.count <= c.events)
        #expect(w.log.count > c.events - c.pageSize * 9)
        #expect(w.log.users.allSatisfy { $0 >= 0 && Int($0) < c.users })
        #expect(w.log.items.allSatisfy { $0 >= 0 && Int($0) < c.items })
        #expect(w.log.types.allSatisfy { registry.entry(code: $0) != nil })
        #expect(w.log.types.allSatisfy { $0 != code(.purchase) })
    }

    @Test func idMapsFollowTheDenseIndices() {
        let users = w.userIdMap(), items = w.itemIdMap()
        #expect(users.count == w.users.count && items.count == w.items.count)
        #expect(users.index(of: "u3") == 2)
        #expect(items.index(of: "i\(w.items.count)") == Int32(w.items.count - 1))
        #expect(items.external(0) == "i1")
    }

    @Test func entityAttributes() throws {
        for item in w.items {
            try item.validate()
            #expect(item.categories.count == 2)
            #expect(item.categories[0].hasPrefix("c"))
            #expect(item.categories[1].hasPrefix(item.categories[0] + "/"))
            #expect(item.author?.hasPrefix("a") == true)
            #expect((2...4).contains(item.tags.count))
            #expect((item.numeric["length"] ?? 0) >= 3)
            #expect(item.publishedAt != nil)
        }
        #expect(w.items.contains { $0.location != nil })
        #expect(w.items.contains { $0.location == nil })
        for user in w.users {
            try user.validate()
            for key in ["age_band", "gender", "platform", "city"] { #expect(user.categorical[key] != nil) }
            #expect(user.location != nil)
            #expect(user.tags.allSatisfy { $0.hasPrefix("follow:a") || $0.hasPrefix("interest:c") })
        }
        // Publish order is index order.
        let published = w.items.map { $0.publishedAt! }
        #expect(zip(published, published.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func interestsAreOneToThreeWithUnitWeight() {
        let t = w.truth
        for u in 0..<t.userCount {
            let interests = t.interests(of: u)
            #expect((1...3).contains(interests.count))
            #expect(abs(interests.map(\.weight).reduce(0, +) - 1) < 1e-4)
            #expect(zip(interests, interests.dropFirst()).allSatisfy { $0.weight >= $1.weight })
        }
    }

    @Test func timestampsAscendWithinThePeriod() {
        let ts = w.log.timestamps
        #expect(zip(ts, ts.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(ts.first! >= w.config.start)
        #expect(ts.last! < w.config.end)
        // The log covers the period: events in its first and last day.
        #expect(ts.first! < w.config.start + 86_400)
        #expect(ts.last! > w.config.end - 86_400)
    }

    @Test func followUpsComeOnlyAfterAClickOnTheSamePair() {
        var clicked = Set<Int64>()
        let followUps: Set<UInt8> = [code(.like), code(.favorite), code(.share), code(.comment),
                                     code(.followAuthor), code(.watch), code(.completion)]
        var counts = [UInt8: Int]()
        for k in 0..<w.log.count {
            let key = Int64(w.log.users[k]) << 32 | Int64(w.log.items[k])
            let t = w.log.types[k]
            counts[t, default: 0] += 1
            if t == code(.click) { clicked.insert(key) }
            if followUps.contains(t) { #expect(clicked.contains(key), "event \(k) of type \(t) without an earlier click") }
        }
        for t in followUps { #expect((counts[t] ?? 0) > 0, "no events of type \(registry.name(of: t))") }
        #expect((counts[code(.dislike)] ?? 0) > 0)
    }

    @Test func watchValuesArePositiveAndAtMostTheLength() {
        for k in 0..<w.log.count {
            let v = w.log.values[k]
            if w.log.types[k] == code(.watch) {
                #expect(v > 0)
                #expect(Double(v) <= w.items[Int(w.log.items[k])].numeric["length"]! + 1e-3)
            } else {
                #expect(v.isNaN)
            }
        }
    }

    @Test func eventsInStringForm() {
        let events = w.events()
        #expect(events.count == w.log.count)
        let k = events.count / 2
        #expect(events[k].user == w.users[Int(w.log.users[k])].id)
        #expect(events[k].item == w.items[Int(w.log.items[k])].id)
        #expect(events[k].type.name == registry.name(of: w.log.types[k]))
        #expect(events[k].timestamp == w.log.timestamps[k])
        #expect(events.allSatisfy { ($0.type == .watch) == ($0.value != nil) })
    }
}

@Suite struct ConfigTests {
    @Test(arguments: [0, 1, 2, 3])
    func degenerateConfigsGiveValidWorlds(_ variant: Int) {
        var c = SimConfig(users: 1, items: 1, events: 2_000, seed: 3)
        switch variant {
        case 0: break
        case 1:
            c = SimConfig(users: 30, items: 40, events: 3_000, seed: 4, authors: 1)
            c.cities = 1; c.topCategories = 1; c.subcategoriesPerTop = 1; c.tagsPerSubcategory = 1
            c.dimension = 2; c.meanFollows = 0
        case 2:
            c = SimConfig(users: 50, items: 200, events: 5_000, seed: 5)
            c.catalogShare = 0; c.localItemShare = 1; c.policy.exposureMemory = 0
        default:
            c = SimConfig(users: 50, items: 200, events: 50, seed: 6)    // fewer than one page of events
        }
        let w = SimulatedWorld.generate(c)
        #expect(w.users.count == c.users && w.items.count == c.items)
        #expect(w.log.count <= c.events)
        let ts = w.log.timestamps
        #expect(zip(ts, ts.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(ts.allSatisfy { $0 >= c.start && $0 < c.end })
        #expect(w.impressionTruth.count == w.log.types.filter { $0 == code(.impression) }.count)
        if variant == 3 { #expect(w.log.count == 0) } else { #expect(w.log.count > c.events / 2) }
    }

    @Test func invalidConfigsAreRejected() {
        var c = SimConfig.small()
        c.users = 0
        #expect(throws: CascadeError.self) { try c.validate() }
        c = .small()
        c.policy.personalShare = -1
        #expect(throws: CascadeError.self) { try c.validate() }
        #expect(throws: Never.self) { try SimConfig.small().validate() }
    }
}
