import CascadeCore
import CascadeTensor
import Foundation
import Testing
@testable import CascadeRecall

extension ChannelCase {
    static let learned: [ChannelCase] = [
        ChannelCase(name: "twotower", make: { try! TwoTowerTests.model(epochs: 3) }, load: { try TwoTower(serialized: $0) }),
        ChannelCase(name: "twotower+hnsw", make: { try! IndexedRecall.build(TwoTowerTests.model(epochs: 3)) },
                    load: { try TwoTowerChannel.load($0) }),
    ]
}

@Suite struct TwoTowerTests {
    /// Items 0-9 in category "a", 10-19 in "b", 20 in "pop"; item 21 is new (no events) in "a".
    static var items: [Item] {
        (0..<22).map { i in
            var item = Item(id: "i\(i)")
            item.categories = [i < 10 || i == 21 ? "a" : (i < 20 ? "b" : "pop")]
            return item
        }
    }

    /// Users 0-9 engage with items 0-9 and users 10-19 with items 10-19 (all but one each), in a
    /// random order per user; item 20 is engaged with by everyone.
    static var shuffledLog: EventLog {
        var rng = TensorRandom(seed: 5)
        var l = EventLog()
        for u in 0..<20 {
            let base = u < 10 ? 0 : 10
            var items = (base..<(base + 10)).filter { $0 != base + (u % 10) } + [20]
            items.shuffle(using: &rng)
            for (k, i) in items.enumerated() { l.append(user: Int32(u), item: Int32(i), type: 1, timestamp: Double(k)) }
        }
        return l
    }

    static func model(epochs: Int, logQ: Bool = true, selfSupervised: Float = 0, log: EventLog = Fixture.log,
                      mode: TwoTowerParameters.Mode = .listwise, symmetric: Bool = false, idDropout: Float = 0) throws -> TwoTower {
        var p = TwoTowerParameters()
        p.dim = 8
        p.hidden = 16
        p.epochs = epochs
        p.batchSize = 32
        p.uniformNegatives = 8
        p.learningRate = 0.02
        p.temperature = 0.2
        p.logQCorrection = logQ
        p.selfSupervisedWeight = selfSupervised
        p.validationUsers = 0
        p.mode = mode
        p.symmetric = symmetric
        p.itemIdDropout = idDropout
        p.userIdDropout = idDropout
        return try TwoTower.train(log: log, userCount: Fixture.userCount, itemCount: 22, typeWeights: Fixture.weights,
                                  features: ItemSideFeatures.build(items: items), parameters: p,
                                  progress: ProcessInfo.processInfo.environment["TT_DEBUG"] != nil ? { print($0) } : nil)
    }

    @Test func fastUserTowerEqualsTheTapeTower() throws {
        let f = ItemSideFeatures.build(items: Self.items)
        let net = TwoTowerNetwork(users: 20, items: 22, features: f, dim: 6, hidden: 10, seed: 3)
        let known = (0..<22).map { $0 != 21 }
        let tt = try TwoTower(network: net, features: f, known: known, name: "tt", historyLength: 30, positiveTypes: [1, 2])
        let history: [Int32] = [3, 1, 4, 1, 5]
        let tape = Tape(training: false)
        let slow = try net.userTower(userIds: [7], history: history, offsets: [0, 5], features: f, tape: tape).value.toArray()
        let fast = try #require(tt.userVector(user: 7, history: history))
        for (a, b) in zip(slow, fast) { #expect(abs(a - b) < 1e-5) }
        #expect(tt.userVector(user: nil, history: []) == nil)
    }

    @Test(arguments: [(TwoTowerParameters.Mode.listwise, false), (.listwise, true), (.pointwise, false), (.pairwise, false)])
    func learnsTasteGroupsAndRecallsColdStartItems(mode: TwoTowerParameters.Mode, symmetric: Bool) throws {
        let log = Self.shuffledLog
        let tt = try Self.model(epochs: 40, log: log, mode: mode, symmetric: symmetric)
        var inGroup = 0, total = 0
        for u in Int32(0)..<20 {
            let history = (0..<log.count).filter { log.users[$0] == u }.reversed()
                .map { HistoryEvent(item: log.items[$0], type: log.types[$0], timestamp: log.timestamps[$0]) }
            // Seen items and the item everyone has are filtered: what is left is the user's one
            // unseen group item, the new item 21 (category "a") and the other group.
            let filter = CandidateFilter(itemCount: 22, unavailable: [20], seen: Set(history.map(\.item)))
            let got = tt.recall(RecallContext(user: u, history: history, now: 1e6), quota: 2, filter: filter)
            let own: Set<Int32> = u < 10 ? [u % 10, 21] : [10 + u % 10]
            inGroup += got.prefix(u < 10 ? 2 : 1).filter { own.contains($0.item) }.count
            total += u < 10 ? 2 : 1
        }
        #expect(Double(inGroup) / Double(total) >= 0.8, "\(inGroup) of \(total)")
        // The new item has no events: its vector comes from its category alone and sits with
        // the "a" items, so "a" users score it above every "b" item.
        #expect(!tt.known[21])
        let v = try #require(tt.userVector(user: 2, history: (0..<log.count).filter { log.users[$0] == 2 }.map { log.items[$0] }))
        func score(_ i: Int) -> Float { (0..<tt.dim).reduce(0) { $0 + v[$1] * tt.itemVectors[i * tt.dim + $1] } }
        #expect((10..<20).allSatisfy { score(21) > score($0) })
    }

    /// DropoutNet: trained with half the ids replaced by the unknown rows, the towers place a new
    /// item from its category and a new user from a few events, and the unknown rows are
    /// trained (they moved from their initial values).
    @Test func idDropoutTrainsTheColdRows() throws {
        let log = Self.shuffledLog
        let tt = try Self.model(epochs: 40, log: log, idDropout: 0.5)
        let plain = try Self.model(epochs: 0, log: log)
        #expect(tt.userTable.suffix(tt.dim) != plain.userTable.suffix(plain.dim), "the unknown user row was trained")
        // A visitor with three "b" events: "b" items first; the new "a" item below them.
        let visitor = [12, 15, 17].map { HistoryEvent(item: Int32($0), type: 1, timestamp: 1) }
        let got = tt.recall(RecallContext(user: nil, history: visitor, now: 1e6), quota: 3,
                            filter: CandidateFilter(itemCount: 22, unavailable: [20], seen: [12, 15, 17]))
        #expect(got.count == 3 && got.allSatisfy { (10..<20).contains($0.item) }, "\(got.map(\.item))")
        // A visitor with "a" events is offered the new "a" item before any "b" item.
        let a = [1, 4, 6].map { HistoryEvent(item: Int32($0), type: 1, timestamp: 1) }
        let forA = tt.recall(RecallContext(user: nil, history: a, now: 1e6), quota: 22,
                             filter: CandidateFilter(itemCount: 22, unavailable: [20], seen: [1, 4, 6])).map(\.item)
        let new = try #require(forA.firstIndex(of: 21))
        #expect(forA.enumerated().allSatisfy { !(10..<20).contains($0.element) || $0.offset > new }, "\(forA)")
    }

    @Test func indexedSearchAgreesWithTheExactScan() throws {
        let tt = try Self.model(epochs: 10)
        let indexed = try IndexedRecall.build(tt)
        let filter = CandidateFilter(itemCount: 22)
        for u in Int32(0)..<20 {
            let ctx = RecallContext(user: u, history: Fixture.history(u), now: 1e6)
            let exact = tt.recall(ctx, quota: 5, filter: filter).map(\.item)
            let approx = indexed.recall(ctx, quota: 5, filter: filter).map(\.item)
            #expect(exact == approx)  // 22 items: HNSW search is exhaustive at this size
        }
    }

    @Test func refreshWithoutNewEventsKeepsTheModel() throws {
        let log = Self.shuffledLog
        let tt = try Self.model(epochs: 5, log: log)
        let same = try tt.refreshed(log: log, since: .infinity, userCount: 20, itemCount: 22, typeWeights: Fixture.weights,
                                    features: ItemSideFeatures.build(items: Self.items), parameters: TwoTowerParameters())
        for (a, b) in zip(same.itemVectors, tt.itemVectors) { #expect(abs(a - b) < 1e-6) }
        #expect(same.userVector(user: 3, history: [1, 2]) == tt.userVector(user: 3, history: [1, 2]))
    }

    @Test func incrementalRefreshGrowsAndLearnsRecentEvents() throws {
        let log = Self.shuffledLog
        let tt = try Self.model(epochs: 20, log: log)
        // A new user 20 and a new item 22 (category "b") arrive; user 20 engages with b items.
        var items = Self.items
        var newItem = Item(id: "i22")
        newItem.categories = ["b"]
        items.append(newItem)
        var recent = EventLog()
        for (k, i) in [10, 11, 12, 22].enumerated() { recent.append(user: 20, item: Int32(i), type: 1, timestamp: 100 + Double(k)) }
        for (k, i) in [13, 14, 22].enumerated() { recent.append(user: 15, item: Int32(i), type: 1, timestamp: 200 + Double(k)) }
        var p = TwoTowerParameters()
        p.epochs = 5
        p.batchSize = 8
        p.uniformNegatives = 4
        p.learningRate = 0.01
        p.temperature = 0.2
        let fresh = try tt.refreshed(log: recent, since: 0, userCount: 21, itemCount: 23, typeWeights: Fixture.weights,
                                     features: ItemSideFeatures.build(items: items), parameters: p)
        #expect(fresh.userCount == 21 && fresh.itemCount == 23 && fresh.known[22] && fresh.known[0])
        let back = try TwoTower(serialized: fresh.serialized())
        #expect(back.itemVectors == fresh.itemVectors)
        // The new user's top items come from the "b" group they engaged with.
        let history = (0..<recent.count).filter { recent.users[$0] == 20 }.reversed()
            .map { HistoryEvent(item: recent.items[$0], type: 1, timestamp: recent.timestamps[$0]) }
        let filter = CandidateFilter(itemCount: 23, unavailable: [20], seen: Set(history.map(\.item)))
        let got = fresh.recall(RecallContext(user: 20, history: history, now: 1e6), quota: 3, filter: filter)
        #expect(got.allSatisfy { (10...19).contains($0.item) }, "\(got)")
    }

    @Test func streamingFrequencyTracksRates() {
        var f = StreamingFrequency(buckets: 16, learningRate: 0.1)
        for step in 0..<2000 {
            f.update(1, step: step)                 // every batch
            if step % 10 == 0 { f.update(2, step: step) }  // one batch in ten
        }
        #expect(abs(f.probability(1) - 1) < 0.01)
        #expect(abs(f.probability(2) - 0.1) < 0.01)
    }
}
