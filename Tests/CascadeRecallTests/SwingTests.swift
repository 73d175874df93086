import CascadeCore
@testable import CascadeRecall
import Foundation
import Testing

/// Tiny worlds for the Swing and user-CF hand computations.
enum TinyWorld {
    static let weights = EventTypeRegistry().weightsByCode
    static let click: UInt8 = 1, like: UInt8 = 2

    /// A log where user u holds `lists[u]`, all clicks unless `likes` names the pair.
    static func log(_ lists: [[Int32]], likes: Set<[Int32]> = []) -> EventLog {
        var l = EventLog()
        var t = 0.0
        for (u, items) in lists.enumerated() {
            for i in items {
                l.append(user: Int32(u), item: i, type: likes.contains([Int32(u), i]) ? like : click, timestamp: t)
                t += 1
            }
        }
        return l
    }

    static func matrix(_ lists: [[Int32]], itemCount: Int, likes: Set<[Int32]> = []) -> InteractionMatrix {
        InteractionMatrix(log: log(lists, likes: likes), userCount: lists.count, itemCount: itemCount, typeWeights: weights)
    }

    /// 4 users x 5 items:
    ///     I0 = {0,1,2}   I1 = {0,1,3}   I2 = {0,1,2,4}   I3 = {1,2,4}
    ///     U0 = {0,1,2}   U1 = {0,1,2,3} U2 = {0,2,3}     U3 = {1}      U4 = {2,3}
    static let lists: [[Int32]] = [[0, 1, 2], [0, 1, 3], [0, 1, 2, 4], [1, 2, 4]]
}

@Suite struct SwingTests {
    /// The seeds' form: alpha = 1, every user weighs 1.
    func seedForm() -> Swing.Parameters {
        var p = Swing.Parameters()
        p.alpha = 1
        p.userExponent = 0
        return p
    }

    func expect(_ got: [(item: Int32, similarity: Float)], _ want: [(Int32, Float)], _ what: String) {
        #expect(got.map(\.item) == want.map(\.0), "\(what)")
        for (g, w) in zip(got, want) { #expect(abs(g.similarity - w.1) < 1e-6, "\(what): item \(g.item)") }
    }

    /// Pair overlaps |I_u ∩ I_v|: (0,1) = {0,1} = 2, (0,2) = {0,1,2} = 3, (0,3) = {1,2} = 2,
    /// (1,2) = {0,1} = 2, (1,3) = {1} = 1, (2,3) = {1,2,4} = 3. With alpha = 1 a pair adds 1/(1 + overlap):
    ///     sim(0,1): U0 ∩ U1 = {0,1,2}: (0,1) 1/3 + (0,2) 1/4 + (1,2) 1/3 = 11/12
    ///     sim(0,2): {0,2}: (0,2) 1/4                     sim(1,2): {0,2,3}: 1/4 + 1/3 + 1/4 = 5/6
    ///     sim(1,4): {2,3}: (2,3) 1/4                     sim(2,4): {2,3}: 1/4
    ///     sim(0,3), sim(0,4), sim(1,3): one co-user, no pair: 0.   sim(2,3), sim(3,4): no co-user.
    @Test func handComputedTableSeedForm() {
        let s = Swing.build(TinyWorld.matrix(TinyWorld.lists, itemCount: 5), typeWeights: TinyWorld.weights, parameters: seedForm())
        expect(s.neighbours(of: 0), [(1, 11.0 / 12), (2, 0.25)], "item 0")
        expect(s.neighbours(of: 1), [(0, 11.0 / 12), (2, 5.0 / 6), (4, 0.25)], "item 1")
        expect(s.neighbours(of: 2), [(1, 5.0 / 6), (0, 0.25), (4, 0.25)], "item 2")
        expect(s.neighbours(of: 3), [], "item 3")
        expect(s.neighbours(of: 4), [(1, 0.25), (2, 0.25)], "item 4")
    }

    /// User weights with alpha_1 = 0, beta = 1: w_u = 1/|I_u|, so w0 = w1 = w3 = 1/3, w2 = 1/4.
    ///     sim(0,1) = (1/3)(1/3)/3 + (1/3)(1/4)/4 + (1/3)(1/4)/3 = 1/27 + 1/48 + 1/36 = 37/432
    ///     sim(1,2) = (1/3)(1/4)/4 [0,2] + (1/3)(1/3)/3 [0,3] + (1/4)(1/3)/4 [2,3] = 1/48 + 1/27 + 1/48 = 17/216
    ///     sim(2,4) = (1/4)(1/3)/4 [2,3] = 1/48
    @Test func handComputedTableWithUserWeights() {
        var p = seedForm()
        p.userSmoothing = 0
        p.userExponent = 1
        let s = Swing.build(TinyWorld.matrix(TinyWorld.lists, itemCount: 5), typeWeights: TinyWorld.weights, parameters: p)
        expect(s.neighbours(of: 0), [(1, 37.0 / 432), (2, 1.0 / 48)], "item 0")
        expect(s.neighbours(of: 1), [(0, 37.0 / 432), (2, 17.0 / 216), (4, 1.0 / 48)], "item 1")
        expect(s.neighbours(of: 4), [(1, 1.0 / 48), (2, 1.0 / 48)], "item 4")
    }

    /// maxUsersPerItem = 2: item 1's users {0,1,2,3} are sampled at positions 0 and 2 -> {0,2};
    /// the one pair (0,2) has overlap 3 and shares items {0,2} besides 1: each gets 1/(1+3) = 1/4.
    /// Item 2's users {0,2,3} are sampled at positions 0 and 1 -> {0,2}: the same pair shares
    /// {0,1}: 1/4 each. The neighbour cap keeps the best.
    @Test func capsOnUsersPerItemAndNeighbours() {
        var p = seedForm()
        p.maxUsersPerItem = 2
        let s = Swing.build(TinyWorld.matrix(TinyWorld.lists, itemCount: 5), typeWeights: TinyWorld.weights, parameters: p)
        expect(s.neighbours(of: 1), [(0, 0.25), (2, 0.25)], "item 1")
        expect(s.neighbours(of: 2), [(0, 0.25), (1, 0.25)], "item 2")
        var q = seedForm()
        q.neighbours = 1
        let one = Swing.build(TinyWorld.matrix(TinyWorld.lists, itemCount: 5), typeWeights: TinyWorld.weights, parameters: q)
        expect(one.neighbours(of: 1), [(0, 11.0 / 12)], "item 1, one neighbour")
    }

    /// Brute force: the documented formula, pair by pair, on the conformance fixture.
    @Test func tableMatchesBruteForceOnFixture() {
        let m = Fixture.matrix
        let p = Swing.Parameters()
        let s = Swing.build(m, typeWeights: Fixture.weights, parameters: p)
        let ui = m.userItems
        let sets = (0..<ui.rowCount).map { Set(ui.columns[ui.rowRange($0)]) }
        let w = sets.map { pow(Float($0.count) + p.userSmoothing, -p.userExponent) }
        for i in Int32(0)..<Int32(Fixture.itemCount) {
            var want: [Int32: Float] = [:]
            for j in Int32(0)..<Int32(Fixture.itemCount) where j != i {
                let v = (0..<sets.count).filter { sets[$0].contains(i) && sets[$0].contains(j) }
                var sum: Float = 0
                for a in 0..<v.count { for b in (a + 1)..<v.count {
                    sum += w[v[a]] * w[v[b]] / (p.alpha + Float(sets[v[a]].intersection(sets[v[b]]).count))
                } }
                if sum > 0 { want[j] = sum }
            }
            let got = s.neighbours(of: i)
            #expect(Set(got.map(\.item)) == Set(want.keys))
            for g in got { #expect(abs(g.similarity - want[g.item]!) < 1e-5 * want[g.item]!) }
        }
    }

    /// Seed 004's failure of item-CF: two unrelated notes A (0) and B (1) are shared in one chat
    /// group, so its three members (users 0-2) all open both, each with two items of their own
    /// (10-15). A's real companion C (2) is opened with A by four users of different tastes
    /// (3-6, own items 16-23) and alone by six more (7-12, own items 24-35).
    ///
    /// Item-CF (r = log 2 for every click, iuf = 1/log(2 + 4) for users 0-6):
    ///     sim(A,B) = 3 iuf r^2 / (sqrt(7) r sqrt(3) r) = 0.655 iuf
    ///     sim(A,C) = 4 iuf r^2 / (sqrt(7) r sqrt(10) r) = 0.478 iuf   -> B is A's first neighbour.
    /// Swing (alpha = 1, users 0-6 all hold 4 items so w_u^2 = (4 + 5)^(-0.6) = W; every co-user
    /// pair overlaps in exactly {A, B} or {A, C}):
    ///     sim(A,B) = 3 pairs x W / (1 + 2) = W,   sim(A,C) = 6 pairs x W / 3 = 2W   -> B drops behind C.
    @Test func groupSharedPairRanksLowerThanInItemCF() {
        var lists: [[Int32]] = []
        for g in Int32(0)..<3 { lists.append([0, 1, 10 + 2 * g, 11 + 2 * g]) }
        for k in Int32(0)..<4 { lists.append([0, 2, 16 + 2 * k, 17 + 2 * k]) }
        for k in Int32(0)..<6 { lists.append([2, 24 + 2 * k, 25 + 2 * k]) }
        let m = TinyWorld.matrix(lists, itemCount: 36)
        let cf = ItemCF.build(m, typeWeights: TinyWorld.weights).neighbours(of: 0)
        let swing = Swing.build(m, typeWeights: TinyWorld.weights).neighbours(of: 0)
        let cfRank = cf.firstIndex { $0.item == 1 }!, swingRank = swing.firstIndex { $0.item == 1 }!
        #expect(cfRank == 0 && cf[1].item == 2)
        let iuf = Float(1 / log(6.0))
        #expect(abs(cf[0].similarity - 3 * iuf / Float(21).squareRoot()) < 1e-6)
        #expect(abs(cf[1].similarity - 4 * iuf / Float(70).squareRoot()) < 1e-6)
        #expect(swingRank == 1 && swing[0].item == 2 && swing.count == 2)
        let w2 = pow(Float(9), -0.6)
        #expect(abs(swing[0].similarity - 2 * w2) < 1e-6 && abs(swing[1].similarity - w2) < 1e-6)
        #expect(swingRank > cfRank)
    }

    /// The overlap term alone: A (0) is opened with B (1) by a close-knit group (users 0-2, who
    /// all also opened the group's other note D (3)) and with C (2) by three users of different
    /// tastes (3-5). Every user holds 4 items and B and C have 3 users each, so item-CF cannot
    /// tell them apart (both 3 iuf / sqrt(6 x 3)). Swing: the group's pairs overlap in {A, B, D}:
    ///     sim(A,B) = 3 x W / (1 + 3) = 0.75 W,   sim(A,C) = 3 x W / (1 + 2) = W.
    @Test func closeKnitCoUsersCountLess() {
        var lists: [[Int32]] = []
        for g in Int32(0)..<3 { lists.append([0, 1, 3, 10 + g]) }
        for k in Int32(0)..<3 { lists.append([0, 2, 20 + 2 * k, 21 + 2 * k]) }
        let m = TinyWorld.matrix(lists, itemCount: 26)
        let cfList = ItemCF.build(m, typeWeights: TinyWorld.weights).neighbours(of: 0)
        let cf = Dictionary(uniqueKeysWithValues: cfList.map { ($0.item, $0.similarity) })
        #expect(abs(cf[1]! - cf[2]!) < 1e-6)
        let swing = Swing.build(m, typeWeights: TinyWorld.weights).neighbours(of: 0)
        let w2 = pow(Float(9), -0.6)
        #expect(swing.map(\.item) == [2, 1, 3])
        #expect(abs(swing[0].similarity - w2) < 1e-6 && abs(swing[1].similarity - 0.75 * w2) < 1e-6)
    }

    /// Online scoring on the seed-form table. History, newest first: a click on 0 at t = 10, a
    /// like (weight 2) on 4 at t = 5. Trigger weights: item 0: 1; item 4: 2 x 0.8 (second position).
    ///     item 1: 1 x 11/12 + 1.6 x 1/4 = 1.316667;   item 2: 1 x 1/4 + 1.6 x 1/4 = 0.65
    /// With a 10-second half-life at now = 20: item 0 counts 2^-1 = 0.5, item 4 2 x 2^-1.5 x 0.8 = 0.565685:
    ///     item 1: 0.5 x 11/12 + 0.565685 x 1/4 = 0.599755
    @Test func onlineScoringFromTriggers() {
        let history = [HistoryEvent(item: 0, type: TinyWorld.click, timestamp: 10),
                       HistoryEvent(item: 4, type: TinyWorld.like, timestamp: 5)]
        let filter = CandidateFilter(itemCount: 5, seen: [0, 4])
        let s = Swing.build(TinyWorld.matrix(TinyWorld.lists, itemCount: 5), typeWeights: TinyWorld.weights, parameters: seedForm())
        let got = s.recall(RecallContext(user: 3, history: history, now: 20), quota: 10, filter: filter)
        #expect(got.map(\.item) == [1, 2] && got.allSatisfy { $0.channel == "swing" })
        #expect(abs(got[0].score - 1.3166667) < 1e-5 && abs(got[1].score - 0.65) < 1e-5)
        var p = seedForm()
        p.triggerHalfLife = 10
        let decayed = Swing.build(TinyWorld.matrix(TinyWorld.lists, itemCount: 5), typeWeights: TinyWorld.weights, parameters: p)
        let d = decayed.recall(RecallContext(user: nil, history: history, now: 20), quota: 1, filter: filter)
        #expect(d.map(\.item) == [1] && abs(d[0].score - 0.599755) < 1e-5)
        #expect(s.recall(RecallContext(user: nil, now: 20), quota: 5, filter: filter).isEmpty)
    }

    @Test func inconsistentArtifactsAreErrorsNamingTheArtifact() throws {
        let good = Swing.build(TinyWorld.matrix(TinyWorld.lists, itemCount: 5), typeWeights: TinyWorld.weights)
        #expect(try Swing(serialized: good.serialized()).serialized() == good.serialized())
        func fails(_ bytes: [UInt8]) {
            do { _ = try Swing(serialized: bytes); Issue.record("accepted a bad artifact") } catch {
                #expect(error.description.contains("Swing artifact"), "\(error)")
            }
        }
        func table(_ offsets: [Int], _ items: [Int32], _ sims: [Float]) -> [UInt8] {
            Swing(parameters: good.parameters, typeWeights: good.typeWeights, offsets: offsets, neighbourItems: items,
                  similarities: sims).serialized()
        }
        fails(table([0, 1, 2], [5, 0], [1, 1]))          // neighbour out of range
        fails(table([0, 1, 2], [0, 0], [1, 1]))          // an item is its own neighbour
        fails(table([0, 2, 2], [1, 1], [1, 1]))          // repeated neighbour
        fails(table([0, 2, 2, 2], [1, 2], [0.5, 1]))     // not best first
        fails(table([0, 2, 1, 2], [1, 2], [1, 1]))       // offsets decrease
        fails(table([0, 1, 2], [1, 0], [.nan, 1]))       // not finite
        fails(good.serialized() + [0])                   // trailing bytes
        fails(Array(good.serialized().dropLast(1)))      // truncated
        var p = good.parameters
        p.alpha = -1
        fails(Swing(parameters: p, typeWeights: [], offsets: [0], neighbourItems: [], similarities: []).serialized())
    }
}

/// Scale: item-CF and Swing (and user-CF) on a synthetic power-law log of the benchmark world's
/// size. Run with `CASCADE_BENCH=1 swift test -c release --filter SwingScale`.
@Suite struct SwingScale {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CASCADE_BENCH"] == "1"))
    func benchmarkWorldTables() {
        let env = ProcessInfo.processInfo.environment
        let zipf = env["CASCADE_BENCH_ZIPF"].flatMap(Double.init) ?? 1.0
        var clock = BenchClock()
        let log = SyntheticLog.make(users: 100_000, items: 1_000_000, events: 10_000_000, itemExponent: zipf, userExponent: 0.8, seed: 7)
        clock.lap("generate 10M events (item zipf \(zipf))")
        let m = InteractionMatrix(log: log, userCount: 100_000, itemCount: 1_000_000, typeWeights: TinyWorld.weights)
        let widest = (0..<m.itemCount).reduce(0) { max($0, m.itemUsers.rowLength($1)) }
        clock.lap("interaction matrix, \(m.userItems.nonZeroCount) pairs, widest item \(widest) users")
        let cf = ItemCF.build(m, typeWeights: TinyWorld.weights)
        clock.lap("item-CF table, \(cf.neighbourItems.count) entries")
        let swing = Swing.build(m, typeWeights: TinyWorld.weights)
        clock.lap("Swing table, \(swing.neighbourItems.count) entries")
        let ucf = UserCF.build(m)
        clock.lap("user-CF table, \(ucf.neighbourUsers.count) entries")
        #expect(swing.itemCount == 1_000_000 && cf.itemCount == 1_000_000)
    }
}

/// Wall time and peak resident memory (VmHWM, reset between laps through /proc/self/clear_refs).
struct BenchClock {
    var start = Date()

    init() { Self.resetPeak() }

    mutating func lap(_ what: String) {
        let s = Date().timeIntervalSince(start)
        print("bench: \(what): " + String(format: "%.1f s, peak %.0f MiB", s, Self.peakMiB()))
        Self.resetPeak()
        start = Date()
    }

    static func peakMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return -1 }
        return kb / 1024
    }

    static func resetPeak() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }
}

/// A power-law event log: user and item ranks drawn from Zipf laws (continuous inverse CDF),
/// ranks mapped to ids by a fixed random permutation; 80% clicks, 15% likes, 5% favorites.
enum SyntheticLog {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A rank in 0..<n with P(rank r) roughly proportional to (r + 1)^(-s).
    static func zipf(_ n: Int, _ s: Double, _ u: Double) -> Int {
        let x = abs(s - 1) < 1e-9 ? pow(Double(n), u) : pow((pow(Double(n), 1 - s) - 1) * u + 1, 1 / (1 - s))
        return min(n - 1, max(0, Int(x) - 1))
    }

    static func make(users: Int, items: Int, events: Int, itemExponent: Double, userExponent: Double, seed: UInt64) -> EventLog {
        var rng = SplitMix(state: seed)
        let userIds = (0..<users).map { Int32($0) }.shuffled(using: &rng)
        let itemIds = (0..<items).map { Int32($0) }.shuffled(using: &rng)
        var log = EventLog(capacity: events)
        for e in 0..<events {
            let u = userIds[zipf(users, userExponent, Double.random(in: 0..<1, using: &rng))]
            let i = itemIds[zipf(items, itemExponent, Double.random(in: 0..<1, using: &rng))]
            let r = Double.random(in: 0..<1, using: &rng)
            log.append(user: u, item: i, type: r < 0.8 ? 1 : r < 0.95 ? 2 : 3, timestamp: Double(e))
        }
        return log
    }
}
