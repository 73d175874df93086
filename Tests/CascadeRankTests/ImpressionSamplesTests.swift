import Foundation
import Testing
import CascadeTensor
@testable import CascadeRank

/// Impression frames with per-task labels and a time split; negative down-sampling and its
/// re-calibration.
@Suite struct ImpressionSamplesTests {
    static func records(_ n: Int) -> ImpressionRecords {
        var r = ImpressionRecords()
        var rng = TensorRandom(seed: 11)
        for k in 0..<n {
            r.users.append(Int32(k % 3))
            r.items.append(Int32(k % 4))
            r.timestamps.append(1_700_000_000 + Double((k * 7919) % n) * 60)  // shuffled times
            r.positions.append(k % 10)
            let c = rng.nextUnitFloat() < 0.3
            r.clicked.append(c)
            r.liked.append(c && k % 2 == 0)
            r.finished.append(c && k % 3 == 0)
        }
        r.watchSeconds = (0..<n).map { r.clicked[$0] ? Float($0 % 50) + 1 : 0 }
        r.truth = ["click": (0..<n).map { Float($0) / Float(n) }]
        r.userColumns = ["age_band": ["18-24", "25-34", "35-44"], "user_tags": ["a|b", "", "c"]]
        r.itemColumns = ["category": ["x", "y", "x", "z"], "author": ["a1", "a2", "a3", "a4"]]
        r.itemPublishedAt = [1_699_990_000, 1_699_000_000, 1_700_000_000, 1_600_000_000]
        r.contextColumns = ["follows_author": (0..<n).map { $0 % 5 == 0 ? "1" : "0" }]
        return r
    }

    @Test func buildSplitsByTimeWithLabelsAndTruth() throws {
        let r = Self.records(100)
        let (train, valid, test) = try ImpressionSamples.build(r, validFraction: 0.1, testFraction: 0.2)
        #expect(train.rows == 70 && valid.rows == 10 && test.rows == 20)
        #expect(train.timestamps.max()! <= valid.timestamps.min()!)
        #expect(valid.timestamps.max()! <= test.timestamps.min()!)
        #expect(train.timestamps == train.timestamps.sorted())
        // Row k of a split carries impression k's labels, attributes and truth.
        for split in [train, valid, test] {
            for row in 0..<split.rows {
                let k = r.timestamps.firstIndex(of: split.timestamps[row])!
                #expect(split.users[row] == r.users[k])
                #expect(split.frame.columns["click"]![row] == (r.clicked[k] ? "1" : "0"))
                #expect(split.frame.columns["like"]![row] == (r.liked[k] ? "1" : "0"))
                #expect(split.frame.columns["finish"]![row] == (r.finished[k] ? "1" : "0"))
                #expect(Float(split.frame.columns["watch_time"]![row]) == r.watchSeconds![k])
                #expect(split.frame.columns["category"]![row] == r.itemColumns["category"]![Int(r.items[k])])
                #expect(split.frame.columns["user_tags"]![row] == r.userColumns["user_tags"]![Int(r.users[k])])
                #expect(split.truth["click"]![row] == r.truth["click"]![k])
                #expect(split.frame.columns["follows_author"]![row] == r.contextColumns["follows_author"]![k])
            }
        }
        let config = ImpressionSamples.featureConfig(r)
        let kinds = Dictionary(uniqueKeysWithValues: config.features.map { ($0.name, $0.kind) })
        #expect(kinds["user_tags"] == .bag && kinds["category"] == .categorical && kinds["position"] == .categorical)
        let pipeline = try FeaturePipeline(config: config, fitOn: train.frame)
        let batch = try pipeline.encode(test.frame, labelColumns: ["click", "like", "finish", "watch_time"])
        #expect(batch.labels!.shape.dims == [20, 4])
        #expect(batch.labelColumn(3)! == test.labels("watch_time")!)
        #expect(throws: RankError.self) { try pipeline.encode(test.frame, labelColumns: ["nope"]) }
    }

    @Test func statisticsSeeOnlyOlderImpressions() throws {
        // One user, one item, impressions a minute apart, clicks on the first two.
        var r = ImpressionRecords()
        for k in 0..<5 {
            r.users.append(0); r.items.append(0); r.timestamps.append(Double(k) * 60); r.positions.append(0)
            r.clicked.append(k < 2); r.liked.append(k == 0); r.finished.append(false)
        }
        let (train, _, _) = try ImpressionSamples.build(r, validFraction: 0, testFraction: 0, statisticsDelay: 90)
        // Row k sees impressions with t <= 60k - 90: none for k = 0, 1; one for k = 2; two for 3; three for 4.
        #expect(train.frame.columns["user_impressions"]! == ["0.0", "0.0", "1.0", "2.0", "3.0"])
        #expect(train.frame.columns["item_impressions"]! == train.frame.columns["user_impressions"]!)
        // Row 3: 2 clicks in 2 impressions, global rate (2 + 1) / (2 + 10) = 0.25: (2 + 10 * 0.25) / 12.
        let ctr = Double(train.frame.columns["item_ctr"]![3])!
        #expect(abs(ctr - 4.5 / 12) < 1e-6)
        // Like given click at row 3: 1 like in 2 clicks, global (1 + 1) / (2 + 4): (1 + 10 / 3) / 12.
        let likeRate = Double(train.frame.columns["user_like_rate"]![3])!
        let expectedLike: Double = (1 + 10.0 / 3) / 12
        #expect(abs(likeRate - expectedLike) < 1e-6)
        let config = ImpressionSamples.featureConfig(r, statistics: true)
        #expect(ImpressionSamples.statisticsColumns.allSatisfy { c in config.features.contains { $0.name == c } })
        _ = try FeaturePipeline(config: config, fitOn: train.frame)
    }

    @Test func crossStatisticsCountTheUsersHitsOnTheCandidatesValue() throws {
        // One user; item 0 in category A, item 1 in B; impressions a minute apart (item 0 clicked
        // at t = 0), lag 30 s.
        var r = ImpressionRecords()
        for (k, item) in [0, 1, 0, 0].enumerated() {
            r.users.append(0); r.items.append(Int32(item)); r.timestamps.append(Double(k) * 60); r.positions.append(0)
            r.clicked.append(k == 0); r.liked.append(false); r.finished.append(false)
        }
        r.itemColumns["category"] = ["A", "B"]
        let (train, _, _) = try ImpressionSamples.build(r, validFraction: 0, testFraction: 0, statisticsDelay: 30,
                                                        crossColumns: ["category"])
        #expect(train.frame.columns["user_category_impressions"]! == ["0.0", "0.0", "1.0", "2.0"])
        let ctr = train.frame.columns["user_category_ctr"]!.map { Double($0)! }
        // Row 1 (B, never shown before): the user's smoothed rate. Global (1 + 1) / (1 + 10) = 2/11,
        // user (1 + 10 * 2/11) / (1 + 10) = 31/121; no B impressions: (0 + 5 * 31/121) / 5.
        #expect(abs(ctr[1] - 31.0 / 121) < 1e-6)
        // Row 3 (A, 1 click in 2): global (1 + 1) / (3 + 10) = 2/13, user (1 + 20/13) / 13 = 33/169,
        // (1 + 5 * 33/169) / 7 = 334/1183.
        #expect(abs(ctr[3] - 334.0 / 1183) < 1e-6)
        let config = ImpressionSamples.featureConfig(r, statistics: true, crossColumns: ["category"])
        #expect(config.features.contains { $0.name == "user_category_ctr" })
        #expect(throws: RankError.self) { try ImpressionSamples.build(r, statisticsDelay: 30, crossColumns: ["nope"]) }
        #expect(throws: RankError.self) { try ImpressionSamples.build(r, crossColumns: ["category"]) }
    }

    @Test func mismatchedColumnsAreRejected() throws {
        var r = Self.records(10)
        r.liked.removeLast()
        #expect(throws: RankError.self) { try ImpressionSamples.build(r) }
        var s = Self.records(10)
        s.items[3] = 9
        #expect(throws: RankError.self) { try ImpressionSamples.build(s) }
    }

    @Test func recalibrationHandComputed() {
        // q / (q + (1 - q) / w): 0.5 / (0.5 + 0.5 / 0.1) = 0.5 / 5.5 = 1 / 11.
        #expect(abs(NegativeSampling.recalibrate(0.5, rate: 0.1) - 1.0 / 11) < 1e-12)
        // 0.2 / (0.2 + 0.8 / 0.25) = 0.2 / 3.4 = 1 / 17.
        #expect(abs(NegativeSampling.recalibrate(0.2, rate: 0.25) - 1.0 / 17) < 1e-12)
        #expect(NegativeSampling.recalibrate(0.3, rate: 1) == 0.3)
        #expect(NegativeSampling.recalibrate(0, rate: 0.1) == 0 && NegativeSampling.recalibrate(1, rate: 0.1) == 1)
        // Same as adding log w to the logit.
        let q = 0.37, w = 0.05
        let viaLogit = 1 / (1 + exp(-(log(q / (1 - q)) + log(w))))
        #expect(abs(NegativeSampling.recalibrate(q, rate: w) - viaLogit) < 1e-12)
    }

    @Test func downsampledRatesRecalibrateToTheBaseRate() throws {
        // Four groups with base rates 1%..20%; keep negatives at w = 0.1; the sampled rate of
        // each group, recalibrated, estimates its base rate, so the mean over all rows matches.
        var rng = TensorRandom(seed: 5)
        let rates: [Float] = [0.01, 0.03, 0.08, 0.2]
        let n = 200_000
        let group = (0..<n).map { $0 % 4 }
        let labels: [Float] = group.map { rng.nextUnitFloat() < rates[$0] ? 1 : 0 }
        let w = 0.1
        let kept = try NegativeSampling.downsample(labels: labels, rate: w, seed: 9)
        #expect(kept == kept.sorted())
        let positives = labels.filter { $0 == 1 }.count
        #expect(kept.filter { labels[$0] == 1 }.count == positives)  // every positive kept
        let negativesKept = Double(kept.count - positives), negatives = Double(n - positives)
        #expect(abs(negativesKept / negatives - w) < 0.005)
        var sum = [Double](repeating: 0, count: 4), cnt = [Double](repeating: 0, count: 4)
        for i in kept { sum[group[i]] += Double(labels[i]); cnt[group[i]] += 1 }
        let sampledRate = (0..<4).map { sum[$0] / cnt[$0] }
        var recalibratedMean = 0.0
        for i in 0..<n { recalibratedMean += NegativeSampling.recalibrate(sampledRate[group[i]], rate: w) }
        recalibratedMean /= Double(n)
        let baseRate = Double(positives) / Double(n)
        let sampledMean = Double(positives) / Double(kept.count)
        #expect(sampledMean > 3 * baseRate)  // the sample is far off before re-calibration
        #expect(abs(recalibratedMean - baseRate) < 0.03 * baseRate, "recalibrated \(recalibratedMean) vs base \(baseRate)")
        #expect(throws: RankError.self) { try NegativeSampling.downsample(labels: labels, rate: 0, seed: 1) }
    }

    @Test func clickImpliedEventsRecalibrate() throws {
        // True click c = 0.2, like given click 0.5 (like = 0.1); negatives (non-clicks) kept at w = 0.25.
        // Sampled: mass 0.2 + 0.25 * 0.8 = 0.4, so q_click = 0.5 and q_like = 0.1 / 0.4 = 0.25.
        #expect(abs(NegativeSampling.recalibrate(0.5, rate: 0.25) - 0.2) < 1e-12)
        #expect(abs(NegativeSampling.recalibrateClickImplied(0.25, sampledClick: 0.5, rate: 0.25) - 0.1) < 1e-12)
        #expect(NegativeSampling.recalibrateClickImplied(0.3, sampledClick: 0.7, rate: 1) == 0.3)
    }
}
