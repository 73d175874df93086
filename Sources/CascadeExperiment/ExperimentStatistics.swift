import Foundation

/// An estimate with its 95% confidence interval.
public struct Estimate: Sendable, Equatable {
    public var value: Double
    public var lo: Double
    public var hi: Double
    public init(value: Double, lo: Double, hi: Double) {
        self.value = value
        self.lo = lo
        self.hi = hi
    }
    static let undefined = Estimate(value: .nan, lo: .nan, hi: .nan)
}

/// The difference of a treatment against the control, with its test.
public struct Comparison: Sendable, Equatable {
    /// treatment - control, with its 95% interval.
    public var delta: Estimate
    /// The test statistic (t or z).
    public var statistic: Double
    /// Degrees of freedom of the t test (infinity for a z test).
    public var degreesOfFreedom: Double
    /// Two-sided p-value.
    public var p: Double
}

/// Mean and unbiased variance of per-user values.
public struct SampleSummary: Sendable, Equatable {
    public var n: Int
    public var mean: Double
    /// Unbiased sample variance (n - 1 in the denominator); 0 when n < 2.
    public var variance: Double

    /// Welford's one-pass mean and variance.
    public init<S: Sequence<Double>>(_ values: S) {
        var n = 0, mean = 0.0, m2 = 0.0
        for x in values {
            n += 1
            let d = x - mean
            mean += d / Double(n)
            m2 += d * (x - mean)
        }
        self.n = n
        self.mean = n > 0 ? mean : .nan
        variance = n > 1 ? m2 / Double(n - 1) : 0
    }

    public var standardError: Double { n > 0 ? (variance / Double(n)).squareRoot() : .nan }

    /// The mean with its 95% t interval (n - 1 degrees of freedom).
    public var interval: Estimate {
        guard n >= 2 else { return Estimate(value: mean, lo: .nan, hi: .nan) }
        let h = ExperimentStatistics.tQuantile(0.975, df: Double(n - 1)) * standardError
        return Estimate(value: mean, lo: mean - h, hi: mean + h)
    }
}

/// A ratio metric over users, `sum(numerator) / sum(denominator)` (CTR: clicks over impressions),
/// with the per-user sums it needs for the delta method.
public struct RatioSummary: Sendable, Equatable {
    public var n: Int
    public var numerator: SampleSummary
    public var denominator: SampleSummary
    /// Sample covariance of the per-user numerator and denominator.
    public var covariance: Double

    public init(numerators: [Double], denominators: [Double]) {
        precondition(numerators.count == denominators.count, "RatioSummary: \(numerators.count) numerators, \(denominators.count) denominators")
        n = numerators.count
        numerator = SampleSummary(numerators)
        denominator = SampleSummary(denominators)
        var c = 0.0
        if n > 1 {
            for k in 0..<n { c += (numerators[k] - numerator.mean) * (denominators[k] - denominator.mean) }
            c /= Double(n - 1)
        }
        covariance = c
    }

    public var ratio: Double { denominator.mean > 0 ? numerator.mean / denominator.mean : .nan }

    /// Variance of the ratio estimate by the delta method, users as the unit (clustered: a user's
    /// impressions are not independent of each other):
    /// `Var(R) = (var(x) - 2 R cov(x, y) + R^2 var(y)) / (n * mean(y)^2)`
    /// (Kohavi, Tang and Xu 2020, ch. 18; Deng, Knoblich and Lu 2018).
    public var varianceOfRatio: Double {
        let r = ratio, my = denominator.mean
        guard n >= 2, my > 0, r.isFinite else { return .nan }
        return max(0, numerator.variance - 2 * r * covariance + r * r * denominator.variance) / (Double(n) * my * my)
    }

    /// The ratio with its 95% normal interval.
    public var interval: Estimate {
        let se = varianceOfRatio.squareRoot()
        guard se.isFinite else { return Estimate(value: ratio, lo: .nan, hi: .nan) }
        let z = ExperimentStatistics.normalQuantile(0.975)
        return Estimate(value: ratio, lo: ratio - z * se, hi: ratio + z * se)
    }
}

/// Tests and distributions for experiment reports.
public enum ExperimentStatistics {
    /// Welch's t test of `treatment - control` on per-user values: unequal variances,
    /// Welch-Satterthwaite degrees of freedom, two-sided p from the t distribution; the 95%
    /// interval of the difference uses the same degrees of freedom.
    public static func welch(treatment a: SampleSummary, control b: SampleSummary) -> Comparison {
        let d = a.mean - b.mean
        let va = a.n > 0 ? a.variance / Double(a.n) : .nan, vb = b.n > 0 ? b.variance / Double(b.n) : .nan
        let se = (va + vb).squareRoot()
        guard a.n >= 2, b.n >= 2, se.isFinite else {
            return Comparison(delta: Estimate(value: d, lo: .nan, hi: .nan), statistic: .nan, degreesOfFreedom: .nan, p: .nan)
        }
        if se == 0 {
            // Both arms constant: equal means are no evidence of anything, unequal ones are certain.
            let p = d == 0 ? 1.0 : 0.0
            return Comparison(delta: Estimate(value: d, lo: d, hi: d), statistic: d == 0 ? 0 : .infinity, degreesOfFreedom: .infinity, p: p)
        }
        let df = (va + vb) * (va + vb) / (va * va / Double(a.n - 1) + vb * vb / Double(b.n - 1))
        let t = d / se
        let h = tQuantile(0.975, df: df) * se
        return Comparison(delta: Estimate(value: d, lo: d - h, hi: d + h), statistic: t, degreesOfFreedom: df,
                          p: tTwoSidedP(t, df: df))
    }

    /// Paired t test of per-unit differences (treatment - control on the same unit): their mean
    /// with its 95% t interval, two-sided p, n - 1 degrees of freedom.
    public static func paired(_ differences: [Double]) -> Comparison {
        let s = SampleSummary(differences)
        guard s.n >= 2 else { return Comparison(delta: Estimate(value: s.mean, lo: .nan, hi: .nan), statistic: .nan, degreesOfFreedom: .nan, p: .nan) }
        let se = s.standardError
        if se == 0 {
            return Comparison(delta: Estimate(value: s.mean, lo: s.mean, hi: s.mean), statistic: s.mean == 0 ? 0 : .infinity,
                              degreesOfFreedom: Double(s.n - 1), p: s.mean == 0 ? 1 : 0)
        }
        let t = s.mean / se
        return Comparison(delta: s.interval, statistic: t, degreesOfFreedom: Double(s.n - 1), p: tTwoSidedP(t, df: Double(s.n - 1)))
    }

    /// z test of the difference of two independent ratio metrics, each by the delta method.
    public static func ratioDifference(treatment a: RatioSummary, control b: RatioSummary) -> Comparison {
        let d = a.ratio - b.ratio
        let se = (a.varianceOfRatio + b.varianceOfRatio).squareRoot()
        guard se.isFinite, se > 0 else {
            return Comparison(delta: Estimate(value: d, lo: .nan, hi: .nan), statistic: .nan, degreesOfFreedom: .infinity, p: .nan)
        }
        let z = d / se
        let h = normalQuantile(0.975) * se
        return Comparison(delta: Estimate(value: d, lo: d - h, hi: d + h), statistic: z, degreesOfFreedom: .infinity,
                          p: 2 * normalCDF(-abs(z)))
    }

    // MARK: - Distributions

    /// Standard normal CDF, `erfc(-z / sqrt 2) / 2`.
    public static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// Standard normal quantile: Acklam's rational approximation, refined by one Halley step
    /// (absolute error below 1e-12 in (0, 1)).
    public static func normalQuantile(_ p: Double) -> Double {
        guard p > 0 else { return -.infinity }
        guard p < 1 else { return .infinity }
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = normalCDF(x) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    /// The regularized incomplete beta function `I_x(a, b)`, by the continued fraction of
    /// Numerical Recipes (modified Lentz), using the symmetry `I_x(a, b) = 1 - I_{1-x}(b, a)`
    /// where that converges faster.
    public static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        guard x > 0 else { return 0 }
        guard x < 1 else { return 1 }
        let lnFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(lnFront) * betaContinuedFraction(x, a: a, b: b) / a
        }
        return 1 - exp(lnFront) * betaContinuedFraction(1 - x, a: b, b: a) / b
    }

    static func betaContinuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300, eps = 1e-15
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < eps { break }
        }
        return h
    }

    /// Two-sided p-value of `t` under Student's t with `df` degrees of freedom:
    /// `P(|T| >= |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2)`. Infinite `df` gives the normal one.
    public static func tTwoSidedP(_ t: Double, df: Double) -> Double {
        guard t.isFinite else { return t.isNaN ? .nan : 0 }
        guard df.isFinite else { return 2 * normalCDF(-abs(t)) }
        return regularizedIncompleteBeta(df / (df + t * t), a: df / 2, b: 0.5)
    }

    /// Student's t CDF.
    public static func tCDF(_ t: Double, df: Double) -> Double {
        let tail = tTwoSidedP(t, df: df) / 2
        return t >= 0 ? 1 - tail : tail
    }

    /// Student's t quantile: bisection on ``tCDF(_:df:)`` (to 1e-10), normal for infinite df.
    public static func tQuantile(_ p: Double, df: Double) -> Double {
        guard p > 0 else { return -.infinity }
        guard p < 1 else { return .infinity }
        guard df.isFinite else { return normalQuantile(p) }
        if p < 0.5 { return -tQuantile(1 - p, df: df) }
        var lo = 0.0, hi = 1.0
        while tCDF(hi, df: df) < p { lo = hi; hi *= 2; if hi > 1e12 { return hi } }
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if tCDF(mid, df: df) < p { lo = mid } else { hi = mid }
            if hi - lo < 1e-10 * max(1, hi) { break }
        }
        return 0.5 * (lo + hi)
    }
}
