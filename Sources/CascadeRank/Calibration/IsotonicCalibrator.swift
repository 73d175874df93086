import Foundation

/// Isotonic regression of labels on scores by pool-adjacent-violators (Ayer et al., "An
/// Empirical Distribution Function for Sampling with Incomplete Information", 1955; used for
/// probability calibration by Zadrozny and Elkan, KDD 2002).
///
/// Fitting sorts the rows by score, pools equal scores into one block, then scans left to right
/// keeping a stack of blocks with non-decreasing mean label: a block whose mean is below its
/// predecessor's is merged into it (repeatedly), so the fit is the least-squares non-decreasing
/// step function. Each block keeps its weighted mean score (its centre) and mean label.
///
/// Serving interpolates linearly between neighbouring block centres (a step function would map
/// nearby scores to very different values and tie many candidates), and clamps to the first and
/// last block's value outside the fitted range. The map is monotone (non-decreasing) by
/// construction. Fit O(n log n); apply O(log blocks).
public struct IsotonicCalibrator: Codable, Sendable, Equatable {
    /// Block centres (weighted mean score of each block), strictly increasing.
    public private(set) var centres: [Double]
    /// Block values (weighted mean label), non-decreasing.
    public private(set) var values: [Double]

    public init(centres: [Double], values: [Double]) throws {
        guard centres.count == values.count, !centres.isEmpty else {
            throw RankError.model("isotonic calibrator: needs as many values as centres, at least one")
        }
        self.centres = centres
        self.values = values
    }

    /// Fits on held-out `scores` and `labels` (targets in [0, 1]; optional weights >= 0).
    public static func fit(scores: [Float], labels: [Float], weights: [Float]? = nil) throws -> IsotonicCalibrator {
        try checkFitInput(scores: scores, labels: labels, weights: weights, name: "isotonic calibrator")
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        // Blocks as a stack: weight, weighted label sum, weighted score sum.
        var w: [Double] = [], sy: [Double] = [], sx: [Double] = []
        w.reserveCapacity(scores.count); sy.reserveCapacity(scores.count); sx.reserveCapacity(scores.count)
        var lastScore = -Float.infinity
        for i in order {
            let wi = Double(weights?[i] ?? 1)
            guard wi > 0 else { continue }
            let x = Double(scores[i]), y = Double(labels[i])
            if !w.isEmpty && scores[i] == lastScore {
                // Equal scores must map to one value: pool them into the current block.
                w[w.count - 1] += wi; sy[sy.count - 1] += wi * y; sx[sx.count - 1] += wi * x
            } else {
                w.append(wi); sy.append(wi * y); sx.append(wi * x)
            }
            lastScore = scores[i]
            // Pool while the last block's mean is below its predecessor's.
            while w.count > 1 && sy[w.count - 1] / w[w.count - 1] < sy[w.count - 2] / w[w.count - 2] {
                let k = w.count - 1
                w[k - 1] += w[k]; sy[k - 1] += sy[k]; sx[k - 1] += sx[k]
                w.removeLast(); sy.removeLast(); sx.removeLast()
            }
        }
        guard !w.isEmpty else { throw RankError.data("isotonic calibrator: all weights are 0") }
        var centres: [Double] = [], values: [Double] = []
        for k in w.indices {
            let c = sx[k] / w[k], v = sy[k] / w[k]
            // Merged blocks can share a centre only through rounding; keep centres strictly increasing.
            if let last = centres.last, c <= last { values[values.count - 1] = Swift.max(values[values.count - 1], v); continue }
            centres.append(c)
            values.append(v)
        }
        return try IsotonicCalibrator(centres: centres, values: values)
    }

    /// The calibrated value of `score`: linear between block centres, clamped outside them.
    public func callAsFunction(_ score: Float) -> Float {
        let s = Double(score)
        guard s > centres[0] else { return Float(values[0]) }
        guard s < centres[centres.count - 1] else { return Float(values[values.count - 1]) }
        // First centre > s.
        var lo = 1, hi = centres.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if centres[mid] > s { hi = mid } else { lo = mid + 1 }
        }
        let x0 = centres[lo - 1], x1 = centres[lo], y0 = values[lo - 1], y1 = values[lo]
        return Float(y0 + (y1 - y0) * (s - x0) / (x1 - x0))
    }

    /// Number of blocks kept.
    public var blockCount: Int { centres.count }
}

func checkFitInput(scores: [Float], labels: [Float], weights: [Float]?, name: String) throws {
    guard scores.count == labels.count else {
        throw RankError.data("\(name): \(scores.count) scores but \(labels.count) labels")
    }
    guard !scores.isEmpty else { throw RankError.data("\(name): no rows to fit on") }
    if let w = weights, w.count != scores.count {
        throw RankError.data("\(name): \(w.count) weights for \(scores.count) rows")
    }
    for (i, (s, y)) in zip(scores, labels).enumerated() {
        guard s.isFinite else { throw RankError.data("\(name): score \(s) at row \(i) is not finite") }
        guard y >= 0 && y <= 1 else { throw RankError.data("\(name): label \(y) at row \(i) is outside [0, 1]") }
        if let w = weights, !(w[i] >= 0) { throw RankError.data("\(name): weight \(w[i]) at row \(i) is negative") }
    }
}
