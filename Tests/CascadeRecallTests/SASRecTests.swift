import CascadeCore
import CascadeTensor
import Foundation
import Testing
@testable import CascadeRecall

extension ChannelCase {
    static let sequential: [ChannelCase] = [
        ChannelCase(name: "sasrec", make: { try! SASRecTests.model(log: Fixture.log, items: Fixture.itemCount, epochs: 2) },
                    load: { try SASRec(serialized: $0) }),
        ChannelCase(name: "sasrec+hnsw", make: { try! IndexedRecall.build(SASRecTests.model(log: Fixture.log, items: Fixture.itemCount, epochs: 2)) },
                    load: { try SASRecChannel.load($0) }),
    ]
}

@Suite struct SASRecTests {
    static func model(log: EventLog, items: Int, epochs: Int, fullSoftmax: Bool = true) throws -> SASRec {
        var p = SASRecParameters()
        p.dim = 16
        p.heads = 2
        p.blocks = 1
        p.feedForward = 32
        p.length = 8
        p.training.epochs = epochs
        p.training.batchSize = 16
        p.training.learningRate = 0.01
        p.dropout = 0
        p.training.validationUsers = 0
        if !fullSoftmax {
            p.training.fullSoftmaxItems = 0
            p.training.negatives = 12
        }
        let users = Int(log.users.max() ?? -1) + 1
        return try SASRec.train(log: log, userCount: users, itemCount: items, typeWeights: EventTypeRegistry().weightsByCode, parameters: p)
    }

    /// Every user walks the same cycle of 12 items from a different start: the next item is a
    /// function of the last one, which only a model of the order can learn (each item is equally
    /// popular and every user saw most of them).
    static var cycleLog: EventLog {
        var l = EventLog()
        var t = 0.0
        for u in 0..<40 {
            for k in 0..<9 {
                l.append(user: Int32(u), item: Int32((u + k) % 12), type: 1, timestamp: t); t += 1
            }
        }
        return l
    }

    @Test(arguments: [true, false])
    func learnsWhatComesNextAndFollowsTheLiveHistory(fullSoftmax: Bool) throws {
        let m = try Self.model(log: Self.cycleLog, items: 12, epochs: 60, fullSoftmax: fullSoftmax)
        var hits = 0
        for last in 0..<12 {
            // A new visitor's history (newest first): the three items up to `last`.
            let history = (0..<3).map { HistoryEvent(item: Int32((last - $0 + 12) % 12), type: 1, timestamp: Double(100 - $0)) }
            let ctx = RecallContext(user: nil, history: history, now: 200)
            let top = m.recall(ctx, quota: 1, filter: CandidateFilter(itemCount: 12))
            if top.first?.item == Int32((last + 1) % 12) { hits += 1 }
        }
        #expect(hits >= 11, "next item ranked first for \(hits) of 12 histories (full softmax \(fullSoftmax))")
    }

    @Test func aStoredModelAnswersAsTheTrainedOne() throws {
        let m = try Self.model(log: Self.cycleLog, items: 12, epochs: 3)
        let back = try SASRec(serialized: m.serialized())
        let history = [HistoryEvent(item: 4, type: 1, timestamp: 2), HistoryEvent(item: 3, type: 1, timestamp: 1)]
        let a = try #require(m.userVector(history: history.map(\.item))), b = try #require(back.userVector(history: history.map(\.item)))
        #expect(a == b)
        #expect(back.itemVectors == m.itemVectors && back.itemVectors.count == 12 * 16)
        #expect(m.userVector(history: []) == nil && m.userVector(history: [99]) == nil, "nothing known in the history: no query")
        var bytes = m.serialized()
        bytes[bytes.count / 2] ^= 0xFF
        #expect(throws: CascadeError.self) { try SASRec(serialized: Array(bytes.prefix(bytes.count - 9))) }
    }

    /// Causal attention: a step's output never depends on a later step.
    @Test func causalAttentionIgnoresLaterSteps() throws {
        let attention = MultiHeadAttention(name: "a", dim: 4, heads: 2, seed: 3)
        let x = Tensor.normal([1, 5, 4], std: 1, seed: 1)
        let y = x.copy()
        for k in 0..<4 { y.base[4 * 4 + k] += 3 }  // change the last step only
        let tape = Tape(training: false, threads: 1)
        let a = try attention(tape.constant(x), causal: true).value, b = try attention(tape.constant(y), causal: true).value
        for i in 0..<(4 * 4) { #expect(abs(a.base[i] - b.base[i]) < 1e-6) }
        #expect((16..<20).contains { abs(a.base[$0] - b.base[$0]) > 1e-3 }, "the changed step itself moves")
        // Its gradient, numerically.
        let r = try GradientCheck.check(inputs: [x], parameters: attention.parameters, epsilon: 1e-3) { tape, inputs in
            try attention(inputs[0], mask: Tensor(shape: [1, 5], values: [0, 1, 1, 1, 1]), causal: true)
        }
        #expect(r.passed, "\(r)")
    }
}

/// A sequence model is published only when it earned its place on the data (``NextItemTraining/mustBeatPopular``).
@Suite struct SequenceModelGateTests {
    /// Rows are items + 1: user 0 saw items 1, 2, 0; user 1 items 1, 2, 3; user 2 items 1, 0;
    /// user 3 items 1, 29.
    static let sequences = UserSequences(offsets: [0, 3, 6, 8, 10], rows: [2, 3, 1, 2, 3, 4, 2, 1, 2, 30])

    @Test func popularHitRateIsCountedByHand() {
        // Users 0, 1, 3 held out: counts without their last rows are row 2: 4, row 3: 2, row 1: 1
        // (user 2's), the rest 0, so the ranking is rows 2, 3, 1, then 4, 5, 6, ... by index.
        // User 0 (own rows 2, 3) meets its target row 1 first: a hit. User 1 (own 2, 3) sees row 1,
        // then its target row 4: a hit. User 3 (own 2) sees rows 3, 1, 4, 5, ..., 11 (ten) before
        // its target row 30: a miss.
        #expect(NextItemSoftmax.popularHitRate(sequences: Self.sequences, users: [0, 1, 3], items: 40) == 2.0 / 3)
        #expect(NextItemSoftmax.popularHitRate(sequences: Self.sequences, users: [3], items: 40) == 0)
        // In a catalog of 12 items, row 30 (item 29) is outside it and never ranks.
        #expect(NextItemSoftmax.popularHitRate(sequences: Self.sequences, users: [0, 1], items: 12) == 1)
    }

    @Test func aModelThatDoesNotBeatPopularIsDeclinedWithItsReason() throws {
        var t = NextItemTraining(batchSize: 8, learningRate: 0.01, patience: 2)
        let beaten = HeldOutHitRate(model: 0.05, popular: 0.06, users: 116, sequences: 300)
        let earned = HeldOutHitRate(model: 0.09, popular: 0.06, users: 116, sequences: 300)
        let tooFew = HeldOutHitRate(model: 0.9, popular: 0.06, users: 20, sequences: 20)
        #expect(throws: ChannelDeclined.self) { try t.requireEarned(beaten, channel: "sasrec") }
        #expect(throws: ChannelDeclined.self) { try t.requireEarned(tooFew, channel: "sasrec") }
        try t.requireEarned(earned, channel: "sasrec")
        do { try t.requireEarned(beaten, channel: "sasrec"); Issue.record("not declined") } catch let e as ChannelDeclined {
            #expect(e.channel == "sasrec" && e.reason.contains("0.0500") && e.reason.contains("0.0600"))
        }
        t.mustBeatPopular = false
        try t.requireEarned(beaten, channel: "sasrec")
        try t.requireEarned(tooFew, channel: "sasrec")
    }
}
