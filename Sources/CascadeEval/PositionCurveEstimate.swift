import CascadeCore
import Foundation

/// The position curve measured on randomised placements: the examination probability of each
/// slot relative to the top, from the clicks on items a page placed at random (exploration slots,
/// or shuffled pages), whose relevance is then the same at every slot. Under the examination
/// hypothesis the click rate at slot k is `c e(k)`; the curve is fitted as `e(k) = (1 + k)^-eta`
/// (Joachims, Swaminathan and Schnabel, "Unbiased Learning-to-Rank with Biased Feedback", WSDM
/// 2017: propensities `(1/rank)^eta`) by maximum likelihood over binomial click counts, `c`
/// profiled out (`c = clicks / sum n_k e(k)`), `eta` by golden-section search on [0, 4].
/// The raw per-slot ratios are kept beside the fit. O(slots log(1/tolerance)).
///
/// Unlike a position tower trained with the ranker, it cannot take relevance for position: the
/// placement it reads owes nothing to the item.
public enum PositionCurveEstimate {
    public struct Result: Sendable, Equatable {
        public var eta: Double
        /// `(1 + k)^-eta` per slot.
        public var curve: [Double]
        /// Click rate at each slot over the top slot's (nan where a slot has no impression).
        public var raw: [Double]
        public var impressions: Int
        public var clicks: Double
    }

    /// Fits the curve to `shown[k]` randomised impressions and `clicks[k]` clicks at slot `k`.
    /// Throws without impressions at slot 0 or without any click.
    public static func fit(shown: [Int], clicks: [Double]) throws -> Result {
        guard shown.count == clicks.count, shown.count >= 2 else {
            throw CascadeError.invalid("position curve: needs counts for at least 2 slots, as many clicks as impressions")
        }
        guard shown[0] > 0, clicks.reduce(0, +) > 0, zip(shown, clicks).allSatisfy({ $0 >= 0 && $1 >= 0 && $1 <= Double($0) }) else {
            throw CascadeError.invalid("position curve: needs impressions at the top slot, at least one click, and clicks within impressions")
        }
        let total = clicks.reduce(0, +)
        func logLikelihood(_ eta: Double) -> Double {
            let e = shown.indices.map { Foundation.pow(Double(1 + $0), -eta) }
            let c = Swift.min(total / zip(shown, e).reduce(0) { $0 + Double($1.0) * $1.1 }, 1 - 1e-12)
            var ll = 0.0
            for k in shown.indices where shown[k] > 0 {
                let p = c * e[k]
                ll += clicks[k] * Foundation.log(p) + (Double(shown[k]) - clicks[k]) * Foundation.log(1 - p)
            }
            return ll
        }
        // Golden-section search for the maximum (the log-likelihood is unimodal in eta here).
        var a = 0.0, b = 4.0
        let g = (5.0.squareRoot() - 1) / 2
        var x1 = b - g * (b - a), x2 = a + g * (b - a)
        var f1 = logLikelihood(x1), f2 = logLikelihood(x2)
        while b - a > 1e-6 {
            if f1 < f2 { a = x1; x1 = x2; f1 = f2; x2 = a + g * (b - a); f2 = logLikelihood(x2) }
            else { b = x2; x2 = x1; f2 = f1; x1 = b - g * (b - a); f1 = logLikelihood(x1) }
        }
        let eta = (a + b) / 2
        let top = clicks[0] / Double(shown[0])
        return Result(eta: eta, curve: shown.indices.map { Foundation.pow(Double(1 + $0), -eta) },
                      raw: shown.indices.map { shown[$0] > 0 && top > 0 ? clicks[$0] / Double(shown[$0]) / top : .nan },
                      impressions: shown.reduce(0, +), clicks: total)
    }
}
