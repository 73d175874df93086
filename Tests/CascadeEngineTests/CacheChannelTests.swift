import CascadeCore
import CascadeEngine
import CascadeLab
import CascadeRecall
import Foundation
import Testing

/// The cache channel in the funnel: a page's passed-over candidates come back at the next
/// request through the `cache` channel; what was shown does not.
@Suite struct CacheChannelTests {
    @Test func passedOverCandidatesComeBackAndShownOnesDoNot() throws {
        let store = try impressionWorld(seed: 8)
        var config = try rankConfig(preRankLimit: 60)
        try Trainer.train(store: store, config: config)
        config.quotas.append(ChannelQuota(channel: "cache", quota: 30, weight: 0.5))
        let rec = try Recommender.load(store: store, config: config.servingTrainedChannels(store: store))
        let cache = try #require(rec.funnel.cache)
        #expect(rec.funnel.channels.contains { $0.name == "cache" })
        let user = try #require(rec.users.index(of: "u5"))
        let first = rec.run(user: "u5", history: [], n: 10, now: 2e9)
        #expect(first.channels.first { $0.channel == "cache" }?.candidates == 0, "nothing cached before the first page")
        let kept = Set(cache.entries(of: user).map(\.item))
        let shown = Set(first.recommendations.map(\.item))
        #expect(!kept.isEmpty && kept.count <= CacheRecall.Parameters().maxItemsPerUser)
        #expect(kept.isDisjoint(with: shown), "shown items are not cached")
        let second = rec.run(user: "u5", history: [], n: 10, now: 2e9 + 60)
        #expect((second.channels.first { $0.channel == "cache" }?.candidates ?? 0) > 0, "the cache recalls the passed-over items")
        // The shown items of the second page leave the cache.
        #expect(Set(cache.entries(of: user).map(\.item)).isDisjoint(with: second.recommendations.map(\.item)))
        // A stranger is never cached.
        _ = rec.run(user: "nobody", history: [], n: 10, now: 2e9)
        #expect(cache.userCount == 1)
    }
}
