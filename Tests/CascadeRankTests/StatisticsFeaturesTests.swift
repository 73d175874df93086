import Testing
@testable import CascadeRank

@Suite struct StatisticsFeaturesTests {
    @Test func windowedCountersRecycleDays() {
        var c = WindowedCounters(kinds: 1, horizonDays: 7)
        c.add("a", kind: 0, day: 100)
        c.add("a", kind: 0, day: 105, amount: 2)
        #expect(c.count("a", kind: 0, day: 105, window: 1) == 2)
        #expect(c.count("a", kind: 0, day: 105, window: 7) == 3)
        #expect(c.count("a", kind: 0, day: 107, window: 7) == 2)  // day 100 fell out
        c.add("a", kind: 0, day: 107)                           // reuses day 100's slot
        #expect(c.count("a", kind: 0, day: 107, window: 30) == 3)
        #expect(c.count("a", kind: 0, day: 107, window: nil) == 4)
        #expect(c.count("b", kind: 0, day: 107, window: nil) == 0)
        #expect(WindowedCounters.smoothedRate(successes: 3, trials: 4, prior: 4, mean: 0.5) == 0.625)
    }

    @Test func rowsSeeOnlyThePastAndFrozenLabels() throws {
        let s = StatisticsFeatures(keys: ["user"], prior: 2)
        // Two rows at the same time never see each other; labels of the test frame are never used.
        var train = FeatureFrame(rowCount: 4, columns: [
            "user": ["u", "u", "u", "v"], "timestamp": ["0", "0", "86400", "86400"], "label": ["1", "1", "0", "1"]])
        try s.augment(&train, learnLabels: true)
        #expect(train.columns["user_count"] == ["0.0", "0.0", "2.0", "0.0"])
        // Row 3: global mean 1.0 after two positives; u had 2/2 -> (2 + 2 * 1) / (2 + 2) = 1.
        #expect(train.columns["user_rate"]![2] == "1.0")
        #expect(train.columns["user_count_1d"] == ["0.0", "0.0", "0.0", "0.0"])
        var test = FeatureFrame(rowCount: 2, columns: ["user": ["u", "u"], "timestamp": ["172800", "172801"], "label": ["0", "0"]])
        try s.augment(&test, learnLabels: false)
        // Exposures are counted online (3 then 4), the rate uses training labels only:
        // u had 2 of 3 positive, global mean 3/4 -> (2 + 2 * 0.75) / (3 + 2) = 0.7.
        #expect(test.columns["user_count"] == ["3.0", "4.0"])
        #expect(test.columns["user_rate"]![0] == test.columns["user_rate"]![1])
        #expect(abs(Float(test.columns["user_rate"]![1])! - 0.7) < 1e-6)
        #expect(test.columns["user_count_1d"] == ["0.0", "1.0"])  // only day 2 counts
        #expect(test.columns["user_count_7d"] == ["3.0", "4.0"])
    }

    @Test func missingColumnsAreNamed() {
        let s = StatisticsFeatures(keys: ["user"])
        var f = FeatureFrame(rowCount: 1, columns: ["timestamp": ["0"], "label": ["1"]])
        #expect(throws: RankError.self) { try s.augment(&f, learnLabels: true) }
    }
}
