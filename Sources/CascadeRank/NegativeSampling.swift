import CascadeTensor

/// Negative down-sampling and re-calibration: He et al., "Practical Lessons from Predicting
/// Clicks on Ads at Facebook" (ADKDD 2014), section 6.2.
///
/// Training on every positive and a share `w` of the negatives (chosen uniformly) makes a model
/// predict the odds of the sampled data, which are the true odds divided by w. A prediction q
/// is mapped back to the original space by
///
///     p = q / (q + (1 - q) / w)
///
/// (equivalently logit(p) = logit(q) + log w). It keeps the ranking (AUC) and restores the
/// calibration.
public enum NegativeSampling {
    /// Indices of the rows kept: every positive (label >= 0.5) and each negative with
    /// probability `rate`, in order. Deterministic for a seed. O(rows).
    public static func downsample(labels: [Float], rate: Double, seed: UInt64) throws -> [Int] {
        guard rate > 0, rate <= 1 else { throw RankError.data("negative sampling rate must be in (0, 1], got \(rate)") }
        var rng = TensorRandom(seed: seed)
        var kept: [Int] = []
        kept.reserveCapacity(labels.count)
        for (i, y) in labels.enumerated() {
            if y >= 0.5 || rate >= 1 || Double(rng.nextUnitFloat()) < rate { kept.append(i) }
        }
        return kept
    }

    /// The probability in the original space of a prediction `q` made by a model trained with
    /// negatives kept at `rate`: q / (q + (1 - q) / rate).
    @inlinable public static func recalibrate(_ q: Double, rate: Double) -> Double {
        let d = q + (1 - q) / rate
        return d > 0 ? q / d : 0
    }

    /// The original-space probability of an event that implies a click (like, finish) when the
    /// down-sampled negatives were the *non-clicked* rows: every clicked row was kept, so the
    /// sampled probability of such an event is P(e | x) / (c + w (1 - c)) for the true click
    /// probability c. With the sampled click prediction q_click (c = recalibrate(q_click)),
    /// c + w (1 - c) = w / (1 - q_click (1 - w)), so
    ///
    ///     P(e | x) = q_e w / (1 - q_click (1 - w)).
    @inlinable public static func recalibrateClickImplied(_ q: Double, sampledClick qClick: Double, rate: Double) -> Double {
        let d = 1 - qClick * (1 - rate)
        return d > 0 ? Swift.min(1, q * rate / d) : q
    }

    /// ``recalibrate(_:rate:)`` of each prediction.
    public static func recalibrate(_ q: [Float], rate: Double) -> [Float] {
        q.map { Float(recalibrate(Double($0), rate: rate)) }
    }
}
