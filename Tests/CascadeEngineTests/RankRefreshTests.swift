import CascadeCore
import CascadeEngine
import CascadeRank
import CascadeStore
import Foundation
import Testing

/// `cascade train --incremental` on the ranker: the published model continues from its weights
/// on the recent impressions, its pre-ranker with it, and the funnel serves the new versions.
@Suite struct RankRefreshTests {
    @Test func refreshContinuesThePublishedRankerAndItsPreRanker() throws {
        let store = try impressionWorld()
        let config = try rankConfig(preRankLimit: 40)
        try Trainer.train(store: store, config: config)
        let v1 = try #require(try store.activeArtifact(name: "rank"))

        let report = try Trainer.refresh(store: store, config: config, days: 2)
        let r = try #require(report.rankRefresh)
        #expect(r.samples > 0 && r.tasks == ["click", "like", "finish", "watch_time"].filter { r.tasks.contains($0) })
        let click = try #require(r.aucBefore["click"])
        #expect(click > 0.5 && click <= 1, "the served ranker ranks the window's clicks: \(click)")
        #expect(report.versions["rank"] == 2 && report.versions["prerank"] == 2)
        #expect(report.versions["twotower"] == nil, "no two-tower model was trained")

        let v2 = try #require(try store.activeArtifact(name: "rank"))
        #expect(v2.info.version == 2 && v2.info.manifest["incremental_from"] == "1")
        #expect(v2.info.manifest["samples"] == "\(r.samples)")
        let before = try RankModelFile.decode(try ModelArtifact.data(of: v1, name: ModelArtifact.rank)).model.parameters
        let after = try RankModelFile.decode(try ModelArtifact.data(of: v2, name: ModelArtifact.rank)).model.parameters
        #expect(before.count == after.count)
        #expect(zip(before, after).contains { $0.value.toArray() != $1.value.toArray() }, "the weights moved")
        #expect(try store.activeArtifact(name: "prerank")?.info.manifest["incremental_from"] == "1")

        let rec = try Recommender.load(store: store, config: config)
        let result = try rec.run(user: "u5", n: 10, store: store, now: 2e9)
        #expect(result.recommendations.count == 10 && result.degraded.isEmpty)
    }

    @Test func refreshWithNothingTrainedIsAnErrorThatPublishesNothing() throws {
        let store = try impressionWorld()
        let config = try rankConfig()
        #expect(throws: CascadeError.self) { try Trainer.refresh(store: store, config: config, days: 1) }
        #expect(throws: CascadeError.self) { try Trainer.refresh(store: store, config: config, days: 0) }
        #expect(try store.activeArtifact(name: "rank") == nil)
    }
}
