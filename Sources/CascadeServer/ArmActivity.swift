import CascadeExperiment
import Foundation

/// Impressions and clicks per experiment arm per minute, from the feedback the server receives:
/// what the dashboard charts as "arms over time". Each event's user is assigned with the
/// running config (assignment is deterministic), so nothing extra travels with the events.
/// Keeps the last `minutes` minutes.
public final class ArmActivity: @unchecked Sendable {
    public struct Counts: Sendable, Equatable {
        public var impressions = 0
        public var clicks = 0
        public var ctr: Double { impressions > 0 ? Double(clicks) / Double(impressions) : 0 }
    }

    private let lock = NSLock()
    private var perMinute: [String: [Int: Counts]] = [:]   // arm -> minute -> counts
    public let minutes: Int

    public init(minutes: Int = 60) { self.minutes = minutes }

    /// Counts one batch of events under the arms their users are assigned to (and `holdout`).
    public func record(_ events: [(user: String, type: String, timestamp: Double)], config: ExperimentConfig) {
        var add: [String: [Int: Counts]] = [:]
        for e in events where e.type == "impression" || e.type == "click" {
            let a = config.assign(user: e.user)
            let arms = a.holdout ? [Assignment.holdoutTag] : a.arms.map(\.description)
            let minute = Int(Date().timeIntervalSince1970 / 60)
            for arm in arms {
                if e.type == "impression" { add[arm, default: [:]][minute, default: Counts()].impressions += 1 }
                else { add[arm, default: [:]][minute, default: Counts()].clicks += 1 }
            }
        }
        guard !add.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        let oldest = Int(Date().timeIntervalSince1970 / 60) - minutes
        for (arm, byMinute) in add {
            for (m, c) in byMinute {
                perMinute[arm, default: [:]][m, default: Counts()].impressions += c.impressions
                perMinute[arm, default: [:]][m, default: Counts()].clicks += c.clicks
            }
            perMinute[arm] = perMinute[arm]!.filter { $0.key > oldest }
        }
    }

    /// Per arm: totals over the window and CTR per minute (oldest first, `minutes` values).
    public func summary() -> [(arm: String, total: Counts, ctrByMinute: [Double])] {
        lock.lock(); defer { lock.unlock() }
        let now = Int(Date().timeIntervalSince1970 / 60)
        return perMinute.keys.sorted().map { arm in
            let m = perMinute[arm]!
            var total = Counts()
            for c in m.values { total.impressions += c.impressions; total.clicks += c.clicks }
            return (arm, total, ((now - minutes + 1)...now).map { m[$0]?.ctr ?? 0 })
        }
    }
}
