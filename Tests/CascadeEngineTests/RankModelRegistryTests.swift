import CascadeCore
import CascadeEngine
import CascadeRank
import CascadeStore
import CascadeTensor
import Foundation
import Testing

/// Every ranking model `RankModelRegistry` names goes the whole way through the engine: trained from the
/// store's impressions, published, read back by a new recommender, and serving a page.
@Suite struct RankModelRegistryTests {
    @Test(arguments: RankModelRegistry.names) func everyRankingModelTrainsPublishesReloadsAndServes(model: String) throws {
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

    /// A model registered by the application (here a test): `rank.model` accepts its name, the
    /// engine trains, publishes, reloads and serves it like a built-in one.
    @Test func aRegisteredModelIsAcceptedByTheConfigAndServed() throws {
        try? RankModelRegistry.register(BaseRate.self)  // once per process
        #expect(RankModelRegistry.names.last == "baserate")
        #expect(throws: RankError.self) { try RankModelRegistry.register(BaseRate.self) }
        let store = try impressionWorld()
        var config = try rankConfig(preRankLimit: 40).restricted(to: ["itemcf", "popular"])
        let model = try #require(FunnelConfig.settings.first { $0.key == "rank.model" })
        #expect(model.allowed.contains("baserate"))
        try model.write(&config, "BaseRate")
        #expect(config.rank.model == "baserate")
        let report = try Trainer.train(store: store, config: config)
        #expect(try #require(report.rank).tasks == ["click"])
        let rec = try Recommender.load(store: store, config: config)
        let ranker = try #require(rec.funnel.ranker)
        #expect(ranker.model.kind == "baserate")
        // One logit for every row: the ranker cannot tell candidates apart, so each gets the same score.
        let p = try #require(rec.run(user: "u5", n: 10, store: store, now: 2e9).recommendations.first)
        #expect(p.score.isFinite)
    }
}

/// A toy ranking model, not shipped: one learned logit for every row (the base rate of clicks).
final class BaseRate: RankModel, RankModelDefinition {
    static let name = "baserate"
    static let summary = "The base rate: one learned logit for every row"
    static let multiTask = false
    static let options: [String] = []
    static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel { BaseRate(parameters) }

    let kind = "baserate"
    let tasks: [String]
    let bias = Parameter("baserate.bias", Tensor(shape: [1]))
    init(_ p: RankModelParameters) { tasks = Array(p.tasks.prefix(1)) }
    var parameters: [Parameter] { [bias] }
    func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        try tape.constant(Tensor(shape: [batch.rows, 1])) + tape.parameter(bias)
    }
}
