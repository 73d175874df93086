import Foundation
import Testing
import CascadeTensor
@testable import CascadeRank

/// Streaming updates: windows by time, predictions made before each window's labels are learnt,
/// and catalog ids that start with rows of their own.
@Suite struct OnlineRankLearnerTests {
    @Test func windowsCutTheStreamByTime() throws {
        let w = try OnlineRankLearner.windows(timestamps: [0, 10, 3_599, 3_600, 3_700, 9_000], seconds: 3_600)
        #expect(w == [0..<3, 3..<5, 5..<6])
        #expect(try OnlineRankLearner.windows(timestamps: [], seconds: 60).isEmpty)
        #expect(throws: RankError.self) { try OnlineRankLearner.windows(timestamps: [5, 4], seconds: 60) }
        #expect(throws: RankError.self) { try OnlineRankLearner.windows(timestamps: [1], seconds: 0) }
    }

    @Test func catalogIdsGetTheirOwnRows() throws {
        let f = RankModelTests.frame(rows: 50, seed: 1)
        #expect(!f.columns["item"]!.contains("i99"))
        let plain = try FeaturePipeline(config: RankModelTests.config, fitOn: f)
        let withCatalog = try FeaturePipeline(config: RankModelTests.config, fitOn: f, catalog: ["item": ["i99", "i0"]])
        #expect(withCatalog.vocabularies["item"]!.count == plain.vocabularies["item"]!.count + 1)
        #expect(withCatalog.vocabularies["item"]!["i99"] != nil && plain.vocabularies["item"]!["i99"] == nil)
        #expect(throws: RankError.self) {
            try FeaturePipeline(config: RankModelTests.config, fitOn: f, catalog: ["genres": ["x"]])
        }
        #expect(throws: RankError.self) {
            try FeaturePipeline(config: RankModelTests.config, fitOn: f, catalog: ["nope": ["x"]])
        }
    }

    /// A stream in which an item unseen in training ("i99", known from the catalog) is always
    /// clicked and every other item never: the learner predicts each window before learning it,
    /// so its first window matches the offline model exactly and the new item rises as it learns.
    @Test func progressivePredictsEachWindowBeforeLearningIt() throws {
        var train = RankModelTests.frame(rows: 400, seed: 3)
        train.columns["label"] = [String](repeating: "0", count: 400)
        let pipeline = try FeaturePipeline(config: RankModelTests.config, fitOn: train, catalog: ["item": ["i99"]])
        var stream = RankModelTests.frame(rows: 600, seed: 4)
        for r in stride(from: 0, to: 600, by: 3) { stream.columns["item"]![r] = "i99" }
        stream.columns["label"] = stream.columns["item"]!.map { $0 == "i99" ? "1" : "0" }
        stream.columns["ts"] = (0..<600).map { String(1_000 * $0) }
        let model = try RankModelRegistry.make("dcnv2", pipeline: pipeline, parameters: RankModelTests().smallConfig())
        var options = RankTrainingOptions()
        options.epochs = 2
        options.batchSize = 32
        options.learningRate = 0.02
        let data = try pipeline.encode(train), rows = try pipeline.encode(stream)
        _ = try RankTrainer.fit(model, train: data, valid: nil, options: options)
        let before = try model.predict(rows).map { $0[0] }

        let learner = try OnlineRankLearner(model, options: options)
        let windows = try OnlineRankLearner.windows(timestamps: (0..<600).map { Double(1_000 * $0) }, seconds: 30_000)
        #expect(windows.count == 20)
        let p = try learner.progressive(rows, windows: windows).map { $0[0] }
        #expect(p.count == 600 && learner.rowsLearnt == 600)
        for r in windows[0] { #expect(abs(p[r] - before[r]) < 1e-6) }
        let last = windows[19]
        let newItem = last.filter { $0 % 3 == 0 }, others = last.filter { $0 % 3 != 0 }
        let meanNew = newItem.map { p[$0] }.reduce(0, +) / Float(newItem.count)
        let meanOther = others.map { p[$0] }.reduce(0, +) / Float(others.count)
        #expect(meanNew > 0.8 && meanOther < 0.2, "new item \(meanNew), others \(meanOther)")
        #expect(before[last.lowerBound] < 0.2)  // never clicked offline

        #expect(throws: RankError.self) { try learner.progressive(rows, windows: [0..<10, 20..<600]) }
        #expect(throws: RankError.self) { try learner.progressive(rows, windows: [0..<10]) }
    }
}
