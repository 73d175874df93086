import CascadeCore
import CascadeEngine
import CascadeRecall
import CascadeStore
import Foundation
import Testing

@Suite struct FilteringTests {
    @Test func impressionsRecordedAsFeedbackAreNotShownAgain() throws {
        let s = try groupWorld()
        try Trainer.train(store: s)
        let rec = try Recommender.load(store: s)
        let now = 1_000_000.0
        let first = try rec.recommend(user: "stranger", n: 3, store: s, now: now)
        let shown = first.map { rec.items.external($0.item) }
        try Feedback.record(shown.map { Event(user: "stranger", item: $0, type: .impression, timestamp: now) }, store: s)
        let second = try rec.recommend(user: "stranger", n: 3, store: s, now: now + 60).map { rec.items.external($0.item) }
        #expect(Set(second).isDisjoint(with: shown), "shown \(shown), then \(second)")
        // A week later the exposures have expired.
        let later = try rec.recommend(user: "stranger", n: 3, store: s, now: now + 8 * 86_400).map { rec.items.external($0.item) }
        #expect(later == shown)
        // The filters can be rebuilt from the stored impressions.
        try s.putExposureFilters(["stranger": try ExposureFilter().serialized()])
        #expect(try rec.recommend(user: "stranger", n: 3, store: s, now: now + 60).map { rec.items.external($0.item) } == shown)
        #expect(try Feedback.rebuildExposure(store: s, now: now + 60) == 1)
        #expect(try rec.recommend(user: "stranger", n: 3, store: s, now: now + 60).map { rec.items.external($0.item) } == second)
    }

    @Test func dislikesBlockTheItemThenTheAuthor() throws {
        let s = try SQLiteStore()
        try s.upsertItems((0..<6).map { Item(id: "m\($0)", categories: ["c\($0 % 3)"], author: $0 < 3 ? "ann" : "bob") })
        // Everyone else likes every item, so all are popular.
        try s.appendEvents((0..<6).flatMap { i in (0..<5).map { Event(user: "fan\($0)", item: "m\(i)", timestamp: Double(i)) } })
        try Trainer.train(store: s)
        let rec = try Recommender.load(store: s)
        try s.appendEvents([Event(user: "me", item: "m0", type: .dislike, timestamp: 10)])
        var got = try rec.recommend(user: "me", n: 6, store: s, now: 20).map { rec.items.external($0.item) }
        #expect(!got.contains("m0") && got.contains("m1") && got.contains("m2"))
        try s.appendEvents([Event(user: "me", item: "m1", type: .dislike, timestamp: 11)])
        got = try rec.recommend(user: "me", n: 6, store: s, now: 20).map { rec.items.external($0.item) }
        #expect(Set(got) == ["m3", "m4", "m5"], "two dislikes of ann's items block ann: \(got)")
    }

    @Test func unreadableArtifactDegradesToTheOtherChannels() throws {
        let s = try groupWorld()
        try Trainer.train(store: s)
        try s.putArtifact(name: "recall/itemcf", manifest: ["kind": "ItemCF"], blob: Data("garbage".utf8), activate: true)
        let rec = try Recommender.load(store: s)
        // (SASRec is declined on these twenty users: too little data for a sequence model.)
        #expect(rec.funnel.channels.map(\.name).sorted() == FunnelConfig.defaultQuotas.map(\.channel).filter { $0 != "itemcf" && $0 != "sasrec" }.sorted())
        #expect(try rec.recommend(user: "a3", n: 3, store: s).count == 3)
    }

    @Test func concurrentChannelsGiveTheSameResultAsOneAtATime() throws {
        let s = try groupWorld()
        try Trainer.train(store: s)
        let rec = try Recommender.load(store: s)
        let history = try rec.history(of: "b4", store: s)
        let r = rec.run(user: "b4", history: history, n: 5, now: 5_000)
        #expect(r.channels.map(\.channel) == FunnelConfig.defaultQuotas.map(\.channel).filter { $0 != "sasrec" })
        #expect(r.channels.allSatisfy { $0.microseconds >= 0 })
        #expect(r.channels.filter { ["itemcf", "swing", "usercf", "als", "popular"].contains($0.channel) }.allSatisfy { $0.candidates > 0 })
        var sequential: [(ChannelQuota, [Candidate])] = []
        let f = rec.filter(history: history, now: 5_000)
        let ctx = RecallContext(user: rec.users.index(of: "b4"), history: history, now: 5_000)
        for q in rec.funnel.config.quotas {
            guard let ch = rec.funnel.channels.first(where: { $0.name == q.channel }) else { continue }
            sequential.append((q, ch.recall(ctx, quota: q.quota, filter: f)))
        }
        let merged = RecallMerger(mode: rec.funnel.config.mergeMode).merge(sequential, limit: 5)
        #expect(r.recommendations.map(\.item) == merged.map(\.item))
    }
}
