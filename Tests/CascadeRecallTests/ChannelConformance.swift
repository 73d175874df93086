import CascadeCore
import CascadeRecall
import Foundation
import Testing

/// A small world with two taste groups: users 0-9 like items 0-9, users 10-19 like items 10-19;
/// item 20 is liked by everyone (popular). Every user has all but one of their group's items.
enum Fixture {
    static let userCount = 20, itemCount = 21
    static let weights = EventTypeRegistry().weightsByCode

    static var log: EventLog {
        var l = EventLog()
        var t = 0.0
        for u in 0..<userCount {
            let base = u < 10 ? 0 : 10
            for i in base..<(base + 10) where i != base + (u % 10) {
                l.append(user: Int32(u), item: Int32(i), type: 1, timestamp: t); t += 1
            }
            l.append(user: Int32(u), item: 20, type: 2, timestamp: t); t += 1
        }
        return l
    }

    static func history(_ u: Int32) -> [HistoryEvent] {
        let l = log
        return (0..<l.count).filter { l.users[$0] == u }.reversed().map { HistoryEvent(item: l.items[$0], type: l.types[$0], timestamp: l.timestamps[$0]) }
    }

    static var matrix: InteractionMatrix { InteractionMatrix(log: log, userCount: userCount, itemCount: itemCount, typeWeights: weights) }
}

/// What every recall channel must do: determinism, quota, only allowed items, save/load round trip.
struct ChannelCase: CustomStringConvertible, Sendable {
    let name: String
    let make: @Sendable () -> any RecallChannel
    let load: @Sendable ([UInt8]) throws -> any RecallChannel
    var description: String { name }

    /// Every channel under test: the classical ones here, the others in their own files.
    static var all: [ChannelCase] { classical + factorization + rules + learned + sequential + multiInterest + graph + embedding }

    static let classical: [ChannelCase] = [
        ChannelCase(name: "popular", make: { Popularity.build(log: Fixture.log, itemCount: Fixture.itemCount, typeWeights: Fixture.weights) },
                    load: { try Popularity(serialized: $0) }),
        ChannelCase(name: "trending", make: { Popularity.build(log: Fixture.log, itemCount: Fixture.itemCount, typeWeights: Fixture.weights, halfLife: 50, name: "trending") },
                    load: { try Popularity(serialized: $0) }),
        ChannelCase(name: "itemcf", make: { ItemCF.build(Fixture.matrix, typeWeights: Fixture.weights) },
                    load: { try ItemCF(serialized: $0) }),
        ChannelCase(name: "swing", make: { Swing.build(Fixture.matrix, typeWeights: Fixture.weights) },
                    load: { try Swing(serialized: $0) }),
        ChannelCase(name: "usercf", make: { UserCF.build(Fixture.matrix) },
                    load: { try UserCF(serialized: $0) }),
    ]
}

@Suite struct ChannelConformance {
    func context(_ u: Int32) -> RecallContext { RecallContext(user: u, history: Fixture.history(u), now: 1000) }

    @Test(arguments: ChannelCase.all)
    func deterministicWithinQuotaAndFiltered(_ c: ChannelCase) throws {
        let ch = c.make()
        let filter = CandidateFilter(itemCount: Fixture.itemCount, unavailable: [20, 3], seen: [1])
        for u in [Int32(0), 5, 15] {
            let a = ch.recall(context(u), quota: 4, filter: filter)
            let b = c.make().recall(context(u), quota: 4, filter: filter)
            #expect(a == b)
            #expect(a.count <= 4)
            #expect(a.allSatisfy { filter.allows($0.item) && $0.channel == ch.name })
            #expect(Set(a.map(\.item)).count == a.count)
            #expect(zip(a, a.dropFirst()).allSatisfy { $0.score >= $1.score })
            #expect(ch.recall(context(u), quota: 0, filter: filter).isEmpty)
        }
    }

    @Test(arguments: ChannelCase.all)
    func saveLoadRoundTrip(_ c: ChannelCase) throws {
        let ch = c.make()
        let bytes = ch.serialized()
        let back = try c.load(bytes)
        #expect(back.serialized() == bytes)
        let filter = CandidateFilter(itemCount: Fixture.itemCount)
        for u in Int32(0)..<Int32(Fixture.userCount) {
            #expect(back.recall(context(u), quota: 10, filter: filter) == ch.recall(context(u), quota: 10, filter: filter))
        }
        #expect(throws: CascadeError.self) { _ = try c.load(Array(bytes.prefix(bytes.count - 3))) }
        #expect(throws: CascadeError.self) { _ = try c.load(Array("JUNKJUNKJUNK".utf8)) }
    }
}

@Suite struct ItemCFTests {
    /// Brute force: the formula in ItemCF's documentation, pair by pair.
    func bruteSimilarity(_ m: InteractionMatrix, _ i: Int, _ j: Int) -> Float {
        let ui = m.userItems
        var num: Float = 0, ni: Float = 0, nj: Float = 0
        for u in 0..<ui.rowCount {
            let ri = log1p(ui.value(row: u, column: Int32(i))), rj = log1p(ui.value(row: u, column: Int32(j)))
            num += ri * rj / Float(log(2 + Double(ui.rowLength(u))))
            ni += ri * ri
            nj += rj * rj
        }
        return num / (ni.squareRoot() * nj.squareRoot())
    }

    @Test func neighbourTableMatchesBruteForce() {
        let m = Fixture.matrix
        let cf = ItemCF.build(m, typeWeights: Fixture.weights)
        for i in 0..<Fixture.itemCount {
            var expected: [Int32: Float] = [:]
            for j in 0..<Fixture.itemCount where j != i {
                let sim = bruteSimilarity(m, i, j)
                if sim > 0 { expected[Int32(j)] = sim }
            }
            let got = cf.neighbours(of: Int32(i))
            #expect(Set(got.map(\.item)) == Set(expected.keys))
            for g in got { #expect(abs(g.similarity - (expected[g.item] ?? -1)) < 1e-5) }
            #expect(zip(got, got.dropFirst()).allSatisfy { $0.similarity >= $1.similarity })
        }
    }

    @Test func recommendsTheMissingItemOfTheUsersGroup() {
        let cf = ItemCF.build(Fixture.matrix, typeWeights: Fixture.weights)
        for u in Int32(0)..<Int32(Fixture.userCount) {
            let seen = Set(Fixture.history(u).map(\.item))
            let top = cf.recall(RecallContext(user: u, history: Fixture.history(u), now: 0), quota: 1,
                                filter: CandidateFilter(itemCount: Fixture.itemCount, seen: seen))
            let missing = Int32((u < 10 ? 0 : 10) + Int(u) % 10)
            #expect(top.first?.item == missing)
        }
    }

    @Test func coldUserGetsNothingAndNeighbourCapHolds() {
        var p = ItemCF.Parameters()
        p.neighbours = 3
        let cf = ItemCF.build(Fixture.matrix, typeWeights: Fixture.weights, parameters: p)
        #expect((0..<Fixture.itemCount).allSatisfy { cf.neighbours(of: Int32($0)).count <= 3 })
        #expect(cf.recall(RecallContext(user: nil, now: 0), quota: 5, filter: CandidateFilter(itemCount: Fixture.itemCount)).isEmpty)
    }
}

@Suite struct PopularityAndMergeTests {
    @Test func popularityCountsWeightedEvents() {
        let p = Popularity.build(log: Fixture.log, itemCount: Fixture.itemCount, typeWeights: Fixture.weights)
        // item 20: 20 likes x weight 2 = 40; every other item: 9 clicks.
        #expect(p.items.first == 20 && p.scores.first == 40)
        #expect(p.scores.dropFirst().allSatisfy { $0 == 9 })
        #expect(Array(p.items.dropFirst().prefix(3)) == [0, 1, 2])
    }

    @Test func reciprocalRankFusionHandCase() {
        let a = [Candidate(item: 1, score: 9, channel: "a"), Candidate(item: 2, score: 8, channel: "a")]
        let b = [Candidate(item: 2, score: 0.5, channel: "b"), Candidate(item: 3, score: 0.4, channel: "b")]
        let m = RecallMerger(k0: 1, mode: .sum).merge([(ChannelQuota(channel: "a", quota: 2), a), (ChannelQuota(channel: "b", quota: 2, weight: 2), b)], limit: 10)
        // item 2: 1/(1+2) + 2/(1+1) = 1.333; item 3: 2/(1+2) = 0.667; item 1: 1/(1+1) = 0.5
        #expect(m.map(\.item) == [2, 3, 1])
        #expect(abs(m[0].score - 4.0 / 3) < 1e-6)
        #expect(m[0].sources.map(\.channel) == ["a", "b"] && m[0].sources.map(\.rank) == [2, 1])
        #expect(RecallMerger().merge([], limit: 5).isEmpty)
        // max: item 2 keeps its best credit 2/(1+1) = 1; item 3: 2/3; item 1: 1/2.
        let x = RecallMerger(k0: 1, mode: .max).merge([(ChannelQuota(channel: "a", quota: 2), a), (ChannelQuota(channel: "b", quota: 2, weight: 2), b)], limit: 2)
        #expect(x.map(\.item) == [2, 3] && x[0].score == 1)
    }
}

@Suite struct ItemCFHandTableTests {
    /// u0 clicked {A, B}, u1 {A, B, C}, u2 {B, C}; A = 0, B = 1, C = 2. Every r = ln 2 cancels in
    /// the cosine; iuf(u0) = iuf(u2) = 1/ln 4 = 0.72135, iuf(u1) = 1/ln 5 = 0.62133;
    /// norms (over r): |A| = sqrt 2, |B| = sqrt 3, |C| = sqrt 2.
    /// sim(A,B) = (0.72135 + 0.62133) / sqrt 6 = 0.54815; sim(B,C) the same by symmetry;
    /// sim(A,C) = 0.62133 / 2 = 0.31067.
    @Test func similaritiesMatchTheHandComputedTable() {
        var log = EventLog()
        for (u, i) in [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1), (2, 2)] as [(Int32, Int32)] {
            log.append(user: u, item: i, type: 1, timestamp: 0)
        }
        let m = InteractionMatrix(log: log, userCount: 3, itemCount: 3, typeWeights: Fixture.weights)
        let cf = ItemCF.build(m, typeWeights: Fixture.weights)
        func sim(_ a: Int32, _ b: Int32) -> Float { cf.neighbours(of: a).first { $0.item == b }?.similarity ?? -1 }
        #expect(abs(sim(0, 1) - 0.54815) < 1e-4)
        #expect(abs(sim(1, 2) - 0.54815) < 1e-4)
        #expect(abs(sim(0, 2) - 0.31067) < 1e-4)
        #expect(abs(sim(2, 0) - 0.31067) < 1e-4)
        #expect(cf.neighbours(of: 1).count == 2)
    }
}
