import CascadeCore
import CascadeTensor
import Foundation
import Testing
@testable import CascadeRecall

extension ChannelCase {
    static let multiInterest: [ChannelCase] = [
        ChannelCase(name: "comirec", make: { try! ComiRecTests.model(log: Fixture.log, items: Fixture.itemCount, epochs: 2) },
                    load: { try ComiRec(serialized: $0) }),
        ChannelCase(name: "comirec+hnsw", make: { try! IndexedRecall.build(ComiRecTests.model(log: Fixture.log, items: Fixture.itemCount, epochs: 2)) },
                    load: { try ComiRecChannel.load($0) }),
    ]
}

@Suite struct ComiRecTests {
    static func model(log: EventLog, items: Int, epochs: Int, fullSoftmax: Bool = true, interests: Int = 2) throws -> ComiRec {
        var p = ComiRecParameters()
        p.dim = 16
        p.interests = interests
        p.attentionHidden = 16
        p.length = 8
        p.training.epochs = epochs
        p.training.batchSize = 16
        p.training.learningRate = 0.01
        p.training.validationUsers = 0
        if !fullSoftmax {
            p.training.fullSoftmaxItems = 0
            p.training.negatives = 12
        }
        let users = Int(log.users.max() ?? -1) + 1
        return try ComiRec.train(log: log, userCount: users, itemCount: items, typeWeights: EventTypeRegistry().weightsByCode, parameters: p)
    }

    /// Two tastes, each a cycle of 6 items: group A (0-5) and group B (6-11). A third of the
    /// users walk A only, a third B only, and a third alternate between their A and B cycles.
    static var twoTasteLog: EventLog {
        var l = EventLog()
        var t = 0.0
        for u in 0..<60 {
            for k in 0..<8 {
                let a = Int32((u + k) % 6), b = Int32(6 + (u / 6 + k) % 6)
                for item in u % 3 == 0 ? [a] : u % 3 == 1 ? [b] : [a, b] {
                    l.append(user: Int32(u), item: item, type: 1, timestamp: t); t += 1
                }
            }
        }
        return l
    }

    /// A history with both tastes recalls both, and a history of one taste recalls that taste.
    @Test(arguments: [true, false])
    func servesEveryInterestOfTheHistory(fullSoftmax: Bool) throws {
        let m = try Self.model(log: Self.twoTasteLog, items: 12, epochs: 40, fullSoftmax: fullSoftmax)
        let mixed = [0, 6, 1, 7, 2, 8, 3, 9].enumerated().map { HistoryEvent(item: Int32($0.element), type: 1, timestamp: Double(100 - $0.offset)) }
        let both = m.recall(RecallContext(user: nil, history: mixed, now: 200), quota: 4, filter: CandidateFilter(itemCount: 12))
        #expect(m.interestQueries(RecallContext(user: nil, history: mixed, now: 200)).count == 2)
        #expect(both.contains { $0.item < 6 } && both.contains { $0.item >= 6 }, "both tastes in \(both.map(\.item))")
        let onlyA = [3, 2, 1, 0].enumerated().map { HistoryEvent(item: Int32($0.element), type: 1, timestamp: Double(100 - $0.offset)) }
        let a = m.recall(RecallContext(user: nil, history: onlyA, now: 200), quota: 2, filter: CandidateFilter(itemCount: 12))
        #expect(a.count == 2 && a.allSatisfy { $0.item < 6 }, "taste A alone: \(a.map(\.item))")
    }

    /// The interests after the whole sequence are the prefix interests' last row, and a prefix's
    /// interests never depend on a later step.
    @Test func prefixInterestsAreCausalAndEndAtTheServedOnes() throws {
        var p = ComiRecParameters()
        p.dim = 4; p.interests = 2; p.attentionHidden = 3; p.length = 5
        let net = ComiRecNetwork(items: 7, parameters: p, sparseItems: false)
        for param in net.parameters { for i in 0..<param.value.count { param.value.base[i] = Float(sin(Double(i) * 1.7 + Double(param.value.count))) } }
        let tape = Tape(training: false, threads: 1)
        let rows: [[Int32]] = [[3, 1, 4, 1, 5], [2, 6]]
        let prefix = try net.prefixInterests(rows, tape: tape).value  // [2, K, N, d]
        let last = try net.interests(rows, tape: tape).value           // [2, K, d]
        for b in 0..<2 { for k in 0..<2 { for c in 0..<4 {
            #expect(abs(prefix.base[((b * 2 + k) * 5 + 4) * 4 + c] - last.base[(b * 2 + k) * 4 + c]) < 1e-5)
        } } }
        let changed = try net.prefixInterests([[3, 1, 4, 1, 6], [2, 5]], tape: tape).value
        for b in 0..<2 { for k in 0..<2 { for t in 0..<4 { for c in 0..<4 {
            let o = ((b * 2 + k) * 5 + t) * 4 + c
            #expect(abs(prefix.base[o] - changed.base[o]) < 1e-6, "prefix \(t) of sequence \(b) moved with the last step")
        } } } }
        // A prefix of padding only has no interest (zeros, not NaN).
        #expect(prefix.base[(1 * 2 * 5 + 0) * 4] == 0)
    }

    /// The extractor's gradient (embeddings, positions, both projections), numerically.
    @Test func gradientMatchesFiniteDifferences() throws {
        var p = ComiRecParameters()
        p.dim = 4; p.interests = 2; p.attentionHidden = 3; p.length = 4
        let net = ComiRecNetwork(items: 5, parameters: p, sparseItems: false)
        let r = try GradientCheck.check(inputs: [], parameters: net.parameters, epsilon: 1e-2) { tape, _ in
            try net.prefixInterests([[1, 2, 3, 4], [5, 2]], tape: tape)
        }
        #expect(r.passed, "\(r)")
    }

    @Test func aStoredModelAnswersAsTheTrainedOne() throws {
        let m = try Self.model(log: Self.twoTasteLog, items: 12, epochs: 2)
        let back = try ComiRec(serialized: m.serialized())
        let history: [Int32] = [4, 10, 3, 9, 2]
        #expect(m.interestQueries(history: history) == back.interestQueries(history: history))
        #expect(back.itemVectors == m.itemVectors && back.itemVectors.count == 12 * 16)
        #expect(m.interestQueries(history: []).isEmpty && m.interestQueries(history: [99]).isEmpty, "nothing known: no query")
        #expect(m.interestQueries(history: [4]).count == 1, "one positive: one interest")
        var bytes = m.serialized()
        bytes[bytes.count / 2] ^= 0xFF
        #expect(throws: CascadeError.self) { try ComiRec(serialized: Array(bytes.prefix(bytes.count - 9))) }
    }

    /// MIND's adaptive count, by hand: max(1, min(K, floor(log2 L))).
    @Test func theNumberOfInterestsGrowsWithTheHistory() {
        let counts = [0, 1, 2, 3, 4, 7, 8, 15, 16, 1000].map { InterestMerge.interestCount(historyLength: $0, maximum: 4) }
        #expect(counts == [1, 1, 1, 1, 2, 2, 3, 3, 4, 4])
        #expect(InterestMerge.interestCount(historyLength: 1000, maximum: 2) == 2)
    }

    /// Each interest keeps its share; duplicates count once (at their best score); what a share
    /// cannot fill goes to the best remaining; the union is ordered by score.
    @Test func interestsShareTheQuota() {
        func c(_ i: Int32, _ s: Float) -> Candidate { Candidate(item: i, score: s, channel: "x") }
        let strong = [c(1, 9), c(2, 8), c(3, 7), c(4, 6)], weak = [c(2, 5), c(10, 1), c(11, 0.5)]
        #expect(InterestMerge.merge([strong, weak], quotas: [2, 2], quota: 4).map(\.item) == [1, 2, 10, 11])
        #expect(InterestMerge.merge([strong, weak], quotas: [3, 1], quota: 4).map(\.item) == [1, 2, 3, 10])
        #expect(InterestMerge.merge([strong, []], quotas: [2, 2], quota: 4).map(\.item) == [1, 2, 3, 4])
        #expect(InterestMerge.merge([weak, strong], quotas: [1, 1], quota: 2).map(\.item) == [1, 2])
        #expect(InterestMerge.merge([], quotas: [], quota: 2).isEmpty && InterestMerge.merge([strong], quotas: [1], quota: 0).isEmpty)
        #expect(InterestMerge.shares([0.5, 0.3, 0.2], quota: 10) == [5, 3, 2])
        #expect(InterestMerge.shares([1, 1, 1], quota: 10) == [4, 3, 3])
    }

    /// An interest's log partition: exact over a small catalog (against a direct sum), and
    /// the sampled estimate on a large one equal to the exact value where every item scores alike.
    @Test func logPartitionByHand() throws {
        let m = try Self.model(log: Self.twoTasteLog, items: 12, epochs: 1)
        let v = (0..<16).map { Float($0 % 3) * 0.1 }
        var direct = 0.0
        for i in 0..<12 { direct += exp(Double((0..<16).reduce(Float(0)) { $0 + v[$1] * m.itemVectors[i * 16 + $1] })) }
        #expect(abs(m.logPartition(v) - log(direct)) < 1e-4)
    }
}
