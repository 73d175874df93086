import Foundation
import Testing
import CascadeTensor
@testable import CascadeRank

@Suite struct FeaturePipelineTests {
    let config = FeatureConfig(label: "label", features: [
        FeatureSpec(name: "user", kind: .categorical),
        FeatureSpec(name: "city", kind: .categorical, minCount: 2),
        FeatureSpec(name: "zip", kind: .hashed, buckets: 16),
        FeatureSpec(name: "genres", kind: .bag, separator: "|"),
        FeatureSpec(name: "age", kind: .numeric, transform: .standardize),
        FeatureSpec(name: "views", kind: .numeric, transform: .log1p, defaultValue: "0"),
        FeatureSpec(name: "age_bucket", source: "age", kind: .buckets, buckets: 2),
        FeatureSpec(name: "hour", source: "ts", kind: .categorical, derive: .hour),
    ])

    var train: FeatureFrame {
        FeatureFrame(rowCount: 4, columns: [
            "label": ["1", "0", "0", "1"],
            "user": ["a", "b", "a", "c"],
            "city": ["x", "x", "y", "x"],
            "zip": ["100", "200", "100", ""],
            "genres": ["Drama|Comedy", "Drama", "", "Action|Drama"],
            "age": ["20", "30", "40", "50"],
            "views": ["0", "9", "99", ""],
            "ts": ["0", "3600", "7200", "90000"],
        ])
    }

    @Test func encodesEveryKind() throws {
        let p = try FeaturePipeline(config: config, fitOn: train)
        let b = try p.encode(train)
        #expect(b.rows == 4 && b.fieldCount == 6)
        // Field sizes: user a,b,c (+OOV) = 4; city x only (y seen once) = 2; zip 17; age_bucket cuts;
        // hour {0,1,2} + OOV = 4; genres 3 + OOV.
        #expect(p.fieldSizes[0] == 4 && p.fieldSizes[1] == 2 && p.fieldSizes[2] == 17)
        let ids = b.sparseIds.toArray(), w = p.sparseFeatures.count
        // user: sorted vocabulary a=1, b=2, c=3 at base 0.
        #expect((0..<4).map { ids[$0 * w] } == [1, 2, 1, 3])
        // city: y (count 1 < minCount 2) shares the OOV id of the city range.
        let cityBase = p.bases["city"]!
        #expect((0..<4).map { ids[$0 * w + 1] - cityBase } == [1, 1, 0, 1])
        // zip: same value same bucket, missing -> OOV.
        #expect(ids[0 * w + 2] == ids[2 * w + 2] && ids[3 * w + 2] == p.bases["zip"]!)
        // hour derived from Unix seconds: 0, 1, 2, 1 (90000 s = 25 h).
        let hourBase = p.bases["hour"]!
        #expect((0..<4).map { ids[$0 * w + 4] - hourBase } == [1, 2, 3, 2])
        // bags: CSR, an empty bag pools the OOV row.
        #expect(b.bags[0].offsets == [0, 2, 3, 4, 6])
        // dense: standardized age has mean 0; views log1p with default 0 for the missing one.
        let d = b.dense.toArray()
        let ageSum: Float = d[0] + d[2] + d[4] + d[6]
        #expect(abs(ageSum) < 1e-5)
        let views: Float = d[3]
        #expect(abs(views - Float(log1p(9.0))) < 1e-6)
        #expect(d[7] == 0)
        #expect(b.labels?.toArray() == [1, 0, 0, 1])
        // Ids lie in the fused table.
        #expect(ids.allSatisfy { $0 >= 0 && Int($0) < p.tableRows })
        #expect(p.missingValueCounts["zip"] == 1 && p.missingValueCounts["views"] == 1)
    }

    @Test func unseenValuesAndMissingColumnsAtServing() throws {
        let p = try FeaturePipeline(config: config, fitOn: train)
        let serving = FeatureFrame(rowCount: 1, columns: ["user": ["zzz"], "ts": ["0"]])
        let b = try p.encode(serving)
        #expect(b.sparseIds.toArray()[0] == 0)  // unseen user -> OOV
        #expect(p.missingValueCounts["city"] == 1 && p.missingValueCounts["genres"] == 1)
        #expect(b.labels == nil)
    }

    @Test func configErrorsAreRejectedBeforeTraining() throws {
        let bad = FeatureConfig(features: [FeatureSpec(name: "nope", kind: .categorical)])
        #expect(throws: RankError.self) { try FeaturePipeline(config: bad, fitOn: train) }
        do { _ = try FeaturePipeline(config: bad, fitOn: train) } catch { #expect("\(error)".contains("nope")) }
        let json = #"{"features": [{"name": "a", "kind": "sparkly"}]}"#
        #expect(throws: RankError.self) { try FeatureConfig.decode(Data(json.utf8)) }
        let dup = #"{"features": [{"name": "a", "kind": "categorical"}, {"name": "a", "kind": "numeric"}]}"#
        #expect(throws: RankError.self) { try FeatureConfig.decode(Data(dup.utf8)) }
        let hashed = #"{"features": [{"name": "a", "kind": "hashed"}]}"#
        #expect(throws: RankError.self) { try FeatureConfig.decode(Data(hashed.utf8)) }
        let ok = #"{"label": "y", "features": [{"name": "a", "kind": "numeric", "default": 3}]}"#
        #expect(try FeatureConfig.decode(Data(ok.utf8)).features[0].defaultValue == "3.0")
    }

    @Test func fittedStateRoundTripsThroughJSON() throws {
        let p = try FeaturePipeline(config: config, fitOn: train)
        let q = try JSONDecoder().decode(FeaturePipeline.self, from: JSONEncoder().encode(p))
        #expect(try q.encode(train).sparseIds.toArray() == p.encode(train).sparseIds.toArray())
        #expect(try q.encode(train).dense.toArray() == p.encode(train).dense.toArray())
    }
}
