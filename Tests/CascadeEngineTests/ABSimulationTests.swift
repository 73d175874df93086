import CascadeCore
import CascadeEngine
import CascadeLab
import CascadeExperiment
import CascadeSim
import CascadeStore
import Foundation
import Testing

@Suite struct ABSimulationTests {
    /// Two orthogonal layers served in one loop: in `recall` one arm loses every personal channel
    /// (only `popular` is left), in `aa` both arms are identical.
    static let config = """
        { "buckets": 100,
          "layers": [
            { "name": "recall", "experiments": [ { "name": "popular-only", "arms": [
              { "name": "control", "buckets": "0-49" },
              { "name": "popular", "buckets": "50-99", "overrides": {
                  "quota.itemcf": 0, "quota.swing": 0, "quota.usercf": 0, "quota.als": 0, "quota.author": 0,
                  "quota.geo": 0, "quota.fresh": 0, "quota.trending": 0 } } ] } ] },
            { "name": "aa", "experiments": [ { "name": "same", "arms": [
              { "name": "a1", "buckets": "0-49" }, { "name": "a2", "buckets": "50-99" } ] } ] } ] }
        """

    @Test func anObviouslyWorseArmIsMeasuredWorseAndAnAASplitIsNot() throws {
        let experiments = try ExperimentConfig.decode(Data(Self.config.utf8), allowedKeys: FunnelConfig.overrideKeys)
        // Enough history per user (about 130 events) for the personal channels to know their users.
        let world = SimulatedWorld.generate(SimConfig(users: 600, items: 2_000, events: 80_000, seed: 42))
        var p = ABSimulation.Parameters()
        p.rounds = 3
        p.metric = .ctr
        let r = try ABSimulation.run(world: world, experiments: experiments, parameters: p)
        #expect(r.rows.map(\.arm) == ["control", "popular", "a1", "a2"])
        #expect(r.requests == 600 * 3)
        #expect(r.rows[0].users + r.rows[1].users == 600 && r.rows[2].users + r.rows[3].users == 600)
        // Every request shows a full page, recorded as impressions.
        #expect(r.rows[0].impressions + r.rows[1].impressions == Double(600 * 3 * p.pageSize))

        let worse = try #require(r.rows[1].comparison)
        #expect(worse.delta.value < 0 && worse.delta.hi < 0 && worse.p < 0.05, "\(r.line(1))")
        // The simulator agrees: the popular-only pages are truly worse.
        #expect(r.truth[1].expectedCTR < r.truth[0].expectedCTR)
        // Measured CTR estimates the true one without bias: within three standard errors of it.
        for k in 0..<4 {
            let se = (r.rows[k].ctr.hi - r.rows[k].ctr.lo) / (2 * 1.96)
            #expect(abs(r.rows[k].ctr.value - r.truth[k].expectedCTR) < 3 * se, "\(r.line(k))")
        }
        // The oracle page of every request is the best page that request allowed: no arm's
        // true north star beats it, and its impressions are the arm's.
        for k in 0..<4 {
            #expect(r.oracle[k].impressions == r.truth[k].impressions)
            #expect(r.oracle[k].expectedWeighted >= r.truth[k].expectedWeighted, "\(r.line(k))")
            // One key=value field per space (what bench/rank-ab.sh and its readers parse), with
            // the fields they read as numbers.
            let fields = Dictionary(r.line(k).split(separator: " ").map { f -> (String, String) in
                let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
                return (kv[0], kv.count == 2 ? kv[1] : "")
            }, uniquingKeysWith: { a, _ in a })
            #expect(r.line(k).split(separator: " ").allSatisfy { $0.contains("=") }, "\(r.line(k))")
            for key in ["true_ctr", "true_northstar", "oracle_ctr", "oracle_northstar", "oracle_ratio", "ctr", "impressions"] {
                #expect(fields[key].flatMap(Double.init) != nil, "\(key) in \(r.line(k))")
            }
            #expect(fields["arm"]?.isEmpty == false && fields["experiment"]?.isEmpty == false)
        }
        #expect(r.oracle[0].expectedCTR > r.truth[0].expectedCTR, "\(r.line(0))")
        let aa = try #require(r.rows[3].comparison)
        #expect(aa.p > 0.01, "\(r.line(3))")
        // The loop's events reproduce the report through the store path.
        let outcomes = ExperimentReport.outcomes(of: r.events, registry: world.registry)
        #expect(ExperimentReport.rows(config: experiments, outcomes: outcomes, metric: .ctr) == r.rows)
    }

    /// The base funnel logs with exploration; each arm, estimated from that log alone, lands near
    /// its true CTR on the same requests, and the estimates order the arms as the truth does.
    @Test func armsEstimatedOfflineFromAnExploringLog() throws {
        let experiments = try ExperimentConfig.decode(Data("""
            { "buckets": 100, "layers": [ { "name": "l", "experiments": [ { "name": "ope", "arms": [
              { "name": "recall-order", "buckets": "0-49", "overrides": { "rank.enabled": false } },
              { "name": "ranked", "buckets": "50-99" } ] } ] } ] }
            """.utf8), allowedKeys: FunnelConfig.overrideKeys)
        let world = SimulatedWorld.generate(SimConfig(users: 300, items: 1_500, events: 40_000, seed: 42))
        var p = ABSimulation.Parameters()
        p.rounds = 2
        p.metric = .ctr
        var base = FunnelConfig()
        base.rank.epochs = 1
        base.rank.preRank = false
        let r = try ABSimulation.offPolicy(world: world, experiments: experiments, base: base, parameters: p, epsilon: 0.2, pool: 30)
        #expect(r.arms.map(\.arm) == ["recall-order", "ranked"])
        #expect(r.arms.allSatisfy { $0.estimate.requests == 300 * 2 && $0.estimate.impressions == 300 * 2 * p.pageSize })
        let ordered = r.arms[1], recall = r.arms[0]
        #expect(ordered.estimate.support > 0.95 && recall.estimate.support < ordered.estimate.support)
        #expect(abs(ordered.estimate.dr.value - ordered.trueCTR) < 0.1 * ordered.trueCTR, "\(ordered.line)")
        #expect(abs(recall.estimate.dr.value - recall.trueCTR) < 0.25 * recall.trueCTR, "\(recall.line)")
        #expect(ordered.trueCTR > recall.trueCTR && ordered.estimate.dr.value > recall.estimate.dr.value)
        // The truth paired on the same requests: ranked pages beat recall order, clearly.
        #expect(recall.pairedTruth == nil)
        let paired = try #require(ordered.pairedTruth)
        #expect(paired.delta.lo > 0 && paired.p < 0.001, "\(ordered.line)")
        #expect(ordered.line.split(separator: " ").allSatisfy { $0.contains("=") })
        // The learned position curve falls from the top, as the world's does.
        #expect(r.examination[0] == 1 || abs(r.examination[0] - 1) < 1e-9)
        #expect(r.examination[p.pageSize - 1] < 0.7, "\(r.examination)")
        // The curve measured on the explored slots alone falls too.
        let explored = try #require(r.exploredCurve)
        #expect(explored.eta > 0.1 && explored.curve[p.pageSize - 1] < 0.8, "\(explored)")
        // The loop's impressions carry their slots.
        let impressions = r.loop.events.filter { $0.type == .impression }
        #expect(!impressions.isEmpty && impressions.allSatisfy { ($0.position ?? -1) >= 0 && $0.position! < p.pageSize })
        #expect(throws: CascadeError.self) {
            try ABSimulation.offPolicy(world: world, experiments: experiments, parameters: p, epsilon: 0.2, pool: 5)
        }

        // The same log through a store, as a deployment keeps it: models trained on the world's
        // history, then the exploring run's events and served pages; `experiment estimate` reads them.
        let store = try SQLiteStore()
        try SimulationLoader.write(world, to: store)
        var trained = base
        trained.rank.positionBias = true
        _ = try Trainer.train(store: store, config: trained)
        try store.appendEvents(r.events)
        let start = world.config.end
        func refusal(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(refusal { _ = try LoggedPageEstimate.run(store: store, experiments: experiments, base: base, from: start, to: start + 1e7, pool: 30) }
            .contains("no served pages"))
        try store.appendPages(r.pages.map { var q = $0; q.propensities = nil; q.request += "-plain"; return q })
        #expect(refusal { _ = try LoggedPageEstimate.run(store: store, experiments: experiments, base: base, from: start, to: start + 1e7, pool: 30) }
            .contains("propensities"))
        try store.appendPages(r.pages)
        let e = try LoggedPageEstimate.run(store: store, experiments: experiments, base: base, from: start, to: start + 1e7, pool: 30)
        #expect(e.explored == r.pages.count && e.pages == 2 * r.pages.count && e.rows.map(\.arm) == ["recall-order", "ranked"])
        #expect(abs(e.rows[1].estimate.dr.value - ordered.trueCTR) < 0.15 * ordered.trueCTR, "\(e.rows[1].line) vs \(ordered.trueCTR)")
        #expect(e.rows[1].estimate.dr.value > e.rows[0].estimate.dr.value)
        // Models that learned from the window's events would leak its outcomes into the replay.
        _ = try Trainer.train(store: store, config: trained)
        #expect(refusal { _ = try LoggedPageEstimate.run(store: store, experiments: experiments, base: base, from: start, to: start + 1e7, pool: 30) }
            .contains("leak"))
    }

    @Test func badOverridesAreRejectedBeforeAnythingRuns() throws {
        let bad = try ExperimentConfig.decode(Data("""
            { "layers": [ { "name": "l", "experiments": [ { "name": "x", "kind": "launch", "arms": [ { "name": "on", "overrides": { "rerank.mode": "random" } } ] } ] } ] }
            """.utf8))
        let world = SimulatedWorld.generate(SimConfig(users: 20, items: 50, events: 500, seed: 1, authors: 5))
        #expect(throws: CascadeError.self) { try ABSimulation.run(world: world, experiments: bad) }
    }
}
