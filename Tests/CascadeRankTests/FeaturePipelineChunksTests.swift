import CascadeTensor
import Foundation
import Testing
@testable import CascadeRank

/// Fitting and encoding in chunks give what one frame of all the rows gives.
@Suite struct FeaturePipelineChunksTests {
    static let config = FeatureConfig(label: nil, features: [
        FeatureSpec(name: "user", kind: .categorical, minCount: 2),
        FeatureSpec(name: "item", kind: .categorical),
        FeatureSpec(name: "hour", source: "ts", kind: .categorical, derive: .hour),
        FeatureSpec(name: "genres", kind: .bag),
        FeatureSpec(name: "age", kind: .numeric, transform: .standardize),
        FeatureSpec(name: "score", kind: .buckets, buckets: 5),
        .sequence(name: "hist", source: "item", user: "user", time: "ts", length: 4, side: "genres"),
    ])

    static func frame(_ r: Range<Int>) -> FeatureFrame {
        let genres = ["a", "b", "c", "a|b", "b|c|a", ""]
        return FeatureFrame(rowCount: r.count, columns: [
            "user": r.map { "u\($0 * 7 % 13)" }, "item": r.map { "i\($0 * 5 % 17)" }, "genres": r.map { genres[$0 % 6] },
            "age": r.map { $0 % 9 == 0 ? "" : "\(18 + $0 % 40)" }, "score": r.map { "\(Double($0 * 37 % 101) / 10)" },
            "ts": r.map { "\(1_000_000 + $0 * 3_000)" }, "label": r.map { $0 % 3 == 0 ? "1" : "0" },
        ])
    }

    @Test func chunksFitAndEncodeLikeOneFrame() throws {
        let n = 103
        let whole = try FeaturePipeline(config: Self.config, fitOn: Self.frame(0..<n))
        let chunked = try FeaturePipeline(config: Self.config, rows: n, chunkSize: 10, frame: Self.frame)
        #expect(chunked.vocabularies == whole.vocabularies && chunked.cuts == whole.cuts && chunked.moments == whole.moments)
        #expect(chunked.bases == whole.bases && chunked.tableRows == whole.tableRows)
        let history = try whole.history(from: [Self.frame(0..<n)])
        let a = try whole.encode(Self.frame(20..<n), history: history, labelColumns: ["label"])
        let b = try chunked.encode(rows: 20..<n, chunkSize: 9, history: history, labelColumns: ["label"], frame: Self.frame)
        #expect(b.rows == a.rows)
        #expect(b.sparseIds.toArray() == a.sparseIds.toArray())
        #expect(b.dense.toArray() == a.dense.toArray() && b.labels?.toArray() == a.labels?.toArray())
        #expect(b.bags.map(\.offsets) == a.bags.map(\.offsets) && b.bags.map { $0.ids.toArray() } == a.bags.map { $0.ids.toArray() })
        let h = b.histories[0], g = a.histories[0]
        #expect(h.ids.toArray() == g.ids.toArray() && h.mask.toArray() == g.mask.toArray() && h.timeBuckets.toArray() == g.timeBuckets.toArray())
        #expect(h.candidate.toArray() == g.candidate.toArray() && h.side?.toArray() == g.side?.toArray()
                && h.candidateSide?.toArray() == g.candidateSide?.toArray())
        #expect(g.mask.toArray().contains(1))
    }

    /// Past its limit the bucket sample is every k-th value of the stream (k a power of two),
    /// whatever the chunks, so quantiles stay those of the whole stream.
    @Test func theBucketSampleIsAnEvenStrideOfTheStream() throws {
        let config = FeatureConfig(label: nil, features: [FeatureSpec(name: "score", kind: .buckets, buckets: 4)])
        func frame(_ r: Range<Int>) -> FeatureFrame { FeatureFrame(rowCount: r.count, columns: ["score": r.map { String($0) }]) }
        var s = try FitStatistics(config: config, sampleLimit: 10)
        for r in [0..<7, 7..<30, 30..<45] { try s.add(frame(r)) }
        // 45 values, limit 10: the stride grows 1 -> 2 -> 4 -> 8 as the sample passes 10.
        #expect(s.samples["score"] == stride(from: 0, to: 45, by: 8).map(Double.init))
        let p = FeaturePipeline(statistics: s)
        #expect(p.cuts["score"] == [8, 24, 32])  // quantiles 1/4, 2/4, 3/4 of [0, 8, ..., 40]
    }
}
