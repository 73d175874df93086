import CascadeCore
import CascadeEngine
import CascadeEval
import CascadeExperiment
import CascadeRecall
import CascadeRerank
import CascadeSim
import Foundation

/// An A/B test answered offline, checked against the truth: the base funnel serves every user
/// with epsilon exploration (``EpsilonExploration``: each slot, with probability epsilon, shows
/// one of the next `pool` candidates of its ranking, every shown item's inclusion propensity
/// logged), and each arm of the experiment is estimated from that log alone
/// (``OffPolicyEstimate``: IPS, SNIPS and doubly robust, per slot under the position-based
/// model). The direct model is the base ranker's calibrated click probability, recalibrated on the
/// exploring log (``DirectModelCalibration``); the position curve
/// is the one a position-debiased ranker learns from the world's log
/// (``PositionBiasTower``). Beside each estimate: the arm's true CTR on the very requests of the
/// log (its page for each, as the simulator scores it) and, from the closed loop in which the arm
/// serves its own users, its true CTR there.
extension ABSimulation {
    /// The exploring logging policy of one run and the arms estimated from its log.
    struct Exploration {
        var epsilon: Double
        var pool: Int
        var targets: [Recommender]
        var directModel: DirectModel

        /// The logged page drawn around `ranked` (clicks filled in once drawn) and each target's
        /// page for the same request with its direct-model predictions, support and truth.
        func request(ranked: [Int32], context: RecallContext, filter: CandidateFilter, world: SimulatedWorld,
                     pageSize: Int, seed: UInt64) -> LoggedRequest {
            let page = (try? EpsilonExploration.page(ranked: ranked, pageSize: pageSize, pool: pool, epsilon: epsilon, seed: seed))
                ?? EpsilonExploration.Page(unexplored: Array(ranked.prefix(pageSize)))
            var rankOf: [Int32: Int] = [:]
            for (r, i) in ranked.enumerated() { rankOf[i] = r }
            var pages: [OffPolicyEstimate.TargetPage] = [], truths: [Truth] = []
            for t in targets {
                let items = t.funnel.run(context, n: pageSize, filter: filter, trace: false).recommendations.map(\.item)
                var truth = Truth()
                truth.users = 1
                for (k, b) in items.enumerated() {
                    let e = world.expectedEngagement(user: context.user!, item: b, at: context.now)
                    let look = Double(world.positionBias(position: k))
                    truth.impressions += 1
                    truth.expectedClicks += look * Double(e.click)
                    truth.expectedWeighted += look * Double(e.value)
                    truth.expectedSeconds += look * Double(e.click) * Double(e.expectedWatchSeconds)
                }
                truths.append(truth)
                pages.append(OffPolicyEstimate.TargetPage(
                    items: items,
                    predicted: directModel.slotClicks(items, context: context, pageSize: pageSize),
                    supported: items.map { b in
                        EpsilonExploration.inclusion(rank: rankOf[b] ?? Int.max / 2, count: ranked.count, pageSize: pageSize,
                                                     pool: pool, epsilon: epsilon) > 0
                    }))
            }
            return LoggedRequest(logged: .init(items: page.items, clicks: [], inclusion: page.inclusion), explored: page.explored,
                                 loggedPredicted: directModel.slotClicks(page.items, context: context, pageSize: pageSize),
                                 targets: pages, truth: truths)
        }
    }

    /// One request of the exploring log: the page shown, and every target's page for it.
    struct LoggedRequest: Sendable {
        var logged: OffPolicyEstimate.LoggedPage
        /// Whether each logged slot explored (showed a pool item at random).
        var explored: [Bool] = []
        /// The direct model's click probability of each logged item at its slot.
        var loggedPredicted: [Double]
        var targets: [OffPolicyEstimate.TargetPage]
        var truth: [Truth]
        /// The page as the served-page log keeps it.
        var page: ServedPage?
    }

    /// One arm estimated offline, beside its truth.
    public struct ArmEstimate: Sendable {
        public var arm: String
        public var overrides: [String: String]
        public var estimate: OffPolicyEstimate.Result
        /// The arm's true CTR on the logged requests.
        public var trueCTR: Double
        /// The arm's true CTR in the closed loop where it serves its own users (nil when not run).
        public var loopTrueCTR: Double?
        /// The arm's true CTR minus the first arm's, paired on the same requests: per user, the
        /// difference of the two pages' true CTR over that user's requests; the mean over users
        /// with its 95% t interval and two-sided p (nil for the first arm). Pairing removes the
        /// users' own spread, which the closed loop's arm-against-arm comparison carries.
        public var pairedTruth: Comparison?

        /// `key=value` fields: the arm, its truths, the three estimates (DR with its interval),
        /// the direct model alone, the effective sample size and the support.
        public var line: String {
            func f(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "nan" }
            let e = estimate
            let paired = pairedTruth.map { c in
                "true_delta=\(String(format: "%.5f", c.delta.value)) true_delta_lo=\(String(format: "%.5f", c.delta.lo)) "
                    + "true_delta_hi=\(String(format: "%.5f", c.delta.hi)) true_p=\(String(format: "%.3g", c.p)) "
            } ?? "true_delta=- true_delta_lo=- true_delta_hi=- true_p=- "
            return "arm=\(arm) true_ctr=\(f(trueCTR)) loop_true_ctr=\(loopTrueCTR.map(f) ?? "-") " + paired
                + "ips=\(f(e.ips.value)) snips=\(f(e.snips.value)) "
                + "dr=\(f(e.dr.value)) dr_lo=\(f(e.dr.low)) dr_hi=\(f(e.dr.high)) dm=\(f(e.directModel)) "
                + "ess=\(String(format: "%.0f", e.effectiveSampleSize)) support=\(f(e.support)) requests=\(e.requests)"
        }
    }

    public struct OffPolicyResult: Sendable {
        /// The closed loop of the arms (each serving its own users).
        public var loop: Result
        public var arms: [ArmEstimate]
        /// The exploring logging policy's measured and true CTR.
        public var loggedCTR: Double
        public var loggedTrueCTR: Double
        /// The position curve measured on the exploring log's randomised slots alone
        /// (``PositionCurveEstimate``; nil with too few clicks on them).
        public var exploredCurve: PositionCurveEstimate.Result?
        /// The learned examination curve the estimates used (relative to the top slot).
        public var examination: [Double]
        /// The exploring run as a deployment would have logged it: its pages and its events
        /// (impressions and responses naming their page and slot).
        public var pages: [ServedPage]
        public var events: [Event]
    }

    /// Runs the closed loop of `experiments`, then the base funnel with exploration `epsilon`
    /// over `pool` further candidates for every user, and estimates each arm from that log.
    public static func offPolicy(world: SimulatedWorld, experiments: ExperimentConfig, base: FunnelConfig = FunnelConfig(),
                                 parameters p: Parameters = Parameters(), epsilon: Double, pool: Int,
                                 progress: ((String) -> Void)? = nil) throws -> OffPolicyResult {
        guard epsilon > 0, epsilon <= 1 else { throw CascadeError.invalid("exploration share must be in (0, 1], got \(epsilon)") }
        guard pool >= p.pageSize else {
            throw CascadeError.invalid("exploration pool (\(pool)) must hold at least a page (\(p.pageSize)) for exact propensities")
        }
        var logging = base
        logging.rank.enabled = true
        logging.rank.rankLimit = Swift.max(logging.rank.rankLimit, p.pageSize + pool)
        let funnels = try SimulatedFunnels(world: world, experiments: experiments, base: logging, progress: progress)
        let loop = try run(funnels, experiments: experiments, parameters: p, progress: progress)
        guard let ranker = try funnels.ranker(logging.rank) else {
            throw CascadeError.invalid("off-policy estimate: too few impressions to train the ranker the direct model needs")
        }
        var debiased = logging.rank
        debiased.positionBias = true
        guard let curve = try funnels.trainedRanker(debiased)?.report?.positionCurve else {
            throw CascadeError.invalid("off-policy estimate: the world's log carries no slots to learn the position curve from")
        }
        let arms = experiments.layers.flatMap(\.experiments).flatMap(\.arms)
        let exploration = Exploration(epsilon: epsilon, pool: pool, targets: try arms.map { try funnels.recommender($0.overrides) },
                                      directModel: try DirectModel(ranker: ranker, examination: curve))
        let logger = try funnels.recommender([:])
        progress?("explore")
        let served = min(p.users ?? world.users.count, world.users.count)
        let index = world.log.indexByUser(userCount: world.users.count)
        let counters = funnels.counters()
        let slots = ConcurrentSlots<(Truth, [LoggedRequest], [Event])>(count: served, initial: (Truth(), [], []))
        Parallel.forRanges(served, minimumChunk: 8) { range in
            for u in range {
                let r = serve(user: u, world: world, recommender: logger, index: index, parameters: p, counters: counters, exploration: exploration)
                slots.set(u, (r.1, r.4, r.3))
            }
        }
        var loggedTruth = Truth()
        var requests: [LoggedRequest] = []
        var events: [Event] = []
        for (t, r, e) in slots.values { loggedTruth.add(t); requests += r; events += e }
        // Per user and arm, the true CTR of the arm's pages on that user's requests.
        let perUser = slots.values.filter { !$0.1.isEmpty }.map { v in
            (0..<arms.count).map { a in
                var t = Truth()
                for r in v.1 { t.add(r.truth[a]) }
                return t.expectedCTR
            }
        }
        let clicks = requests.reduce(0.0) { $0 + $1.logged.clicks.reduce(0, +) }
        let impressions = requests.reduce(0) { $0 + $1.logged.items.count }
        let estimates = try exploration.directModel.estimates(requests.map { ($0.logged, $0.loggedPredicted, $0.targets) }, arms: arms.count)
        var out: [ArmEstimate] = []
        for (a, arm) in arms.enumerated() {
            var truth = Truth()
            for r in requests { truth.add(r.truth[a]) }
            let row = loop.rows.firstIndex { $0.arm == arm.name }
            out.append(ArmEstimate(arm: arm.name, overrides: arm.overrides, estimate: estimates[a], trueCTR: truth.expectedCTR,
                                   loopTrueCTR: row.map { loop.truth[$0].expectedCTR },
                                   pairedTruth: a == 0 ? nil : ExperimentStatistics.paired(perUser.map { $0[a] - $0[0] })))
        }
        // The curve from the explored slots: a pool item's slot owes nothing to the item.
        var shown = [Int](repeating: 0, count: p.pageSize), clicked = [Double](repeating: 0, count: p.pageSize)
        for r in requests {
            for k in r.logged.items.indices where k < p.pageSize && k < r.explored.count && r.explored[k] {
                shown[k] += 1
                clicked[k] += r.logged.clicks[k]
            }
        }
        let exploredCurve = try? PositionCurveEstimate.fit(shown: shown, clicks: clicked)
        return OffPolicyResult(loop: loop, arms: out, loggedCTR: impressions > 0 ? clicks / Double(impressions) : .nan,
                               loggedTrueCTR: loggedTruth.expectedCTR, exploredCurve: exploredCurve, examination: curve, pages: requests.compactMap(\.page), events: events)
    }
}
