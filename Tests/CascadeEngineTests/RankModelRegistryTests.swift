import CascadeCore
import CascadeEngine
import CascadeRank
import CascadeStore
import Foundation
import Testing

/// Every ranking model `RankModels` names goes the whole way through the engine: trained from the
/// store's impressions, published, read back by a new recommender, and serving a page.
@Suite struct RankModelRegistryTests {
    @Test(arguments: RankModels.names) func everyRankingModelTrainsPublishesReloadsAndServes(model: String) throws {
        let store = try impressionWorld()
        var config = try rankConfig(preRankLimit: 40).restricted(to: ["itemcf", "popular"])
        config.rank.model = model
        config.rank.behaviourLength = 10
        let report = try Trainer.train(store: store, config: config)
        let rank = try #require(report.rank, "\(model) trained nothing")
        #expect(report.versions["rank"] == 1)
        #expect(rank.tasks.allSatisfy { (rank.validAUC[$0] ?? .nan).isFinite || $0 == "watch_time" }, "\(model): \(rank.validAUC)")
        let artifact = try #require(try store.activeArtifact(name: ModelArtifact.rank))
        #expect(artifact.info.manifest["model"] == model)
        let rec = try Recommender.load(store: store, config: config)
        let ranker = try #require(rec.funnel.ranker, "\(model) was not read back")
        #expect(ranker.model.kind == model)
        let result = try rec.run(user: "u5", n: 10, store: store, now: 2e9)
        #expect(result.recommendations.count == 10)
        #expect(result.stages.map(\.stage).contains("rank") && result.degraded.isEmpty, "\(model): \(result.stages.map(\.stage)) \(result.degraded)")
    }
}
