import CascadeCore
import CascadeEngine
import CascadeLab
import CascadeRank
import CascadeRecall
import CascadeRerank
import CascadeSim
import CascadeStore
import Foundation
import Testing

/// A small simulated world with logged impressions, written to a store.
func impressionWorld(seed: UInt64 = 3) throws -> SQLiteStore {
    var c = SimConfig(users: 150, items: 400, events: 10_000, seed: seed, authors: 30)
    c.cities = 3
    c.topCategories = 5
    c.subcategoriesPerTop = 4
    c.policy.popularPoolSize = 40
    let store = try SQLiteStore()
    try SimulationLoader.write(SimulatedWorld.generate(c), to: store)
    return store
}

func rankConfig(preRankLimit: Int = 300) throws -> FunnelConfig {
    var config = try FunnelConfig().restricted(to: ["itemcf", "als", "popular", "trending"])
    config.rank.epochs = 1
    config.rank.minImpressions = 100
    config.rank.parameters.hidden = [32]
    config.rank.parameters.expertHidden = [16]
    config.rank.preRankLimit = preRankLimit
    config.rank.rankLimit = 30
    return config
}

@Suite struct RankStageTests {
    @Test func trainedRankerOrdersThePageByFusedScoreWithATracePerItem() throws {
        let store = try impressionWorld()
        let config = try rankConfig(preRankLimit: 40)
        let report = try Trainer.train(store: store, config: config)
        let rank = try #require(report.rank)
        #expect(rank.samples >= 100 && rank.tasks.first == "click")
        #expect(report.versions["rank"] == 1 && report.versions["prerank"] == 1)
        // Each task is calibrated on held-out impressions, reported on others, and served.
        #expect(rank.calibration.map(\.task) == rank.tasks)
        // Probabilities get a logloss; watch time (seconds) a ratio of means only.
        #expect(rank.calibration.allSatisfy { $0.rows > 0 && ($0.task == "watch_time" ? ($0.ratioAfter ?? .nan).isFinite : $0.logLossAfter.isFinite) })
        #expect(rank.tasks.contains("watch_time"), "the world logs watch events: the ranker learns watch time")
        let rec = try Recommender.load(store: store, config: config)
        let ranker = try #require(rec.funnel.ranker)
        #expect(ranker.preRanker != nil)
        #expect(ranker.calibration?.tasks == ranker.model.tasks)
        let result = try rec.run(user: "u5", n: 10, store: store, now: 2e9)
        #expect(result.recommendations.count == 10)
        #expect(result.degraded.isEmpty)
        let names = result.stages.map(\.stage)
        #expect(names == ["merge", "prerank", "features", "rank", "fuse"], "\(names)")
        let pre = result.stages[1], ranked = result.stages[3]
        #expect(pre.candidatesIn == result.merged && pre.candidatesOut == 40 && ranked.candidatesIn == 40)
        var last = Double.infinity
        for (k, r) in result.recommendations.enumerated() {
            let t = try #require(r.trace)
            #expect(t.rankRank == k + 1, "the page is the fused order")
            #expect(t.recallRank >= 1 && t.preRankRank != nil)
            let fused = try #require(t.fusedScore)
            #expect(fused <= last)
            last = fused
            #expect(Set(t.taskScores?.keys.map { $0 } ?? []) == Set(ranker.model.tasks))
            // Calibrated probabilities in [0, 1] (a calibrator may map the lowest scores to 0);
            // watch time in expected seconds.
            for (task, score) in t.taskScores! {
                #expect(task == "watch_time" ? score >= 0 && score.isFinite : (0...1).contains(score), "\(task): \(score)")
            }
            // The fused score is the configured weighted sum of the task probabilities.
            let expected = ranker.model.tasks.reduce(0.0) { s, task in
                s + (config.rank.fusion.terms.first { $0.task == task }?.weight ?? 0) * Double(t.taskScores![task]!)
            }
            #expect(abs(expected - fused) < 1e-5)
        }
        // Without the trace (a request without debug): the same page, no per-item record.
        let history = try store.lastEvents(user: "u5", limit: 500, types: nil).map {
            HistoryEvent(item: rec.items.index(of: $0.item)!, type: try store.eventTypes().code(of: $0.type)!, timestamp: $0.timestamp)
        }
        let traced = rec.run(user: "u5", history: history, n: 10, now: 2e9)
        let plain = rec.run(user: "u5", history: history, n: 10, now: 2e9, trace: false)
        #expect(plain.recommendations.map(\.item) == traced.recommendations.map(\.item))
        #expect(plain.recommendations.map(\.score) == traced.recommendations.map(\.score))
        #expect(plain.recommendations.allSatisfy { $0.trace == nil } && traced.recommendations.allSatisfy { $0.trace != nil })
    }

    @Test func seenAndHiddenItemsStayOutAfterRanking() throws {
        let store = try impressionWorld(seed: 4)
        let config = try rankConfig()
        try Trainer.train(store: store, config: config)
        var rec = try Recommender.load(store: store, config: config)
        let first = try rec.recommend(user: "u9", n: 10, store: store, now: 2e9)
        let top = rec.items.external(first[0].item)
        try store.setItemHidden(top, hidden: true)
        try store.appendEvents([Event(user: "u9", item: rec.items.external(first[1].item), type: .click, timestamp: 1_780_000_000)])
        rec = try Recommender.load(store: store, config: config)
        let again = try rec.recommend(user: "u9", n: 30, store: store, now: 2e9).map { rec.items.external($0.item) }
        #expect(!again.contains(top) && !again.contains(rec.items.external(first[1].item)))
    }

    @Test func anUnreadableRankerIsSkippedAndThePageStillServed() throws {
        let store = try impressionWorld(seed: 5)
        var config = try rankConfig()
        config.rank.enabled = false
        try Trainer.train(store: store, config: config)
        try store.putArtifact(name: "rank", manifest: ["kind": "rank"], blob: Data("not an archive".utf8), activate: true)
        let rec = try Recommender.load(store: store, config: try rankConfig())
        #expect(rec.funnel.ranker == nil)
        let result = try rec.run(user: "u5", n: 5, store: store, now: 2e9)
        #expect(result.recommendations.count == 5)
        #expect(!result.stages.contains { $0.stage == "rank" })
    }

    /// `train --rank none` means recall order: an earlier ranker and pre-ranker stop being served.
    @Test func trainingWithNoRankerDeactivatesTheEarlierOne() throws {
        let store = try impressionWorld(seed: 6)
        let config = try rankConfig()
        try Trainer.train(store: store, config: config)
        #expect(try Recommender.load(store: store, config: config).funnel.ranker != nil)
        var none = config
        none.rank.enabled = false
        let report = try Trainer.train(store: store, config: none)
        #expect(report.deactivated.sorted() == ["prerank", "rank"])
        #expect(try store.activeArtifact(name: "rank") == nil && store.activeArtifact(name: "prerank") == nil)
        #expect(try store.artifactVersions(name: "rank").count == 1, "versions stay in the registry")
        #expect(try Recommender.load(store: store, config: config).funnel.ranker == nil)
        #expect(try FunnelConfig.activeVersions(store: store)["rank"] == nil, "servers see the change at their next reload")
        // Training a ranker again activates a new version.
        try Trainer.train(store: store, config: config)
        #expect(try store.activeArtifact(name: "rank")?.info.version == 2)
    }

    /// The ranker's training settings reach it from the funnel config (what `train --rank-*` sets).
    @Test func rankerTrainingOptionsApplyAndBadOnesAreRefused() throws {
        let store = try impressionWorld(seed: 9)
        var config = try rankConfig()
        config.rank.weightAverageDecay = 0.99
        config.rank.embeddingL2 = 0.001
        config.rank.parameters.dropout = 0.1
        config.rank.idDropout = ["user": 0.1]
        let report = try Trainer.train(store: store, config: config)
        #expect(report.rank != nil)
        config.rank.idDropout = ["no_such_feature": 0.1]
        #expect(throws: (any Error).self) { try Trainer.train(store: store, config: config) }
        #expect(try store.artifactVersions(name: "rank").count == 1, "a refused setting publishes nothing")
    }

    @Test func tooFewImpressionsTrainNoRanker() throws {
        let store = try groupWorld()
        let report = try Trainer.train(store: store)
        #expect(report.rank == nil && report.versions["rank"] == nil)
        #expect(try Recommender.load(store: store).funnel.ranker == nil)
    }

    @Test func impressionLabelsComeFromLaterPositivesOfTheSamePair() {
        var log = EventLog()
        let reg = EventTypeRegistry()
        func add(_ u: Int32, _ i: Int32, _ t: EventType, _ ts: Double) {
            log.users.append(u); log.items.append(i); log.types.append(reg.code(of: t)!); log.timestamps.append(ts); log.values.append(.nan)
        }
        add(0, 1, .impression, 100); add(0, 1, .click, 105); add(0, 1, .like, 106)
        add(0, 2, .impression, 100)                                   // never clicked
        add(1, 1, .impression, 100); add(1, 1, .click, 100 + 2 * 86_400)  // too late
        add(1, 3, .impression, 200); add(1, 3, .completion, 230)
        let r = RankTraining.records(log: log, registry: reg, maxSamples: 10)
        #expect(r.count == 4)
        #expect(r.clicked == [true, false, false, true])
        #expect(r.liked == [true, false, false, false])
        #expect(r.finished == [false, false, false, true])
        #expect(RankTraining.records(log: log, registry: reg, maxSamples: 1).timestamps == [200], "the most recent impressions are kept")
    }
}

@Suite struct RerankRulesStageTests {
    @Test func categoryRulesHoldOnEveryPageAndExplorationIsSeeded() throws {
        let store = try impressionWorld(seed: 6)
        var config = try rankConfig()
        config.rank.enabled = false
        try Trainer.train(store: store, config: config)
        var rules = DiversityRules()
        rules.window = 3
        rules.maxPerCategory = 1
        rules.maxPerAuthor = 1
        config.rerank.rules = rules
        let rec = try Recommender.load(store: store, config: config)
        var plain = config
        plain.rerank.rules = nil
        let base = try Recommender.load(store: store, config: plain)
        var changed = 0
        for u in 0..<15 {
            let page = try rec.recommend(user: "u\(u)", n: 10, store: store, now: 2e9)
            #expect(page.count == 10)
            let cats = page.map { rec.catalog.category[Int($0.item)] }, authors = page.map { rec.catalog.author[Int($0.item)] }
            for k in 0..<(page.count - 2) {
                let c = cats[k..<(k + 3)].filter { $0 >= 0 }, a = authors[k..<(k + 3)].filter { $0 >= 0 }
                #expect(Set(c).count == c.count && Set(a).count == a.count, "user u\(u) window \(k): \(cats) \(authors)")
            }
            if try base.recommend(user: "u\(u)", n: 10, store: store, now: 2e9).map(\.item) != page.map(\.item) { changed += 1 }
        }
        #expect(changed > 0, "the rules never changed a page")
        // Exploration: the same user and hour get the same page; it differs from the sorted one.
        var explore = plain
        explore.rerank.explorationTemperature = 1
        let ex = try Recommender.load(store: store, config: explore)
        let a = try ex.recommend(user: "u3", n: 10, store: store, now: 2e9).map(\.item)
        #expect(try ex.recommend(user: "u3", n: 10, store: store, now: 2e9 + 60).map(\.item) == a)
        #expect(try base.recommend(user: "u3", n: 10, store: store, now: 2e9).map(\.item) != a)
        // Exploration with known propensities: top items keep 1 - epsilon, explored ones come
        // from the next 20 of the sorted order at 10 x 0.5 / 20; without it, no propensities.
        var epsilon = plain
        epsilon.rerank.exploreEpsilon = 0.5
        epsilon.rerank.explorePool = 20
        let eps = try Recommender.load(store: store, config: epsilon)
        let sorted = try base.recommend(user: "u4", n: 30, store: store, now: 2e9).map(\.item)
        #expect(try base.recommend(user: "u4", n: 10, store: store, now: 2e9).allSatisfy { $0.propensity == nil })
        var explored = 0
        for t in 0..<5 {
            let page = try eps.recommend(user: "u4", n: 10, store: store, now: 2e9 + Double(t))
            #expect(page.count == 10 && Set(page.map(\.item)).count == 10)
            for (k, r) in page.enumerated() {
                if r.item == sorted[k] { #expect(r.propensity == 0.5) } else {
                    #expect(r.propensity == 0.25 && sorted[10..<30].contains(r.item), "slot \(k): \(r.item) at \(String(describing: r.propensity))")
                    explored += 1
                }
            }
        }
        #expect(explored > 10 && explored < 40, "\(explored) of 50 slots explored")
    }
}
