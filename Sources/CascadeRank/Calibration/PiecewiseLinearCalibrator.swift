import Foundation

/// Piecewise-linear calibration on fixed knots at quantiles of the held-out scores (the
/// calibration layer of lattice models: Gupta et al., "Monotonic Calibrated Interpolated Look-Up
/// Tables", JMLR 2016, section 4, without the lattice).
///
/// The knots x_0 < ... < x_{K-1} are the 0, 1/(K-1), ..., 1 quantiles of the scores (duplicates
/// dropped). The output is linear between knots: f(s) = (1 - t) v_k + t v_{k+1}. The knot values
/// v minimize the squared error to the labels, sum_i w_i (f(s_i) - y_i)^2 + lambda sum_k (v_{k+1}
/// - v_k)^2 (a tiny smoothing term keeping the system regular where a segment has little data);
/// the hat functions overlap only at neighbouring knots, so the normal equations are tridiagonal
/// and solved in O(K). Because the hat functions sum to one, the residuals sum to zero: the mean
/// calibrated value equals the mean label on the fitting slice. The values are then made
/// non-decreasing by pool-adjacent-violators over the knots (weighted by each knot's data mass)
/// and clipped to [0, 1]. Outside the knot range the end values are kept. Fit O(n log n);
/// apply O(log K).
public struct PiecewiseLinearCalibrator: Codable, Sendable, Equatable {
    public private(set) var knots: [Double]
    public private(set) var values: [Double]

    public init(knots: [Double], values: [Double]) throws {
        guard knots.count == values.count, !knots.isEmpty else {
            throw RankError.model("piecewise-linear calibrator: needs as many values as knots, at least one")
        }
        for k in knots.indices.dropFirst() where !(knots[k] > knots[k - 1]) {
            throw RankError.model("piecewise-linear calibrator: knots must increase strictly")
        }
        self.knots = knots
        self.values = values
    }

    /// Fits on held-out `scores` and `labels` with at most `knotCount` (>= 2) quantile knots.
    public static func fit(scores: [Float], labels: [Float], weights: [Float]? = nil,
                           knotCount: Int = 20, smoothing: Double = 1e-6) throws -> PiecewiseLinearCalibrator {
        try checkFitInput(scores: scores, labels: labels, weights: weights, name: "piecewise-linear calibrator")
        guard knotCount >= 2 else { throw RankError.config("piecewise-linear calibrator: knotCount must be >= 2, got \(knotCount)") }
        let sorted = scores.map(Double.init).sorted()
        var knots: [Double] = []
        for q in 0..<knotCount {
            let x = sorted[(sorted.count - 1) * q / (knotCount - 1)]
            if knots.last.map({ x > $0 }) ?? true { knots.append(x) }
        }
        var totalW = 0.0, totalY = 0.0
        for i in scores.indices { let w = Double(weights?[i] ?? 1); totalW += w; totalY += w * Double(labels[i]) }
        guard totalW > 0 else { throw RankError.data("piecewise-linear calibrator: all weights are 0") }
        let k = knots.count
        if k == 1 { return try PiecewiseLinearCalibrator(knots: knots, values: [totalY / totalW]) }

        // Normal equations: diag d, off-diagonal e (between k and k+1), right-hand side r.
        var d = [Double](repeating: 0, count: k), e = [Double](repeating: 0, count: k - 1), r = [Double](repeating: 0, count: k)
        for i in scores.indices {
            let w = Double(weights?[i] ?? 1)
            guard w > 0 else { continue }
            let (j, t) = segment(knots, Double(scores[i]))
            let y = Double(labels[i])
            d[j] += w * (1 - t) * (1 - t); d[j + 1] += w * t * t; e[j] += w * t * (1 - t)
            r[j] += w * (1 - t) * y; r[j + 1] += w * t * y
        }
        let mass = d
        let lambda = Swift.max(smoothing, 1e-12) * totalW / Double(k)
        for j in 0..<(k - 1) { d[j] += lambda; d[j + 1] += lambda; e[j] -= lambda }
        var v = solveTridiagonal(diagonal: d, off: e, rhs: r)
        v = poolAdjacentViolators(v, weights: mass.map { Swift.max($0, 1e-12) })
        return try PiecewiseLinearCalibrator(knots: knots, values: v.map { Swift.min(Swift.max($0, 0), 1) })
    }

    /// The calibrated value of `score`.
    public func callAsFunction(_ score: Float) -> Float {
        if knots.count == 1 { return Float(values[0]) }
        let (j, t) = Self.segment(knots, Double(score))
        return Float((1 - t) * values[j] + t * values[j + 1])
    }

    /// Segment index j (knots j, j + 1) and position t in [0, 1] of `x`, clamped to the knot range.
    static func segment(_ knots: [Double], _ x: Double) -> (Int, Double) {
        let n = knots.count
        if x <= knots[0] { return (0, 0) }
        if x >= knots[n - 1] { return (n - 2, 1) }
        var lo = 1, hi = n - 1  // first knot > x
        while lo < hi {
            let mid = (lo + hi) / 2
            if knots[mid] > x { hi = mid } else { lo = mid + 1 }
        }
        return (lo - 1, (x - knots[lo - 1]) / (knots[lo] - knots[lo - 1]))
    }

    /// Symmetric tridiagonal solve (Thomas algorithm); the system is diagonally dominant enough
    /// with the smoothing term. O(k).
    static func solveTridiagonal(diagonal d: [Double], off e: [Double], rhs r: [Double]) -> [Double] {
        let n = d.count
        var c = [Double](repeating: 0, count: n), y = [Double](repeating: 0, count: n)
        c[0] = n > 1 ? e[0] / d[0] : 0
        y[0] = r[0] / d[0]
        for i in 1..<n {
            let m = d[i] - e[i - 1] * c[i - 1]
            if i < n - 1 { c[i] = e[i] / m }
            y[i] = (r[i] - e[i - 1] * y[i - 1]) / m
        }
        var x = y
        for i in stride(from: n - 2, through: 0, by: -1) { x[i] = y[i] - c[i] * x[i + 1] }
        return x
    }
}

/// Weighted least-squares non-decreasing fit of `values` (pool-adjacent-violators). O(n).
func poolAdjacentViolators(_ values: [Double], weights: [Double]) -> [Double] {
    var mean: [Double] = [], weight: [Double] = [], count: [Int] = []
    for (v, w) in zip(values, weights) {
        mean.append(v); weight.append(w); count.append(1)
        while mean.count > 1 && mean[mean.count - 1] < mean[mean.count - 2] {
            let k = mean.count - 1
            let w = weight[k - 1] + weight[k]
            mean[k - 1] = (mean[k - 1] * weight[k - 1] + mean[k] * weight[k]) / w
            weight[k - 1] = w
            count[k - 1] += count[k]
            mean.removeLast(); weight.removeLast(); count.removeLast()
        }
    }
    var out: [Double] = []
    out.reserveCapacity(values.count)
    for (m, c) in zip(mean, count) { out += repeatElement(m, count: c) }
    return out
}
