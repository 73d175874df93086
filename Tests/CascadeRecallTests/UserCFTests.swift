import CascadeCore
@testable import CascadeRecall
import Foundation
import Testing

@Suite struct UserCFTests {
    /// 1/log(1 + |N(i)|) for the tiny world's items: items 0 and 2 have 3 users, item 1 has 4,
    /// item 4 has 2 (item 3's single user shares it with nobody).
    let l4 = Float(1 / log(4.0)), l5 = Float(1 / log(5.0)), l3 = Float(1 / log(3.0))
    /// User 2's click on item 4 is a like instead (weight 2), which changes only the kept weights.
    let matrix = TinyWorld.matrix(TinyWorld.lists, itemCount: 5, likes: [[2, 4]])

    func expect(_ got: [(user: Int32, similarity: Float)], _ want: [(Int32, Float)], _ what: String) {
        #expect(got.map(\.user) == want.map(\.0), "\(what)")
        for (g, w) in zip(got, want) { #expect(abs(g.similarity - w.1) < 1e-6, "\(what): user \(g.user)") }
    }

    /// |N(u)| = 3, 3, 4, 3; sqrt(|N(u)||N(v)|) is 3, or sqrt(12) = 3.4641 with user 2.
    ///     sim(0,1): {0,1}   (l4 + l5) / 3          = (0.72135 + 0.62133) / 3           = 0.44756
    ///     sim(0,2): {0,1,2} (l4 + l5 + l4) / sqrt12 = 2.06403 / 3.46410                = 0.59583
    ///     sim(0,3): {1,2}   (l5 + l4) / 3                                               = 0.44756
    ///     sim(1,2): {0,1}   (l4 + l5) / sqrt12                                          = 0.38760
    ///     sim(1,3): {1}     l5 / 3                                                      = 0.20711
    ///     sim(2,3): {1,2,4} (l5 + l4 + l3) / sqrt12 = (0.62133 + 0.72135 + 0.91024) / 3.46410 = 0.65036
    @Test func handComputedSimilarities() {
        let cf = UserCF.build(matrix)
        let s01 = (l4 + l5) / 3, s02 = (2 * l4 + l5) / Float(12).squareRoot(), s12 = (l4 + l5) / Float(12).squareRoot()
        let s13 = l5 / 3, s23 = (l5 + l4 + l3) / Float(12).squareRoot()
        #expect(abs(s01 - 0.44756) < 1e-5 && abs(s02 - 0.59583) < 1e-5 && abs(s23 - 0.65036) < 1e-5)
        expect(cf.neighbours(of: 0), [(2, s02), (1, s01), (3, s01)], "user 0")
        expect(cf.neighbours(of: 1), [(0, s01), (2, s12), (3, s13)], "user 1")
        expect(cf.neighbours(of: 2), [(3, s23), (0, s02), (1, s12)], "user 2")
        expect(cf.neighbours(of: 3), [(2, s23), (0, s01), (1, s13)], "user 3")
    }

    /// User 1 holds {0,1,3}; their similar users offer (clicks weigh log 2, user 2's like on 4 log 3):
    ///     item 2: (sim10 + sim12 + sim13) log 2 = (0.44756 + 0.38760 + 0.20711) x 0.69315 = 0.72245
    ///     item 4: sim12 log 3 + sim13 log 2 = 0.38760 x 1.09861 + 0.20711 x 0.69315        = 0.56938
    /// Their own items 0, 1 and 3 are never offered.
    @Test func recallsSimilarUsersItems() {
        let cf = UserCF.build(matrix)
        let got = cf.recall(RecallContext(user: 1, now: 0), quota: 10, filter: CandidateFilter(itemCount: 5))
        #expect(got.map(\.item) == [2, 4] && got.allSatisfy { $0.channel == "usercf" })
        let s10 = (l4 + l5) / 3, s12 = (l4 + l5) / Float(12).squareRoot(), s13 = l5 / 3
        #expect(abs(got[0].score - (s10 + s12 + s13) * Float(log(2.0))) < 1e-5)
        #expect(abs(got[1].score - (s12 * Float(log(3.0)) + s13 * Float(log(2.0)))) < 1e-5)
        #expect(abs(got[0].score - 0.72245) < 1e-4 && abs(got[1].score - 0.56938) < 1e-4)
        // The filter applies; unknown and out-of-range users get nothing.
        #expect(cf.recall(RecallContext(user: 1, now: 0), quota: 10, filter: CandidateFilter(itemCount: 5, seen: [2])).map(\.item) == [4])
        #expect(cf.recall(RecallContext(user: nil, history: [HistoryEvent(item: 0, type: 1, timestamp: 0)], now: 0), quota: 10,
                          filter: CandidateFilter(itemCount: 5)).isEmpty)
        #expect(cf.recall(RecallContext(user: 99, now: 0), quota: 10, filter: CandidateFilter(itemCount: 5)).isEmpty)
    }

    /// maxUsersPerItem = 2 samples item 0's users {0,1,2} -> {0,1}, item 1's {0,1,2,3} -> {0,2},
    /// item 2's {0,2,3} -> {0,2}. User 1 (items 0,1,3) then meets user 0 through items 0 and 1
    /// ((l4 + l5) / 3, unchanged) and user 2 through item 1 only (l5 / sqrt12); user 3 is not in
    /// item 1's sample. itemsPerUser = 2 keeps user 2's like (log 3) and then item 0 (log 2, the
    /// smallest of the tied clicks).
    @Test func capsOnUsersPerItemAndKeptItems() {
        var p = UserCF.Parameters()
        p.maxUsersPerItem = 2
        p.itemsPerUser = 2
        let cf = UserCF.build(matrix, parameters: p)
        expect(cf.neighbours(of: 1), [(0, (l4 + l5) / 3), (2, l5 / Float(12).squareRoot())], "user 1")
        let kept = cf.keptItems(of: 2)
        #expect(kept.map(\.item) == [4, 0])
        #expect(abs(kept[0].weight - Float(log(3.0))) < 1e-6 && abs(kept[1].weight - Float(log(2.0))) < 1e-6)
        var q = UserCF.Parameters()
        q.neighbours = 1
        expect(UserCF.build(matrix, parameters: q).neighbours(of: 0), [(2, (2 * l4 + l5) / Float(12).squareRoot())], "user 0, one neighbour")
    }

    /// Brute force on the conformance fixture: the documented formula, user pair by user pair.
    @Test func tableMatchesBruteForceOnFixture() {
        let m = Fixture.matrix
        let cf = UserCF.build(m)
        let ui = m.userItems
        let sets = (0..<ui.rowCount).map { Set(ui.columns[ui.rowRange($0)]) }
        for u in 0..<sets.count {
            var want: [Int32: Float] = [:]
            for v in 0..<sets.count where v != u {
                let common = sets[u].intersection(sets[v])
                guard !common.isEmpty else { continue }
                let num = common.reduce(Float(0)) { $0 + Float(1 / log(1 + Double(m.itemUsers.rowLength(Int($1))))) }
                want[Int32(v)] = num / Float(Double(sets[u].count * sets[v].count).squareRoot())
            }
            let got = cf.neighbours(of: Int32(u))
            #expect(Set(got.map(\.user)) == Set(want.keys))
            for g in got { #expect(abs(g.similarity - want[g.user]!) < 1e-5) }
        }
    }

    /// In the fixture each user misses one item of their taste group; the group's other users
    /// hold it, so it is the first item user-CF offers.
    @Test func recommendsTheMissingItemOfTheUsersGroup() {
        let cf = UserCF.build(Fixture.matrix)
        for u in Int32(0)..<Int32(Fixture.userCount) {
            let top = cf.recall(RecallContext(user: u, now: 0), quota: 1, filter: CandidateFilter(itemCount: Fixture.itemCount))
            #expect(top.first?.item == Int32((u < 10 ? 0 : 10) + Int(u) % 10))
        }
    }

    @Test func inconsistentArtifactsAreErrorsNamingTheArtifact() throws {
        let good = UserCF.build(matrix)
        func fails(_ bytes: [UInt8]) {
            do { _ = try UserCF(serialized: bytes); Issue.record("accepted a bad artifact") } catch {
                #expect(error.description.contains("user-CF artifact"), "\(error)")
            }
        }
        func artifact(itemCount: Int = 5, neighbours: ([Int], [Int32], [Float]) = ([0, 1, 2], [1, 0], [1, 1]),
                      kept: ([Int], [Int32], [Float]) = ([0, 1, 1], [3], [1])) -> [UInt8] {
            UserCF(parameters: good.parameters, itemCount: itemCount, neighbourOffsets: neighbours.0, neighbourUsers: neighbours.1,
                   similarities: neighbours.2, itemOffsets: kept.0, items: kept.1, itemWeights: kept.2).serialized()
        }
        #expect(throws: Never.self) { _ = try UserCF(serialized: artifact()) }
        fails(artifact(neighbours: ([0, 1, 2], [2, 0], [1, 1])))      // similar user out of range
        fails(artifact(neighbours: ([0, 1, 2], [0, 0], [1, 1])))      // a user similar to itself
        fails(artifact(kept: ([0, 1, 1], [5], [1])))                   // kept item out of range
        fails(artifact(kept: ([0, 1, 1], [3], [0])))                   // weight not positive
        fails(artifact(kept: ([0, 1], [3], [1])))                      // offsets disagree with users
        fails(artifact(itemCount: -1))                                 // negative item count
        fails(good.serialized() + [0])                                 // trailing bytes
        fails(Array(good.serialized().dropLast(2)))                    // truncated
    }
}
