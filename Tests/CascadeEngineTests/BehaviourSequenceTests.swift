import CascadeCore
@testable import CascadeEngine
import CascadeRank
import CascadeRecall
import CascadeSim
import CascadeTensor
import Foundation
import Testing

@Suite struct BehaviourSequenceTests {
    /// A simulated world's impressions as ranker rows, the pipeline fitted on them, and the
    /// served ranker (untrained: only its encoding is under test).
    static func setUp(length: Int) throws -> (SimulatedWorld, RankAttributes, FeaturePipeline, OnlineRanker, [Int]) {
        let world = SimulatedWorld.generate(SimConfig(users: 40, items: 300, events: 6_000, seed: 11))
        let log = world.log, reg = world.registry
        var attributes = try RankAttributes.load(users: world.users, items: world.items, ids: (world.userIdMap(), world.itemIdMap()),
                                                 registry: reg)
        attributes.behaviour = BehaviourSequence(registry: reg, length: length)
        attributes.counters = nil
        let impression = reg.code(of: .impression)!
        let rows = (0..<log.count).filter { log.types[$0] == impression }
        let frame = attributes.frame(users: rows.map { log.users[$0] }, items: rows.map { log.items[$0] },
                                     timestamps: rows.map { log.timestamps[$0] },
                                     context: attributes.history!.values(log: log, rows: rows, userCount: world.users.count))
        let pipeline = try FeaturePipeline(config: attributes.featureConfig(), fitOn: frame)
        var mc = RankModelParameters()
        mc.tasks = ["click"]
        mc.embeddingDim = 4
        mc.hidden = [8]
        mc.experts = 2
        mc.expertHidden = [8]
        let model = try RankModelRegistry.make("dcnv2-mmoe", pipeline: pipeline, parameters: mc)
        let ranker = try OnlineRanker(model: model, pipeline: pipeline, preRanker: nil, attributes: attributes, config: RankStageConfig(),
                                      versions: (1, nil))
        return (world, attributes, pipeline, ranker, rows)
    }

    /// What the ranker is served (the request's history, newest first, through the per-item
    /// table and through the full encode) equals what it was trained on (the log indexed point
    /// in time), step for step, for impressions across a simulated world.
    @Test func servedSequenceEqualsItsTrainingReconstruction() throws {
        let (world, attributes, pipeline, ranker, rows) = try Self.setUp(length: 6)
        let log = world.log
        #expect(ranker.rankUsesBehaviour && ranker.encoder != nil)
        let behaviour = try attributes.behaviour!.history(log: log, category: attributes.itemColumns["item_category"], pipeline: pipeline)
        var nonEmpty = 0
        for q in [0.2, 0.5, 0.8, 0.95] {
            let e = rows[Int(Double(rows.count) * q)]
            let user = log.users[e], t = log.timestamps[e], item = log.items[e]
            let offline = try pipeline.encodeInputs(attributes.frame(users: [user], items: [item], timestamps: [t]), history: behaviour).histories[0]
            // The user's events before t, newest first, as a request reads them.
            let history = (0..<log.count).filter { log.users[$0] == user && log.timestamps[$0] < t }.reversed()
                .map { HistoryEvent(item: log.items[$0], type: log.types[$0], timestamp: log.timestamps[$0]) }
            let fast = try ranker.encode(user: user, items: [item, 7], now: t, history: Array(history)).histories[0]
            let frame = attributes.frame(users: [user, user], items: [item, 7], timestamps: [t, t])
            let full = try pipeline.encodeInputs(frame, history: attributes.behaviour!.history(user: user, events: Array(history),
                                                                                        category: attributes.itemColumns["item_category"],
                                                                                        pipeline: pipeline)).histories[0]
            for served in [fast, full] {
                let n = served.length
                #expect(Array(served.ids.toArray().prefix(n)) == offline.ids.toArray(), "impression \(e)")
                #expect(Array(served.mask.toArray().prefix(n)) == offline.mask.toArray())
                #expect(Array(served.timeBuckets.toArray().prefix(n)) == offline.timeBuckets.toArray())
                #expect(Array(served.side!.toArray().prefix(n)) == offline.side!.toArray())
                #expect(served.candidate.toArray()[0] == offline.candidate.toArray()[0])
                #expect(served.candidateSide!.toArray()[0] == offline.candidateSide!.toArray()[0])
                // Every candidate of the request sees the same sequence.
                #expect(Array(served.ids.toArray().suffix(n)) == offline.ids.toArray())
            }
            if offline.mask.toArray().contains(1) { nonEmpty += 1 }
        }
        #expect(nonEmpty >= 3)
    }

    /// By hand: positives only (no impression), the newest first, each item once, nothing at or
    /// after the request time, at most `length` steps.
    @Test func aHandWrittenHistory() throws {
        let (world, _, pipeline, ranker, _) = try Self.setUp(length: 3)
        let reg = world.registry
        let click = reg.code(of: .click)!, like = reg.code(of: .like)!, impression = reg.code(of: .impression)!
        let history = [
            HistoryEvent(item: 9, type: click, timestamp: 200),       // at the request time: not yet
            HistoryEvent(item: 3, type: click, timestamp: 130),
            HistoryEvent(item: 4, type: impression, timestamp: 120),  // not a positive
            HistoryEvent(item: 5, type: like, timestamp: 110),
            HistoryEvent(item: 3, type: click, timestamp: 100),       // seen already
            HistoryEvent(item: 6, type: click, timestamp: 90),
            HistoryEvent(item: 8, type: click, timestamp: 80),        // beyond the length
        ]
        let h = try ranker.encode(user: 0, items: [1], now: 200, history: history).histories[0]
        let itemId = { (i: Int) in try pipeline.encodeInputs(ranker.attributes.frame(users: [0], items: [Int32(i)], timestamps: [200]),
                                                      history: InteractionHistory()).histories[0].candidate.toArray()[0] }
        #expect(h.ids.toArray() == [try itemId(3), try itemId(5), try itemId(6)])
        #expect(h.mask.toArray() == [1, 1, 1])
        #expect(h.timeBuckets.toArray() == [EncodedBatch.History.timeBucket(gapSeconds: 70), EncodedBatch.History.timeBucket(gapSeconds: 90),
                                            EncodedBatch.History.timeBucket(gapSeconds: 110)])
        // No user: an empty sequence.
        #expect(try ranker.encode(user: nil, items: [1], now: 200, history: history).histories[0].mask.toArray() == [0, 0, 0])
    }

    /// Trained through the engine with a behaviour sequence, published, reloaded and served: the
    /// reloaded ranker reads the sequence, and a user's new positive changes their scores
    /// without retraining.
    @Test func aRankerWithBehaviourTrainsPublishesAndServes() throws {
        let store = try impressionWorld(seed: 6)
        var config = try rankConfig(preRankLimit: 40)
        config.rank.behaviourLength = 8
        config.rank.parameters.attentionHidden = [8]
        let report = try Trainer.train(store: store, config: config)
        #expect(report.rank != nil)
        let rec = try Recommender.load(store: store, config: config)
        let ranker = try #require(rec.funnel.ranker)
        #expect(ranker.rankUsesBehaviour)
        #expect(ranker.pipeline.sequenceFeatures.map(\.name) == [BehaviourSequence.featureName])
        let page = try rec.run(user: "u5", n: 10, store: store, now: 2e9)
        #expect(page.recommendations.count == 10 && page.degraded.isEmpty)
        let items = (0..<20).map { Int32($0) }
        let before = try ranker.model.predict(ranker.encode(user: 5, items: items, now: 2e9, history: []))
        let click = try store.eventTypes().code(of: .click)!
        let after = try ranker.model.predict(ranker.encode(user: 5, items: items, now: 2e9,
                                                           history: [HistoryEvent(item: 3, type: click, timestamp: 2e9 - 60)]))
        #expect(zip(before, after).contains { $0[0] != $1[0] }, "the sequence reaches the scores")
        // The incremental refresh continues it on the window's impressions, sequences included.
        let refreshed = try #require(try Trainer.refresh(store: store, config: config, days: 2).rankRefresh)
        #expect(refreshed.samples > 0 && (refreshed.aucBefore["click"] ?? 0) > 0.5)
        #expect(try Recommender.load(store: store, config: config).funnel.ranker?.rankUsesBehaviour == true)
    }
}
