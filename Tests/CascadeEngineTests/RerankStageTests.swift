import CascadeCore
import CascadeEngine
import CascadeRecall
import Foundation
import Testing

@Suite struct RerankStageTests {
    @Test func diversityReRankKeepsThePageValidAndReordersIt() throws {
        let s = try groupWorld()
        _ = try Trainer.train(store: s)
        var plain = FunnelConfig()
        plain.rerank.mode = .none
        let base = try Recommender.load(store: s, config: plain)
        for mode in [RerankConfig.Mode.dpp, .mmr] {
            var config = FunnelConfig()
            config.rerank.mode = mode
            config.rerank.theta = 0.5
            config.rerank.lambda = 0.3
            let rec = try Recommender.load(store: s, config: config)
            var changed = false
            for user in ["a3", "b5", "newcomer"] {
                let a = try base.recommend(user: user, n: 8, store: s)
                let b = try rec.recommend(user: user, n: 8, store: s)
                #expect(b.count == a.count, "\(mode) \(user)")
                #expect(Set(b.map(\.item)).count == b.count)
                // Re-ranking draws from the same merged candidates: nothing hidden or seen appears.
                #expect(!b.map { rec.items.external($0.item) }.contains("hidden-gem"))
                #expect(try rec.recommend(user: user, n: 8, store: s) == b)  // deterministic
                if a.map(\.item) != b.map(\.item) { changed = true }
            }
            #expect(changed, "\(mode) re-rank changed no page: are the ALS vectors reaching it?")
        }
    }
}
