import CascadeCore
import Foundation

/// What one user did in the period of a report.
public struct UserOutcome: Sendable, Equatable {
    public var impressions: Double = 0
    public var clicks: Double = 0
    /// Events whose type has a positive weight (clicks, likes, shares, watches, ...).
    public var positives: Double = 0
    /// Sum of the type weights of all the user's events (likes 2, shares 3, purchases 4, a
    /// dislike -1, impressions 0; see ``EventTypeRegistry``).
    public var weighted: Double = 0
    /// Sum of the `value` of watch events, seconds.
    public var engagedSeconds: Double = 0

    public init() {}

    /// Adds one event of type code weight `weight`.
    public mutating func add(type: EventType, weight: Float, value: Double?) {
        if type == .impression { impressions += 1 }
        if type == .click { clicks += 1 }
        if weight > 0 { positives += 1 }
        weighted += Double(weight)
        if type == .watch, let v = value, v.isFinite { engagedSeconds += v }
    }
}

/// The north-star metric of a report: the one number per user that says whether users are
/// better served (seed 004, 北极星指标; Kohavi et al. 2020, ch. 7 on the overall evaluation
/// criterion). Clicks alone reward click-bait, so the default weighs every kind of engagement.
public enum NorthStar: String, Sendable, CaseIterable {
    /// Per user, the sum of the event-type weights (default): works on any catalog, rewards
    /// deep engagement (likes, shares, completions) over clicks and counts dislikes against.
    case weighted
    /// Per user, seconds watched (the `value` of watch events): for video feeds.
    case time

    func value(_ o: UserOutcome) -> Double {
        switch self {
        case .weighted: return o.weighted
        case .time: return o.engagedSeconds
        }
    }
}

/// The metric whose difference against the control a report tests.
public enum ReportMetric: String, Sendable, CaseIterable {
    /// Clicks over impressions, users as the unit (delta method, z test).
    case ctr
    /// Positive events per user (Welch's t test).
    case engagement
    /// The north-star value per user (Welch's t test).
    case northstar
}

/// One arm of one experiment, measured.
public struct ArmReport: Sendable, Equatable {
    public var layer: String
    public var experiment: String
    public var arm: String
    public var isControl: Bool
    public var users: Int
    public var impressions: Double
    public var clicks: Double
    public var ctr: Estimate
    /// Positive events per user.
    public var engagement: Estimate
    /// North-star value per user.
    public var northStar: Estimate
    /// The tested metric against the control arm; nil for the control itself.
    public var comparison: Comparison?
}

/// Per-arm measurements of a layered experiment config over users' outcomes.
///
/// Users are the unit of randomization, so they are the unit of analysis: every statistic is
/// over per-user values, and CTR is a ratio of per-user sums whose variance comes from the delta
/// method (Kohavi, Tang and Xu, "Trustworthy Online Controlled Experiments", 2020; seed 004).
/// The first arm of each experiment is its control. Each experiment's users are recomputed from
/// the config (stopped experiments included, held-out users excluded); with a holdout, a layer
/// `holdout` compares the held-out users (control) with everyone else (`exposed`).
public enum ExperimentReport {
    /// Groups events by user.
    public static func outcomes(of events: [Event], registry: EventTypeRegistry) -> [String: UserOutcome] {
        var out: [String: UserOutcome] = [:]
        let weights = registry.weightsByCode
        for e in events {
            let w = registry.code(of: e.type).map { weights[Int($0)] } ?? 0
            out[e.user, default: UserOutcome()].add(type: e.type, weight: w, value: e.value)
        }
        return out
    }

    /// One row per arm, experiments in config order, then the holdout comparison.
    public static func rows(config: ExperimentConfig, outcomes: [String: UserOutcome],
                            metric: ReportMetric = .northstar, northStar: NorthStar = .weighted) -> [ArmReport] {
        var groups: [String: [UserOutcome]] = [:]   // "layer:experiment:arm"
        var held: [UserOutcome] = [], exposed: [UserOutcome] = []
        for user in outcomes.keys.sorted() {
            let o = outcomes[user]!
            let a = config.assign(user: user, includeStopped: true)
            if a.holdout { held.append(o); continue }
            exposed.append(o)
            for arm in a.arms { groups[arm.description, default: []].append(o) }
        }
        var out: [ArmReport] = []
        for layer in config.layers {
            for exp in layer.experiments {
                let arms = exp.arms.map { ("\(layer.name):\(exp.name):\($0.name)", $0.name) }
                out += compare(layer: layer.name, experiment: exp.name,
                               arms: arms.map { ($0.1, groups[$0.0] ?? []) }, metric: metric, northStar: northStar)
            }
        }
        if config.holdout != nil {
            out += compare(layer: "holdout", experiment: "holdout", arms: [("holdout", held), ("exposed", exposed)],
                           metric: metric, northStar: northStar)
        }
        return out
    }

    /// Rows for the arms of one experiment; the first arm is the control.
    public static func compare(layer: String, experiment: String, arms: [(name: String, users: [UserOutcome])],
                               metric: ReportMetric, northStar: NorthStar) -> [ArmReport] {
        func summaries(_ us: [UserOutcome]) -> (RatioSummary, SampleSummary, SampleSummary) {
            (RatioSummary(numerators: us.map(\.clicks), denominators: us.map(\.impressions)),
             SampleSummary(us.map(\.positives)), SampleSummary(us.map { northStar.value($0) }))
        }
        let control = arms.first.map { summaries($0.users) }
        return arms.enumerated().map { k, arm in
            let (ctr, eng, ns) = summaries(arm.users)
            var comparison: Comparison?
            if k > 0, let (cc, ce, cn) = control {
                switch metric {
                case .ctr: comparison = ExperimentStatistics.ratioDifference(treatment: ctr, control: cc)
                case .engagement: comparison = ExperimentStatistics.welch(treatment: eng, control: ce)
                case .northstar: comparison = ExperimentStatistics.welch(treatment: ns, control: cn)
                }
            }
            return ArmReport(layer: layer, experiment: experiment, arm: arm.name, isControl: k == 0, users: arm.users.count,
                             impressions: arm.users.reduce(0) { $0 + $1.impressions }, clicks: arm.users.reduce(0) { $0 + $1.clicks },
                             ctr: ctr.interval, engagement: eng.interval, northStar: ns.interval, comparison: comparison)
        }
    }

    /// The row as space-separated `key=value` fields. `delta`, `delta_lo`, `delta_hi` and `p`
    /// are those of `metric` against the control (`-` on the control row).
    public static func line(_ r: ArmReport, metric: ReportMetric, extra: [(String, String)] = []) -> String {
        func f(_ x: Double, _ digits: Int = 4) -> String { x.isFinite ? String(format: "%.\(digits)f", x) : "nan" }
        func p(_ x: Double) -> String { x.isFinite ? (x < 1e-4 ? String(format: "%.2e", x) : String(format: "%.4f", x)) : "nan" }
        var fields: [(String, String)] = [
            ("layer", r.layer), ("experiment", r.experiment), ("arm", r.arm), ("users", String(r.users)),
            ("impressions", String(Int(r.impressions))), ("clicks", String(Int(r.clicks))),
            ("ctr", f(r.ctr.value)), ("ctr_lo", f(r.ctr.lo)), ("ctr_hi", f(r.ctr.hi)),
            ("engagement", f(r.engagement.value)), ("engagement_lo", f(r.engagement.lo)), ("engagement_hi", f(r.engagement.hi)),
            ("northstar", f(r.northStar.value)), ("northstar_lo", f(r.northStar.lo)), ("northstar_hi", f(r.northStar.hi)),
            ("metric", metric.rawValue),
        ]
        if let c = r.comparison {
            fields += [("delta", f(c.delta.value, 5)), ("delta_lo", f(c.delta.lo, 5)), ("delta_hi", f(c.delta.hi, 5)), ("p", p(c.p))]
        } else {
            fields += [("delta", "-"), ("delta_lo", "-"), ("delta_hi", "-"), ("p", "-")]
        }
        fields += extra
        return fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
    }
}
