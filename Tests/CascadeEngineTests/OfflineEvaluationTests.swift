import CascadeCore
@testable import CascadeEngine
import CascadeStore
import Foundation
import Testing

@Suite struct OfflineEvaluationTests {
    @Test func pairsSplitAtTheirFirstPositiveEvent() {
        var log = EventLog()
        // item 1 is clicked (t=2) then liked (t=3); an impression (type 0) never counts.
        for (item, type, t) in [(0, 1, 1.0), (1, 1, 2), (1, 2, 3), (9, 0, 3.5), (2, 1, 4), (3, 1, 5), (4, 1, 6)] as [(Int32, UInt8, Double)] {
            log.append(user: 0, item: item, type: type, timestamp: t)
        }
        let positive = Set(EventTypeRegistry().entries.filter { $0.weight > 0 }.map(\.code))
        let first = OfflineEvaluation.firstPositiveEvents(log, positive: positive)
        #expect(first.items == [0, 1, 2, 3, 4])
        #expect(first.timestamps == [1, 2, 4, 5, 6])
    }

    @Test func itemCFBeatsPopularityOnTasteGroups() throws {
        let s = try groupWorld()
        let before = try s.counts()
        let r = try OfflineEvaluation.run(store: s, testFraction: 0.2, k: 3)
        let byName = Dictionary(uniqueKeysWithValues: r.rows.map { ($0.system, $0.metrics) })
        let itemcf = try #require(byName["itemcf"]), popular = try #require(byName["popular"])
        #expect(itemcf.recall > popular.recall)
        #expect(r.rows.first?.system == "cascade")
        #expect(r.testEvents > 0 && r.trainEvents > r.testEvents)
        // The store is only read.
        #expect(try s.counts() == before)
        #expect(before.events == 210)
        #expect(throws: CascadeError.self) { _ = try OfflineEvaluation.run(store: s, testFraction: 1.5, k: 3) }
        #expect(throws: CascadeError.self) { _ = try OfflineEvaluation.run(store: s, testFraction: 0.2, k: 0) }
    }

    /// With impressions and a ranker model, "cascade" is the ranked funnel and "recall" the merged
    /// recall order; with `--rank none` the cascade row is the recall order and nothing is fitted.
    @Test func theCascadeRowIsTheFunnelAsServed() throws {
        let s = try impressionWorld(seed: 11)
        let config = try rankConfig()
        let ranked = try OfflineEvaluation.run(store: s, testFraction: 0.2, k: 10, config: config)
        let byName = Dictionary(uniqueKeysWithValues: ranked.rows.map { ($0.system, $0.metrics) })
        let cascade = try #require(byName["cascade"]), recall = try #require(byName["recall"])
        #expect(cascade != recall, "the ranked pages differ from the recall order")
        var none = config
        none.rank.enabled = false
        let plain = try OfflineEvaluation.run(store: s, testFraction: 0.2, k: 10, config: none)
        #expect(!plain.rows.contains { $0.system == "recall" })
        #expect(plain.rows.first { $0.system == "cascade" }?.metrics == recall)
        #expect(try s.activeArtifact(name: "rank") == nil, "evaluation publishes nothing")
    }
}

@Suite struct PreRankFidelityTests {
    /// The distilled pre-ranker keeps more of the ranker's favourites than chance would (300 of
    /// 1,000 candidates keep 30% of any 50), and keeping every candidate keeps them all.
    @Test func theDistilledPreRankerBeatsChanceAndAFullCutKeepsAll() throws {
        let store = try impressionWorld(seed: 8)
        let config = try rankConfig()
        let ids = try store.idSnapshot()
        let log = try store.loadEventLog()
        let fitted = try #require(try RankTraining.fit(log: log, registry: try store.eventTypes(),
                                                       attributes: try RankAttributes.load(store: store, ids: ids),
                                                       userCount: ids.users.count, config: config.rank))
        let reported = try #require(fitted.preRankFidelity)
        #expect(reported.kept > 0 && reported.kept <= 1)
        let pre = try #require(fitted.preRanker)
        let fusion = try OnlineRanker.compile(config.rank.fusion, tasks: fitted.tasks)
        let records = RankTraining.records(log: log, registry: try store.eventTypes(), maxSamples: 1_000)
        let f = try #require(try PreRankFidelity.measure(ranker: fitted.model, preRanker: pre, pipeline: fitted.pipeline,
                                                         attributes: fitted.attributes, fusion: fusion, log: log, registry: try store.eventTypes(), userCount: ids.users.count,
                                                         heldOut: (records.users, records.items, records.timestamps),
                                                         requests: 30, candidates: 200, rankTop: 20, preTop: 60))
        #expect(f.candidates == 200)
        #expect(f.kept > 0.3 + 0.15, "kept \(f.kept) of the top 20 in the top 60 of 200 (chance: 0.3)")
        let all = try #require(try PreRankFidelity.measure(ranker: fitted.model, preRanker: pre, pipeline: fitted.pipeline,
                                                           attributes: fitted.attributes, fusion: fusion, log: log, registry: try store.eventTypes(), userCount: ids.users.count,
                                                           heldOut: (records.users, records.items, records.timestamps),
                                                           requests: 10, candidates: 60, rankTop: 10, preTop: 60))
        #expect(all.kept == 1)
    }
}
