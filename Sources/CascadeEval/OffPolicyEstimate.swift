import CascadeCore
import Foundation

/// Counterfactual estimates of a ranking policy's click-through rate from the pages another
/// policy logged: inverse propensity scoring (IPS), its self-normalised form (SNIPS) and the
/// doubly robust estimate (DR) with a direct model, each per slot under the position-based model.
///
/// The position-based model (PBM; Craswell et al. 2008; for off-policy evaluation of rankings,
/// Li et al., "Offline Evaluation of Ranking Policies with Click Models", KDD 2018): a user
/// examines slot `k` with probability `e(k)` and clicks an examined item `b` with probability
/// `r(b)`, independently. A logged click on `b` at slot `k'` is then an unbiased look at
/// `e(k') r(b)`, and, divided by the probability `rho(b)` that the logging policy put `b` on the
/// page at all, an unbiased estimate of `b`'s clicks at any slot `k` once scaled by `e(k) / e(k')`.
/// For request `i` and the target page's slot `k` holding item `b`:
/// - weight `w = 1 / rho(b)` when the logged page showed `b` (at slot `k'`), else 0;
/// - rescaled click `c^ = c(k') e(k) / e(k')`;
/// - IPS: mean over requests and slots of `w c^`;
/// - SNIPS: `sum w c^ / sum w` (every supported slot has `E[w] = 1`);
/// - DR: mean of `q + w (c^ - q)`, `q` the direct model's click probability of `b` at slot `k`:
///   unbiased when either the propensities or the direct model are right (Dudik et al., ICML 2011).
/// Intervals are normal 95% ones over requests (SNIPS by the delta method); `ess` is the
/// effective sample size of the weights, `(sum w)^2 / sum w^2`. O(requests x slots^2).
public enum OffPolicyEstimate {
    /// One logged page: its items, whether each was clicked, and the probability that the
    /// logging policy would show each of them anywhere on this page (its inclusion propensity).
    public struct LoggedPage: Sendable {
        public var items: [Int32]
        public var clicks: [Double]
        public var inclusion: [Double]
        public init(items: [Int32], clicks: [Double], inclusion: [Double]) {
            self.items = items
            self.clicks = clicks
            self.inclusion = inclusion
        }
    }

    /// The target policy's page for the same request: its items, the direct model's click
    /// probability of each at its slot, and whether the logging policy could have shown each.
    public struct TargetPage: Sendable {
        public var items: [Int32]
        public var predicted: [Double]
        public var supported: [Bool]
        public init(items: [Int32], predicted: [Double], supported: [Bool]) {
            self.items = items
            self.predicted = predicted
            self.supported = supported
        }
    }

    public struct Interval: Sendable, Equatable {
        public var value: Double
        public var low: Double
        public var high: Double
    }

    public struct Result: Sendable {
        public var requests: Int
        public var impressions: Int
        public var ips: Interval
        public var snips: Interval
        public var dr: Interval
        /// The direct model alone: mean of `q`.
        public var directModel: Double
        public var effectiveSampleSize: Double
        /// Share of the target's slots whose item the logging policy could have shown.
        public var support: Double
    }

    /// Estimates the target's CTR from `pairs` (logged page, target page) of the same requests;
    /// `examination[k]` is e(k) up to a factor (slots past its end take its last value).
    /// Throws on mismatched lengths, a logged item without a positive propensity, an
    /// examination curve that is not positive, or a target without support in the log.
    public static func estimate(_ pairs: [(logged: LoggedPage, target: TargetPage)], examination: [Double]) throws -> Result {
        guard !pairs.isEmpty else { throw CascadeError.invalid("off-policy estimate: no logged pages") }
        guard !examination.isEmpty, examination.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw CascadeError.invalid("off-policy estimate: the examination curve must be positive and finite")
        }
        func e(_ k: Int) -> Double { examination[Swift.min(k, examination.count - 1)] }
        let n = pairs.count
        var ipsY = [Double](), drY = [Double](), wSum = [Double](), wcSum = [Double]()
        ipsY.reserveCapacity(n); drY.reserveCapacity(n); wSum.reserveCapacity(n); wcSum.reserveCapacity(n)
        var impressions = 0, supported = 0
        var sumW = 0.0, sumW2 = 0.0, dm = 0.0
        for (i, (logged, target)) in pairs.enumerated() {
            guard logged.items.count == logged.clicks.count, logged.items.count == logged.inclusion.count else {
                throw CascadeError.invalid("off-policy estimate: logged page \(i) has \(logged.items.count) items, \(logged.clicks.count) clicks, \(logged.inclusion.count) propensities")
            }
            guard target.items.count == target.predicted.count, target.items.count == target.supported.count else {
                throw CascadeError.invalid("off-policy estimate: target page \(i) has \(target.items.count) items, \(target.predicted.count) predictions, \(target.supported.count) support flags")
            }
            if let bad = logged.inclusion.firstIndex(where: { !($0 > 0 && $0 <= 1) }) {
                throw CascadeError.invalid("off-policy estimate: logged page \(i), slot \(bad): propensity \(logged.inclusion[bad]) is not in (0, 1]")
            }
            var slotOf: [Int32: Int] = [:]
            for (k, item) in logged.items.enumerated() { slotOf[item] = k }
            var ips = 0.0, dr = 0.0, ws = 0.0, wc = 0.0
            for (k, b) in target.items.enumerated() {
                let q = target.predicted[k]
                dm += q
                if target.supported[k] { supported += 1 }
                var w = 0.0, c = 0.0
                if let kk = slotOf[b] {
                    w = 1 / logged.inclusion[kk]
                    c = logged.clicks[kk] * e(k) / e(kk)
                }
                ips += w * c
                dr += q + w * (c - q)
                ws += w
                wc += w * c
                sumW += w
                sumW2 += w * w
            }
            impressions += target.items.count
            ipsY.append(ips); drY.append(dr); wSum.append(ws); wcSum.append(wc)
        }
        guard supported > 0 else {
            throw CascadeError.invalid("off-policy estimate: none of the target's \(impressions) items could have been shown by the logging policy (no support in the log)")
        }
        let perRequest = Double(impressions) / Double(n)
        func meanInterval(_ y: [Double]) -> Interval {
            let m = y.reduce(0, +) / Double(n)
            let v = n > 1 ? y.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1) : 0
            let h = 1.96 * (v / Double(n)).squareRoot()
            return Interval(value: m / perRequest, low: (m - h) / perRequest, high: (m + h) / perRequest)
        }
        // SNIPS: a ratio of means; its variance by the delta method.
        let a = wcSum.reduce(0, +) / Double(n), bMean = wSum.reduce(0, +) / Double(n)
        let r = bMean > 0 ? a / bMean : 0
        var v = 0.0
        for j in 0..<n { let d = wcSum[j] - r * wSum[j]; v += d * d }
        v = n > 1 && bMean > 0 ? v / Double(n - 1) / (bMean * bMean) : 0
        let h = 1.96 * (v / Double(n)).squareRoot()
        return Result(requests: n, impressions: impressions, ips: meanInterval(ipsY), snips: Interval(value: r, low: r - h, high: r + h),
                      dr: meanInterval(drY), directModel: dm / Double(impressions),
                      effectiveSampleSize: sumW2 > 0 ? sumW * sumW / sumW2 : 0, support: Double(supported) / Double(impressions))
    }
}

/// Recalibration of a direct model on logged outcomes by histogram binning (Zadrozny and
/// Elkan, KDD 2001): the predictions of the logged impressions are cut into `bins` bins of equal
/// count, and a prediction is scaled by its bin's observed-over-predicted ratio. A ranker's
/// probabilities of the items it puts on top run high (the best of many noisy scores); fitted on
/// the log the estimate reads, the direct model of a doubly robust estimate speaks in that log's
/// units. O(n log n) to fit, O(log bins) per prediction.
public struct DirectModelCalibration: Sendable {
    /// Upper edges of the bins (the last is +infinity) and each bin's ratio.
    public let edges: [Double]
    public let ratios: [Double]

    public init(predicted: [Double], outcomes: [Double], bins: Int = 10) throws {
        guard predicted.count == outcomes.count, !predicted.isEmpty else {
            throw CascadeError.invalid("direct model calibration: \(predicted.count) predictions, \(outcomes.count) outcomes")
        }
        guard bins >= 1 else { throw CascadeError.invalid("direct model calibration: bins must be >= 1, got \(bins)") }
        let order = predicted.indices.sorted { predicted[$0] < predicted[$1] }
        let b = Swift.min(bins, order.count)
        var edges: [Double] = [], ratios: [Double] = []
        for j in 0..<b {
            let lo = j * order.count / b, hi = (j + 1) * order.count / b
            let p = order[lo..<hi].reduce(0.0) { $0 + predicted[$1] }, y = order[lo..<hi].reduce(0.0) { $0 + outcomes[$1] }
            edges.append(j == b - 1 ? .infinity : predicted[order[hi - 1]])
            ratios.append(p > 0 ? y / p : 1)
        }
        self.edges = edges
        self.ratios = ratios
    }

    /// `p` scaled by the ratio of its bin.
    public func apply(_ p: Double) -> Double {
        var lo = 0, hi = edges.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if p <= edges[mid] { hi = mid } else { lo = mid + 1 }
        }
        return p * ratios[lo]
    }
}
