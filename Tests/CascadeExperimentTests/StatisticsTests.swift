import CascadeExperiment
import Foundation
import Testing

/// Expected values were computed by hand (closed forms) or with SciPy 1.17 (`stats.t`,
/// `stats.ttest_ind(equal_var=False)`, `special.betainc`).
@Suite struct StatisticsTests {
    @Test func tDistributionMatchesClosedFormsForOneAndTwoDegreesOfFreedom() {
        for t in [-7.5, -2.0, -0.3, 0.0, 0.8, 3.1, 40.0] {
            // df = 1 is Cauchy: F(t) = 1/2 + atan(t)/pi; df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)).
            #expect(abs(ExperimentStatistics.tCDF(t, df: 1) - (0.5 + atan(t) / Double.pi)) < 1e-10)
            #expect(abs(ExperimentStatistics.tCDF(t, df: 2) - (0.5 + t / (2 * (2 + t * t).squareRoot()))) < 1e-10)
        }
        #expect(abs(ExperimentStatistics.tCDF(2.5, df: 7) - 0.9795038907071235) < 1e-9)
        #expect(abs(ExperimentStatistics.tCDF(-1.3, df: 3.5) - 0.1362977079021851) < 1e-9)
        #expect(abs(ExperimentStatistics.regularizedIncompleteBeta(0.3, a: 2.5, b: 1.5) - 0.08894372317066562) < 1e-12)
    }

    @Test func criticalValuesMatchTables() {
        #expect(abs(ExperimentStatistics.tQuantile(0.975, df: 1) - 12.706204736174694) < 1e-6)
        #expect(abs(ExperimentStatistics.tQuantile(0.975, df: 10) - 2.228138851986274) < 1e-7)
        #expect(abs(ExperimentStatistics.tQuantile(0.975, df: 30) - 2.0422724563012378) < 1e-7)
        #expect(abs(ExperimentStatistics.tQuantile(0.025, df: 30) + 2.0422724563012378) < 1e-7)
        #expect(abs(ExperimentStatistics.normalQuantile(0.975) - 1.959963984540054) < 1e-9)
        #expect(abs(ExperimentStatistics.normalQuantile(0.001) + 3.090232306167813) < 1e-9)
        #expect(abs(ExperimentStatistics.normalCDF(1.959963984540054) - 0.975) < 1e-12)
    }

    @Test func welchTestMatchesAHandComputedCase() {
        // a = 2,4,6,8,10 (mean 6, var 10); b = 1..5 (mean 3, var 2.5): se = sqrt(10/5 + 2.5/5) = sqrt(2.5),
        // t = 3 / sqrt(2.5) = 1.8974, df = 2.5^2 / (2^2/4 + 0.5^2/4) = 5.8824.
        let c = ExperimentStatistics.welch(treatment: SampleSummary([2, 4, 6, 8, 10]), control: SampleSummary([1, 2, 3, 4, 5]))
        #expect(abs(c.statistic - 1.8973665961010275) < 1e-12)
        #expect(abs(c.degreesOfFreedom - 5.882352941176471) < 1e-12)
        #expect(abs(c.p - 0.10753119493062728) < 1e-9)
        #expect(c.delta.value == 3)
        let h = 2.458823709699146 * 2.5.squareRoot()
        #expect(abs(c.delta.lo - (3 - h)) < 1e-7 && abs(c.delta.hi - (3 + h)) < 1e-7)
        // Symmetric: swapping the arms flips the sign, keeps p.
        let r = ExperimentStatistics.welch(treatment: SampleSummary([1, 2, 3, 4, 5]), control: SampleSummary([2, 4, 6, 8, 10]))
        #expect(abs(r.statistic + c.statistic) < 1e-12 && abs(r.p - c.p) < 1e-12)
    }

    @Test func pairedTestMatchesAHandComputedCase() {
        // Differences 1..5: mean 3, variance 2.5, se sqrt(0.5), t = sqrt(18), df 4; for df = 4,
        // F(t) = 1/2 + 3/4 x (1 - x^2 / 3) with x = t / sqrt(t^2 + 4): p = 0.0132356.
        let c = ExperimentStatistics.paired([1, 2, 3, 4, 5])
        #expect(abs(c.statistic - 18.0.squareRoot()) < 1e-12 && c.degreesOfFreedom == 4)
        #expect(abs(c.p - 0.013235599563682587) < 1e-9)
        #expect(c.delta.value == 3)
        let h = 2.7764451051977987 * 0.5.squareRoot()
        #expect(abs(c.delta.lo - (3 - h)) < 1e-7 && abs(c.delta.hi - (3 + h)) < 1e-7)
        #expect(ExperimentStatistics.paired([2, 2, 2]).p == 0 && ExperimentStatistics.paired([0, 0]).p == 1)
        #expect(ExperimentStatistics.paired([1]).p.isNaN)
    }

    @Test func meanIntervalUsesTheTDistribution() {
        let s = SampleSummary([3, 5, 8, 2, 7, 4])
        #expect(abs(s.mean - 4.833333333333333) < 1e-12)
        #expect(abs(s.interval.hi - s.mean - 2.4311296491391743) < 1e-7)
        #expect(abs(s.mean - s.interval.lo - 2.4311296491391743) < 1e-7)
    }

    @Test func ctrIntervalIsTheDeltaMethodOverUsers() {
        // Users (clicks, impressions): (1,10) (2,10) (0,5) (3,15). R = 6/40 = 0.15; var(x) = 5/3,
        // var(y) = 50/3, cov = 5; Var(R) = (5/3 - 2*0.15*5 + 0.0225*50/3) / (4 * 10^2) = 0.0013541667.
        let r = RatioSummary(numerators: [1, 2, 0, 3], denominators: [10, 10, 5, 15])
        #expect(abs(r.ratio - 0.15) < 1e-12)
        #expect(abs(r.covariance - 5) < 1e-12)
        #expect(abs(r.varianceOfRatio - 0.0013541666666666667) < 1e-12)
        let half = 1.959963984540054 * 0.0013541666666666667.squareRoot()
        #expect(abs(r.interval.lo - (0.15 - half)) < 1e-9 && abs(r.interval.hi - (0.15 + half)) < 1e-9)
        // The difference of two independent ratios: variances add, z test.
        let c = ExperimentStatistics.ratioDifference(treatment: r, control: r)
        #expect(c.delta.value == 0 && c.p == 1)
        let shifted = RatioSummary(numerators: [1.5, 2.5, 0.25, 3.75], denominators: [10, 10, 5, 15])   // ratio 0.2
        let d = ExperimentStatistics.ratioDifference(treatment: shifted, control: r)
        #expect(abs(d.delta.value - 0.05) < 1e-12)
        #expect(abs(d.statistic - 0.05 / (shifted.varianceOfRatio + r.varianceOfRatio).squareRoot()) < 1e-12)
        #expect(abs(d.p - 2 * ExperimentStatistics.normalCDF(-abs(d.statistic))) < 1e-15)
    }

    @Test func degenerateSamplesGiveUndefinedNotCrashes() {
        let one = SampleSummary([4])
        #expect(one.variance == 0 && one.interval.lo.isNaN)
        #expect(ExperimentStatistics.welch(treatment: one, control: SampleSummary([1, 2])).p.isNaN)
        let constant = ExperimentStatistics.welch(treatment: SampleSummary([2, 2, 2]), control: SampleSummary([2, 2]))
        #expect(constant.p == 1)
        #expect(RatioSummary(numerators: [0, 0], denominators: [0, 0]).ratio.isNaN)
    }

    @Test func pValuesAreUniformUnderTheNullAndSmallUnderAnEffect() {
        // 400 A/A comparisons of 200 normal users each: about 5% below 0.05.
        var rng = LCG(seed: 7)
        var rejections = 0
        for _ in 0..<400 {
            let a = (0..<200).map { _ in rng.normal() }, b = (0..<200).map { _ in rng.normal() }
            if ExperimentStatistics.welch(treatment: SampleSummary(a), control: SampleSummary(b)).p < 0.05 { rejections += 1 }
        }
        #expect(rejections >= 8 && rejections <= 36, "\(rejections) of 400 A/A tests rejected at 5%")
        let a = (0..<200).map { _ in rng.normal() + 0.5 }, b = (0..<200).map { _ in rng.normal() }
        #expect(ExperimentStatistics.welch(treatment: SampleSummary(a), control: SampleSummary(b)).p < 1e-4)
    }
}

/// A small deterministic generator for tests.
struct LCG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6_364_136_223_846_793_005 &+ 1 }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        var z = state
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        return z ^ (z >> 33)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
