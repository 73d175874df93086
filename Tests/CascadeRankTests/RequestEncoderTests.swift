import CascadeRank
import CascadeTensor
import Foundation
import Testing

/// The per-item table path equals the full encode of the same rows.
@Suite struct RequestEncoderTests {
    static let config = FeatureConfig(label: nil, features: [
        FeatureSpec(name: "user", kind: .categorical, side: .user),
        FeatureSpec(name: "item", kind: .categorical, side: .item),
        FeatureSpec(name: "hour", source: "timestamp", kind: .categorical, derive: .hour),
        FeatureSpec(name: "city", kind: .hashed, buckets: 50, side: .user),
        FeatureSpec(name: "age", source: "age_hours", kind: .buckets, buckets: 4, side: .item),
        FeatureSpec(name: "category", kind: .categorical, side: .item),
        FeatureSpec(name: "tags", kind: .bag, separator: "|", side: .item),
    ])

    static func frame(users: [String], items: [Int], time: Double, published: [Double]) -> FeatureFrame {
        FeatureFrame(rowCount: items.count, columns: [
            "user": users, "item": items.map { "i\($0)" }, "timestamp": items.map { _ in String(time) },
            "city": users.map { "c\($0.count)" },
            "age_hours": items.map { String((time - published[$0]) / 3_600) },
            "category": items.map { "cat\($0 % 3)" },
            "tags": items.map { $0 % 4 == 0 ? "" : (0..<($0 % 3 + 1)).map { "t\($0 + 1)" }.joined(separator: "|") },
        ])
    }

    @Test func tablePathEqualsFullEncode() throws {
        let published = (0..<40).map { Double($0) * 7_200 }
        let train = Self.frame(users: (0..<40).map { "u\($0 % 7)" }, items: Array(0..<40), time: 400_000, published: published)
        let pipeline = try FeaturePipeline(config: Self.config, fitOn: train)
        let all = Self.frame(users: [String](repeating: "", count: 40), items: Array(0..<40), time: 0, published: published)
        let encoder = try #require(try RequestEncoder(pipeline: pipeline, items: all, perCandidateColumns: ["age_hours"]))
        let candidates = [5, 0, 39, 12, 12, 33, 7]
        for (user, time) in [("u3", 300_000.0), ("stranger", 123_456.0)] {
            let full = try pipeline.encodeInputs(Self.frame(users: candidates.map { _ in user }, items: candidates, time: time, published: published))
            let request = Self.frame(users: [user], items: [candidates[0]], time: time, published: published)
            let perCandidate = FeatureFrame(rowCount: candidates.count, columns: [
                "age_hours": candidates.map { String((time - published[$0]) / 3_600) }])
            let fast = try encoder.encode(request: request, items: candidates.map { Int32($0) }, perCandidate: perCandidate)
            #expect(fast.sparseIds.toArray() == full.sparseIds.toArray())
            // Bucketed columns given as numbers encode as their text does.
            let numbers = try encoder.encode(request: request, items: candidates.map { Int32($0) }, perCandidate: FeatureFrame(rowCount: candidates.count, columns: [:]),
                                             numeric: ["age_hours": candidates.map { (time - published[$0]) / 3_600 }])
            #expect(numbers.sparseIds.toArray() == full.sparseIds.toArray())
            #expect(fast.bags.count == full.bags.count)
            for (a, b) in zip(fast.bags, full.bags) {
                #expect(a.offsets == b.offsets)
                #expect(a.ids.toArray() == b.ids.toArray())
            }
        }
        // Numeric features have no table path.
        var withDense = Self.config
        withDense.features.append(FeatureSpec(name: "score", kind: .numeric))
        var t2 = train
        t2.columns["score"] = (0..<40).map { String($0) }
        #expect(try RequestEncoder(pipeline: FeaturePipeline(config: withDense, fitOn: t2), items: all, perCandidateColumns: []) == nil)
    }
}
