import CascadeEngine
import CascadeCore
import CascadeStore
import CascadeExperiment
import CascadeRecall
import CascadeSim
import Foundation

/// A closed-loop A/B test on a simulated world: the funnel is trained on the world's logged
/// history, then for a number of rounds every simulated user is assigned to arms by the
/// experiment config, served a page by the funnel configured for their arms, and responds with
/// clicks, likes, shares, watches, completions and dislikes drawn from the simulator's true
/// probabilities. The report per arm is the one ``ExperimentReport`` computes from logged events,
/// beside what the simulator knows exactly: each arm's expected CTR and north star, so a
/// measured difference can be checked against the true one.
///
/// The response follows ``GroundTruth``: the user looks at slot `k` with probability `e(k)`,
/// then clicks with the true click probability at the time of the request; after a click the
/// follow-ups are drawn from their conditional probabilities, a watch of the expected length
/// is logged, and an examined, unclicked item draws a dislike with the model's rate. Each
/// round is a day after the previous one; items shown in earlier rounds are kept out as the
/// exposure filter would, and what a user did enters their history for the next round.
public enum ABSimulation {
    public struct Parameters: Sendable {
        public var rounds = 3
        public var pageSize = 10
        /// Serve the users `u1 ... uN` (nil: every user of the world).
        public var users: Int?
        /// Seed of the response draws (the world has its own).
        public var seed: UInt64 = 1
        public var secondsBetweenRounds: Double = 86_400
        public var metric: ReportMetric = .northstar
        public var northStar: NorthStar = .weighted
        public init() {}
    }

    /// What the simulator knows about the pages served to a group of users.
    public struct Truth: Sendable, Equatable {
        public var users = 0
        public var impressions = 0.0
        /// Sum over impressions of the true click probability at their slot.
        public var expectedClicks = 0.0
        /// Sum over impressions of the expected event-type weights (the weighted north star).
        public var expectedWeighted = 0.0
        /// Sum over impressions of the expected seconds watched.
        public var expectedSeconds = 0.0

        public var expectedCTR: Double { impressions > 0 ? expectedClicks / impressions : .nan }
        /// Expected north star per user.
        public func expectedNorthStar(_ n: NorthStar) -> Double {
            guard users > 0 else { return .nan }
            return (n == .weighted ? expectedWeighted : expectedSeconds) / Double(users)
        }

        mutating func add(_ o: Truth) {
            users += o.users
            impressions += o.impressions
            expectedClicks += o.expectedClicks
            expectedWeighted += o.expectedWeighted
            expectedSeconds += o.expectedSeconds
        }
    }

    public struct Result: Sendable {
        public var rows: [ArmReport]
        /// Truth per row, in the order of `rows`.
        public var truth: [Truth]
        /// Per row, the truth of the oracle pages of the same requests: for each request, the
        /// page of the items the arm could have shown (not filtered, not yet shown to the user)
        /// with the highest true expected north star, best at the top slot.
        public var oracle: [Truth]
        /// Every event the loop produced (impressions and responses), by user and time.
        public var events: [Event]
        public var parameters: Parameters
        public var trainSeconds: Double
        public var serveSeconds: Double
        public var requests: Int

        /// Row `k` as `key=value` fields, the simulator's truth appended (`true_ctr`,
        /// `true_northstar`, the oracle's `oracle_ctr`, `oracle_northstar` and
        /// `oracle_ratio` = true_ctr / oracle_ctr).
        public func line(_ k: Int) -> String {
            func f(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "nan" }
            let o = k < oracle.count ? oracle[k] : Truth()
            return ExperimentReport.line(rows[k], metric: parameters.metric, extra: [
                ("true_ctr", f(truth[k].expectedCTR)), ("true_northstar", f(truth[k].expectedNorthStar(parameters.northStar))),
                ("oracle_ctr", f(o.expectedCTR)), ("oracle_northstar", f(o.expectedNorthStar(parameters.northStar))),
                ("oracle_ratio", f(truth[k].expectedCTR / o.expectedCTR)),
            ])
        }
    }

    /// Trains on `world.log`, serves `parameters.rounds` rounds and reports per arm.
    /// Channels named by an arm's `quota.<channel>` are trained too (the arms without it do not
    /// ask them). Throws when an arm's overrides do not apply to `base`.
    public static func run(world: SimulatedWorld, experiments: ExperimentConfig, base: FunnelConfig = FunnelConfig(),
                           parameters p: Parameters = Parameters(), progress: ((String) -> Void)? = nil) throws -> Result {
        guard p.rounds >= 1, p.pageSize >= 1 else {
            throw CascadeError.invalid("A/B simulation: rounds and page size must be at least 1, got \(p.rounds) and \(p.pageSize)")
        }
        let funnels = try SimulatedFunnels(world: world, experiments: experiments, base: base, progress: progress)
        return try run(funnels, experiments: experiments, parameters: p, progress: progress)
    }

    /// The closed loop on funnels already trained.
    static func run(_ funnels: SimulatedFunnels, experiments: ExperimentConfig, parameters p: Parameters,
                    progress: ((String) -> Void)?) throws -> Result {
        let world = funnels.world
        let trainSeconds = funnels.trainSeconds
        let served = min(p.users ?? world.users.count, world.users.count)
        let plan = try (0..<served).map { u in try funnels.recommender(experiments.assign(user: world.users[u].id).overrides) }

        progress?("serve")
        let t1 = Date()
        let index = world.log.indexByUser(userCount: world.users.count)
        // The statistics counters as the store holds them at the end of the logged period; each
        // user's own events in the loop are added on top (other users' are not: users are served
        // independently).
        let counters = funnels.counters()
        let slots = ConcurrentSlots<(UserOutcome, Truth, Truth, [Event], [LoggedRequest])>(count: served, initial: (UserOutcome(), Truth(), Truth(), [], []))
        Parallel.forRanges(served, minimumChunk: 8) { range in
            for u in range {
                slots.set(u, serve(user: u, world: world, recommender: plan[u], index: index, parameters: p, counters: counters))
            }
        }
        let serveSeconds = Date().timeIntervalSince(t1)
        let results = slots.values

        var outcomes: [String: UserOutcome] = [:]
        var truthByGroup: [String: Truth] = [:]
        var oracleByGroup: [String: Truth] = [:]
        var events: [Event] = []
        for u in 0..<served {
            let id = world.users[u].id
            let (outcome, truth, oracle, userEvents, _) = results[u]
            outcomes[id] = outcome
            events += userEvents
            let a = experiments.assign(user: id, includeStopped: true)
            var keys = a.arms.map(\.description)
            if experiments.holdout != nil { keys.append(a.holdout ? "holdout:holdout:holdout" : "holdout:holdout:exposed") }
            for k in keys {
                truthByGroup[k, default: Truth()].add(truth)
                oracleByGroup[k, default: Truth()].add(oracle)
            }
        }
        let rows = ExperimentReport.rows(config: experiments, outcomes: outcomes, metric: p.metric, northStar: p.northStar)
        let truth = rows.map { truthByGroup["\($0.layer):\($0.experiment):\($0.arm)"] ?? Truth() }
        let oracle = rows.map { oracleByGroup["\($0.layer):\($0.experiment):\($0.arm)"] ?? Truth() }
        return Result(rows: rows, truth: truth, oracle: oracle, events: events, parameters: p, trainSeconds: trainSeconds,
                      serveSeconds: serveSeconds, requests: served * p.rounds)
    }

    /// Serves every round to user `u` and draws their responses.
    /// With `exploration`, the page is drawn by ``EpsilonExploration`` around the recommender's
    /// ranking, and every request also yields its logged page and the targets' pages with their
    /// truth (``LoggedRequest``) for counterfactual estimates.
    static func serve(user u: Int, world: SimulatedWorld, recommender rec: Recommender,
                      index: (offsets: [Int], events: [Int]), parameters p: Parameters,
                      counters: CounterTable? = nil, exploration: Exploration? = nil) -> (UserOutcome, Truth, Truth, [Event], [LoggedRequest]) {
        let log = world.log
        let registry = world.registry
        let weights = registry.weightsByCode
        let impression = registry.code(of: .impression) ?? 0
        let id = world.users[u].id
        // The user's logged history, newest first.
        var history: [HistoryEvent] = []
        var q = index.offsets[u + 1] - 1
        while q >= index.offsets[u] {
            let e = index.events[q]
            history.append(HistoryEvent(item: log.items[e], type: log.types[e], timestamp: log.timestamps[e]))
            q -= 1
        }
        var shown: Set<Int32> = []
        var outcome = UserOutcome()
        var truth = Truth()
        truth.users = 1
        var oracle = Truth()
        oracle.users = 1
        var events: [Event] = []
        var requests: [LoggedRequest] = []
        let location = world.users[u].location
        let exposureWindow = 7 * 86_400.0
        var ownCounters = CounterTable()
        let counterAttributes = rec.funnel.ranker?.attributes.counters?.attributes ?? []
        for round in 0..<p.rounds {
            var rng = Xoshiro256(seed: p.seed, stream: UInt64(round), index: UInt64(u))
            // Users come back at different hours of the day.
            let now = world.config.end + Double(round) * p.secondsBetweenRounds + Double(u % 24) * 3_600
            let recent = Array(history.prefix(rec.funnel.config.historyLength))
            var filter = rec.filter(history: recent, now: now)
            filter.seen.formUnion(shown)
            for h in recent where h.type == impression && h.timestamp >= now - exposureWindow { filter.seen.insert(h.item) }
            let ctx = RecallContext(user: Int32(u), history: recent, location: location, now: now,
                                    counters: counters.map { CombinedCounters([$0, ownCounters]) })
            var page = rec.funnel.run(ctx, n: p.pageSize + (exploration?.pool ?? 0), filter: filter, trace: false).recommendations.map(\.item)
            var request: LoggedRequest?
            if let x = exploration {
                request = x.request(ranked: page, context: ctx, filter: filter, world: world, pageSize: p.pageSize,
                                    seed: p.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(round) &* 1_000_003 &+ UInt64(u))
                page = request!.logged.items
            }
            oracle.add(oraclePage(user: Int32(u), world: world, filter: filter, now: now, parameters: p))
            var new: [HistoryEvent] = []
            // An exploring run's events name their page (request id), as a client of the API sends them back.
            let requestId = request.map { _ in "sim-\(u)-\(round)" }
            func record(_ type: EventType, _ item: Int32, _ t: Double, value: Double? = nil, position: Int? = nil) {
                guard let code = registry.code(of: type) else { return }
                events.append(Event(user: id, item: world.items[Int(item)].id, type: type, timestamp: t, value: value,
                                    request: requestId, position: position))
                outcome.add(type: type, weight: weights[Int(code)], value: value)
                new.append(HistoryEvent(item: item, type: code, timestamp: t))
                if counters != nil {
                    ownCounters.add(user: Int32(u), item: item, attributes: CounterAttributes.of(item, in: counterAttributes),
                                    type: type.name, value: value, timestamp: t)
                }
            }
            var clicked = [Double](repeating: 0, count: page.count)
            for (k, item) in page.enumerated() {
                let t = now + Double(k)
                shown.insert(item)
                let e = world.expectedEngagement(user: Int32(u), item: item, at: now)
                let look = Double(world.positionBias(position: k))
                truth.impressions += 1
                truth.expectedClicks += look * Double(e.click)
                truth.expectedWeighted += look * Double(e.value)
                truth.expectedSeconds += look * Double(e.click) * Double(e.expectedWatchSeconds)
                record(.impression, item, t, position: k)
                guard rng.uniform() < look else { continue }
                if rng.chance(e.click) {
                    clicked[k] = 1
                    record(.click, item, t + 0.1)
                    record(.watch, item, t + 0.2, value: Double(e.expectedWatchSeconds))
                    if rng.chance(e.likeGivenClick) { record(.like, item, t + 0.3) }
                    if rng.chance(e.favoriteGivenClick) { record(.favorite, item, t + 0.4) }
                    if rng.chance(e.shareGivenClick) { record(.share, item, t + 0.5) }
                    if rng.chance(e.commentGivenClick) { record(.comment, item, t + 0.6) }
                    if rng.chance(e.followGivenClick) { record(.followAuthor, item, t + 0.7) }
                    if rng.chance(e.finishGivenClick) { record(.completion, item, t + 0.8) }
                } else if e.click < 1, rng.chance(e.dislike / (1 - e.click)) {
                    record(.dislike, item, t + 0.1)
                }
            }
            history.insert(contentsOf: new.reversed(), at: 0)
            if var r = request {
                r.logged.clicks = clicked
                r.page = ServedPage(request: requestId!, user: id, timestamp: now, items: page.map { world.items[Int($0)].id },
                                    propensities: r.logged.inclusion)
                requests.append(r)
            }
        }
        return (outcome, truth, oracle, events, requests)
    }

    /// The truth of the best page one request could get: among the items `filter` allows and
    /// published by `now`, the `pageSize` with the highest true expected north star (weighted
    /// events, or seconds watched), placed best first, which is optimal under a position bias
    /// that falls with the slot. O(items * dimension + items log pageSize).
    static func oraclePage(user: Int32, world: SimulatedWorld, filter: CandidateFilter, now: Double, parameters p: Parameters) -> Truth {
        var top = TopK(p.pageSize)
        for (i, item) in world.items.enumerated() where filter.allows(Int32(i)) && (item.publishedAt ?? now) <= now {
            let e = world.expectedEngagement(user: user, item: Int32(i), at: now)
            top.push(Int32(i), p.northStar == .weighted ? e.value : e.click * e.expectedWatchSeconds)
        }
        var t = Truth()
        for (k, entry) in top.sorted().enumerated() {
            let e = world.expectedEngagement(user: user, item: entry.id, at: now)
            let look = Double(world.positionBias(position: k))
            t.impressions += 1
            t.expectedClicks += look * Double(e.click)
            t.expectedWeighted += look * Double(e.value)
            t.expectedSeconds += look * Double(e.click) * Double(e.expectedWatchSeconds)
        }
        return t
    }
}
