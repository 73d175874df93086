import CascadeCore
import CascadeEngine
import CascadeEval
import CascadeExperiment
import CascadeRecall
import CascadeStore
import Foundation

/// `cascade experiment estimate`: each arm of an experiment estimated from a store's served-page
/// log, before it serves anyone (``OffPolicyEstimate``: IPS, SNIPS, doubly robust per slot under
/// the position-based model).
///
/// What it reads:
/// - the pages served in the window that carry propensities (served with
///   `rerank.exploreEpsilon`, ``EpsilonExploration``);
/// - their clicks: a click naming the page's request id, else (imported or older clients) a
///   click by the page's user on the item within a day after the page (the join of Photon,
///   Ananthanarayanan et al., SIGMOD 2013);
/// - the active models: each arm's page for every logged request is replayed with the user's
///   history as it stood then; the active ranker, recalibrated on the logged pages
///   (``DirectModelCalibration``), is the direct model, and the position curve it learned
///   (`rank.positionBias`) rescales clicks across slots.
/// Replays use the models active now, which must not have learned from the window's events (their
/// outcomes would leak into the replayed pages): the ranker's `trained_until` is checked. Support: the share of the arm's items within the
/// logging policy's page and exploration pool, the logging policy replayed the same way.
public enum LoggedPageEstimate {
    public struct ArmRow: Sendable {
        public var arm: String
        public var estimate: OffPolicyEstimate.Result

        /// `key=value` fields: the arm, the three estimates (DR with its interval), the direct
        /// model alone, the effective sample size, the support and the pages read.
        public var line: String {
            func f(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "nan" }
            let e = estimate
            return "arm=\(arm) ips=\(f(e.ips.value)) snips=\(f(e.snips.value)) dr=\(f(e.dr.value)) dr_lo=\(f(e.dr.low)) "
                + "dr_hi=\(f(e.dr.high)) dm=\(f(e.directModel)) ess=\(String(format: "%.0f", e.effectiveSampleSize)) "
                + "support=\(f(e.support)) requests=\(e.requests)"
        }
    }

    public struct Result: Sendable {
        public var rows: [ArmRow]
        /// Pages in the window, and those with propensities (the ones read).
        public var pages: Int
        public var explored: Int
        /// Clicks over impressions of the pages read.
        public var loggedCTR: Double
        public var examination: [Double]
    }

    /// Estimates every arm of `experiments` (overrides on `base`) from the pages served in
    /// `[from, to)`; the logging policy explored over `pool` candidates after the page. Throws
    /// with the reason when the window has no pages, none with propensities, or no ranker with a
    /// learned position curve is active.
    public static func run(store: any Store, experiments: ExperimentConfig, base: FunnelConfig = FunnelConfig(),
                           from: Double, to: Double, pool: Int) throws -> Result {
        try experiments.checkOverrides(on: base)
        let all = try store.pages(from: from, to: to)
        guard !all.isEmpty else {
            throw CascadeError.invalid("no served pages in the window: the server logs every page it serves (unless --page-log-queue 0)")
        }
        let pages = all.filter { !$0.items.isEmpty && $0.propensities?.count == $0.items.count }
        guard !pages.isEmpty else {
            throw CascadeError.invalid("none of the \(all.count) served pages in the window carries propensities: serve a share of traffic "
                                       + "with exploration (--set rerank.exploreEpsilon=0.1, or an experiment arm setting it) to log them")
        }
        guard let rank = try store.activeArtifact(name: ModelArtifact.rank) else {
            throw CascadeError.invalid("no active ranker: the estimates need it as the direct model (run `cascade train`)")
        }
        if let until = rank.info.manifest[RankTraining.trainedUntilKey].flatMap(Double.init), until > all[0].timestamp {
            throw CascadeError.invalid("the active ranker (v\(rank.info.version)) learned from events up to \(Int(until)), after the first page of the "
                                       + "window (\(Int(all[0].timestamp))): replaying pages with models that saw their outcomes would leak them; "
                                       + "estimate with the models that served the pages, or a window after their training")
        }
        let curve = (rank.info.manifest[RankTraining.positionCurveKey] ?? "").split(separator: ",").compactMap { Double($0) }
        guard !curve.isEmpty, curve.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw CascadeError.invalid("the active ranker (v\(rank.info.version)) learned no position curve: train it with --rank-position-bias "
                                       + "on impressions that carry their position")
        }
        var logging = base
        logging.rank.enabled = true
        logging.rerank.exploreEpsilon = nil
        let recommender = try Recommender.load(store: store, config: logging)
        guard let ranker = recommender.funnel.ranker else {
            throw CascadeError.invalid("the active ranker could not be loaded: the estimates need it as the direct model")
        }
        let directModel = try DirectModel(ranker: ranker, examination: curve)
        let arms = experiments.layers.flatMap(\.experiments).flatMap(\.arms)
        let targets = try arms.map { arm -> Recommender in
            var c = try base.applying(arm.overrides)
            c.rerank.exploreEpsilon = nil
            return recommender.replacingFunnel(recommender.funnel(with: c))
        }
        // Clicks by page (request id) and by user and item (the window join).
        let joined = try ServedPageClicks(store: store, from: from, to: to)
        func clicked(_ p: ServedPage, _ item: String) -> Double { joined.clicked(p, item) }
        let limit = logging.historyLength
        let impression = Int(recommender.registry.code(of: .impression) ?? 255)
        let exposureWindow = Feedback.ExposureConfig().windowSeconds * Double(Feedback.ExposureConfig().windows)
        var requests: [(logged: OffPolicyEstimate.LoggedPage, predicted: [Double], targets: [OffPolicyEstimate.TargetPage])] = []
        for p in pages {
            let history = try store.lastEvents(user: p.user, limit: limit * 4, types: nil).filter { $0.timestamp < p.timestamp }
                .prefix(limit).compactMap { e -> HistoryEvent? in
                    guard let i = recommender.items.index(of: e.item), let c = recommender.registry.code(of: e.type) else { return nil }
                    return HistoryEvent(item: i, type: c, timestamp: e.timestamp)
                }
            let user = recommender.users.index(of: p.user)
            let location = user.flatMap { Int($0) < recommender.userLocations.count ? recommender.userLocations[Int($0)] : nil }
            let context = RecallContext(user: user, history: Array(history), location: location, now: p.timestamp, counters: store)
            // What the user had acted on, and the impressions of the exposure window, stay off the page.
            var filter = recommender.filter(history: Array(history), now: p.timestamp)
            for h in history where Int(h.type) == impression && h.timestamp >= p.timestamp - exposureWindow { filter.seen.insert(h.item) }
            let n = p.items.count
            // Items the models do not know get ids no target can match.
            let loggedItems = p.items.enumerated().map { k, id in recommender.items.index(of: id) ?? Int32(-1 - k) }
            func predicted(_ items: [Int32]) -> [Double] { directModel.slotClicks(items, context: context, pageSize: n) }
            let ranked = recommender.funnel.run(context, n: n + pool, filter: filter, trace: false).recommendations.map(\.item)
            var rankOf: [Int32: Int] = [:]
            for (r, i) in ranked.enumerated() { rankOf[i] = r }
            let pages = targets.map { t -> OffPolicyEstimate.TargetPage in
                let items = t.funnel.run(context, n: n, filter: filter, trace: false).recommendations.map(\.item)
                // Within the replayed logging order's page and pool: what exploration could show.
                return OffPolicyEstimate.TargetPage(items: items, predicted: predicted(items),
                                                    supported: items.map { (rankOf[$0] ?? Int.max) < n + pool })
            }
            requests.append((OffPolicyEstimate.LoggedPage(items: loggedItems, clicks: p.items.map { clicked(p, $0) }, inclusion: p.propensities!),
                             predicted(loggedItems), pages))
        }
        let estimates = try directModel.estimates(requests, arms: arms.count)
        let rows = arms.enumerated().map { a, arm in ArmRow(arm: arm.name, estimate: estimates[a]) }
        let impressions = requests.reduce(0) { $0 + $1.logged.items.count }
        let clicks = requests.reduce(0.0) { $0 + $1.logged.clicks.reduce(0, +) }
        return Result(rows: rows, pages: all.count, explored: pages.count, loggedCTR: clicks / Double(impressions), examination: curve)
    }
}
