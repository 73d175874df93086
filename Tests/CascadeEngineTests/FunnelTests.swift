import CascadeCore
import CascadeEngine
import CascadeRecall
import CascadeStore
import Foundation
import Testing

/// Two taste groups: users a0..a9 click items x0..x9 (each skips one), users b0..b9 click
/// y0..y9; everyone likes "hit". Item-CF should fill each user's gap from their own group.
func groupWorld() throws -> SQLiteStore {
    let s = try SQLiteStore()
    var events: [Event] = []
    var t = 1_000.0
    for g in ["a", "b"] {
        let prefix = g == "a" ? "x" : "y"
        for u in 0..<10 {
            for i in 0..<10 where i != u {
                events.append(Event(user: "\(g)\(u)", item: "\(prefix)\(i)", timestamp: t)); t += 1
            }
            events.append(Event(user: "\(g)\(u)", item: "hit", type: .like, timestamp: t)); t += 1
        }
    }
    try s.upsertItems([Item(id: "hidden-gem", hidden: true)])
    for u in 0..<10 { events.append(Event(user: "a\(u)", item: "hidden-gem", timestamp: t)); t += 1 }
    try s.appendEvents(events)
    try s.setItemHidden("hidden-gem", hidden: true)
    return s
}

@Suite struct FunnelTests {
    @Test func trainPublishesArtifactsAndRecommendsFromTheUsersGroup() throws {
        let s = try groupWorld()
        let report = try Trainer.train(store: s)
        // Twenty users are too few for a sequence model: SASRec is trained, declined with its
        // reason, and the rest is published.
        #expect(report.declined.map(\.channel) == ["sasrec"])
        #expect(report.declined.first?.reason.contains("only 20 users have 3 or more positives") == true)
        #expect(report.versions == Dictionary(uniqueKeysWithValues: FunnelConfig.defaultQuotas.filter { $0.channel != "sasrec" }.map { ($0.channel, 1) }))
        let rec = try Recommender.load(store: s)
        let recs = try rec.recommend(user: "a3", n: 3, store: s)
        #expect(recs.first.map { rec.items.external($0.item) } == "x3")
        #expect(recs.first?.channels.first == "itemcf")
        let shown = recs.map { rec.items.external($0.item) }
        #expect(!shown.contains("hidden-gem"))
        #expect(!shown.contains("x0") && !shown.contains("hit"), "seen items are never recommended")
        // Retraining publishes new versions and activates them.
        try Trainer.train(store: s)
        #expect(try s.activeArtifact(name: "recall/itemcf")?.info.version == 2)
    }

    @Test func unknownUserGetsPopularItemsNeverAnError() throws {
        let s = try groupWorld()
        try Trainer.train(store: s)
        let rec = try Recommender.load(store: s)
        let recs = try rec.recommend(user: "stranger", n: 5, store: s)
        #expect(recs.count == 5)
        #expect(rec.items.external(recs[0].item) == "hit")
        #expect(recs.allSatisfy { !$0.channels.contains("itemcf") })
    }

    @Test func batchRecommendationsMatchSingleOnes() throws {
        let s = try groupWorld()
        try Trainer.train(store: s)
        let rec = try Recommender.load(store: s)
        let users = ["a1", "b7", "nobody", "b2"]
        let log = try s.loadEventLog()
        let batch = rec.recommendAll(users, log: log, n: 4)
        for (u, list) in zip(users, batch) {
            let single = try rec.recommend(user: u, n: 4, store: s, now: log.maxTimestamp)
            #expect(list == single, "user \(u)")
            // The offline commands' "now" is the store's newest event: the same for both paths.
            #expect(try rec.recommend(user: u, n: 4, store: s, now: Recommender.referenceTime(store: s)) == list)
        }
        #expect(try Recommender.referenceTime(store: s) == log.maxTimestamp)
    }

    @Test func recommendingBeforeTrainingIsAClearError() throws {
        let s = try groupWorld()
        #expect { _ = try Recommender.load(store: s) } throws: { "\($0)".contains("cascade train") }
        let empty = try SQLiteStore()
        #expect { try Trainer.train(store: empty) } throws: { "\($0)".contains("no events") }
    }
}

/// A channel that takes `delay` seconds and returns items 0..<count.
private struct SlowChannel: RecallChannel {
    let name: String
    let delay: Double
    let count: Int32
    func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        return (0..<count).map { Candidate(item: $0, score: Float(count - $0), channel: name) }
    }
    func serialized() -> [UInt8] { [] }
}

@Suite struct FunnelDeadlineTests {
    private func funnel(deadline: Double) -> Funnel {
        var config = FunnelConfig()
        config.quotas = [ChannelQuota(channel: "slow", quota: 10), ChannelQuota(channel: "late", quota: 10)]
        config.parallelRecall = false
        config.deadline = deadline
        return Funnel(channels: [SlowChannel(name: "slow", delay: 0.05, count: 3), SlowChannel(name: "late", delay: 0, count: 6)],
                      config: config, itemCount: 6)
    }

    @Test func aStagePastTheDeadlineIsCutAndThePageDegrades() {
        let result = funnel(deadline: 0.01).run(RecallContext(user: 0, now: 1), n: 5, filter: CandidateFilter(itemCount: 6))
        #expect(result.degraded == ["recall/late"])
        #expect(result.recommendations.map(\.item) == [0, 1, 2], "the page is served from the channel that finished")
    }

    @Test func withinTheDeadlineEveryChannelRuns() {
        for deadline in [0, 5.0] {
            let result = funnel(deadline: deadline).run(RecallContext(user: 0, now: 1), n: 5, filter: CandidateFilter(itemCount: 6))
            #expect(result.degraded.isEmpty)
            #expect(result.recommendations.count == 5)
        }
    }
}
