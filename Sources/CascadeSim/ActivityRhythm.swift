import Foundation

/// When sessions happen: a daily and weekly rhythm of activity over the simulated period.
///
/// Intensity at time `t` (UTC hour `h`, fractional):
/// ```
/// lambda(t) = max(0.05, 1 + 0.6 cos(2 pi (h - 20.5) / 24) + 0.25 cos(2 pi (h - 12.5) / 12))
///             * (1.2 on Saturdays and Sundays, else 1)
/// ```
/// an evening peak, a smaller lunchtime one and a quiet night. The period is cut into 15-minute
/// bins of constant intensity; ``time(atFraction:)`` inverts the cumulative intensity, so mapping
/// evenly spaced fractions gives session starts that follow the rhythm, already in time order.
struct ActivityRhythm {
    let start: Double
    let duration: Double
    let binSeconds: Double
    /// cumulative[k] = mass of bins 0..<k, normalised so cumulative.last == 1.
    let cumulative: [Double]

    init(start: Double, duration: Double, binSeconds: Double = 900) {
        self.start = start
        self.duration = duration
        let bins = max(1, Int((duration / binSeconds).rounded(.up)))
        self.binSeconds = duration / Double(bins)
        var cum = [Double](repeating: 0, count: bins + 1)
        for k in 0..<bins {
            let mid = start + (Double(k) + 0.5) * self.binSeconds
            cum[k + 1] = cum[k] + Self.intensity(at: mid) * self.binSeconds
        }
        let total = cum[bins]
        cumulative = cum.map { $0 / total }
    }

    /// Relative activity at time `t` (seconds since 1970 UTC).
    static func intensity(at t: Double) -> Double {
        let h = (t.truncatingRemainder(dividingBy: 86_400) + 86_400).truncatingRemainder(dividingBy: 86_400) / 3_600
        var v = 1 + 0.6 * Foundation.cos(2 * Double.pi * (h - 20.5) / 24) + 0.25 * Foundation.cos(2 * Double.pi * (h - 12.5) / 12)
        v = max(0.05, v)
        // 1970-01-01 was a Thursday: day 0 -> weekday 4 when Sunday is 0.
        let weekday = (Int((t / 86_400).rounded(.down)) % 7 + 7 + 4) % 7
        return weekday == 0 || weekday == 6 ? 1.2 * v : v
    }

    /// The time by which a fraction `x` in [0, 1] of the period's activity has happened.
    func time(atFraction x: Double) -> Double {
        let x = min(1, max(0, x))
        var lo = 0, hi = cumulative.count - 1            // find the bin k with cum[k] <= x < cum[k+1]
        while hi - lo > 1 {
            let mid = (lo + hi) >> 1
            if cumulative[mid] <= x { lo = mid } else { hi = mid }
        }
        let width = cumulative[lo + 1] - cumulative[lo]
        let within = width > 0 ? (x - cumulative[lo]) / width : 0
        return start + (Double(lo) + within) * binSeconds
    }
}
