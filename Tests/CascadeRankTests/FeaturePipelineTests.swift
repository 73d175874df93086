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

    @Test func idDropoutReplacesOnlyItsColumnByTheUnknownId() throws {
        let p = try FeaturePipeline(config: config, fitOn: train)
        let w = p.sparseFeatures.count
        let city = try p.idDropout("city", rate: 0.5)
        #expect(city.column == 1 && city.unknownId == Int32(p.fieldSizes[0]))  // city's base follows user's 4 ids
        var rng = TensorRandom(seed: 3)
        let all = try p.encode(train)
        let before = all.sparseIds.toArray()
        RankStepper.dropIds(all, [try p.idDropout("user", rate: 0.999_999)], &rng)
        let after = all.sparseIds.toArray()
        for r in 0..<4 {
            #expect(after[r * w] == 0)  // user's unknown id
            #expect(Array(after[(r * w + 1)..<(r * w + w)]) == Array(before[(r * w + 1)..<(r * w + w)]))
        }
        let untouched = try p.encode(train)
        RankStepper.dropIds(untouched, [try p.idDropout("user", rate: 0)], &rng)
        #expect(untouched.sparseIds.toArray() == before)
        #expect(throws: RankError.self) { try p.idDropout("genres", rate: 0.1) }  // a bag, not a sparse column
        #expect(throws: RankError.self) { try p.idDropout("nope", rate: 0.1) }
        #expect(throws: RankError.self) { try p.idDropout("user", rate: 1) }
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

    // MARK: Behaviour sequences

    static let seqConfig = FeatureConfig(label: "label", features: [
        FeatureSpec(name: "user", kind: .categorical),
        FeatureSpec(name: "item", kind: .categorical),
        FeatureSpec(name: "genres", kind: .bag, separator: "|"),
        .sequence(name: "hist", source: "item", user: "user", time: "ts", length: 3, side: "genres"),
    ])

    /// User a: x@10, y@20, x@30, z@40 (x again), w@50; user b: y@15. Labels never matter.
    static let log = FeatureFrame(rowCount: 6, columns: [
        "label": ["0", "1", "0", "1", "0", "1"],
        "user": ["a", "a", "b", "a", "a", "a"],
        "item": ["x", "y", "y", "x", "z", "w"],
        "genres": ["G1|G2", "G2", "G2", "G1|G2", "G3", ""],
        "ts": ["10", "20", "15", "30", "40", "50"],
    ])

    @Test func sequencesHoldTheLastDistinctItemsStrictlyBefore() throws {
        let p = try FeaturePipeline(config: Self.seqConfig, fitOn: Self.log)
        let b = try p.encode(Self.log)
        #expect(b.histories.count == 1 && b.fieldCount == 3)
        let h = b.histories[0]
        let itemBase = p.bases["item"]!, genreBase = p.bases["genres"]!
        func item(_ s: String) -> Int32 { itemBase + p.vocabularies["item"]![s]! }
        func genre(_ s: String) -> Int32 { genreBase + p.vocabularies["genres"]![s]! }
        let ids = h.ids.toArray(), mask = h.mask.toArray(), side = h.side!.toArray()
        // Row 0 (a@10): nothing before -> padding (item OOV id, mask 0).
        #expect(Array(ids[0..<3]) == [itemBase, itemBase, itemBase] && Array(mask[0..<3]) == [0, 0, 0])
        // Row 2 (b@15): nothing before for user b.
        #expect(Array(mask[6..<9]) == [0, 0, 0])
        // Row 4 (a@40): x@30, y@20 (x@10 is a repeat), most recent first.
        #expect(Array(ids[12..<15]) == [item("x"), item("y"), itemBase] && Array(mask[12..<15]) == [1, 1, 0])
        // Row 5 (a@50): z, x, y (length 3).
        #expect(Array(ids[15..<18]) == [item("z"), item("x"), item("y")] && Array(mask[15..<18]) == [1, 1, 1])
        // Side: first genre of each history item; candidate and its side.
        #expect(Array(side[15..<18]) == [genre("G3"), genre("G1"), genre("G2")])
        #expect(h.candidate.toArray()[5] == item("w") && h.candidateSide!.toArray()[5] == genreBase)
        // Time gaps 10, 20, 30 s -> buckets 1 + floor(log2 gap).
        #expect(Array(h.timeBuckets.toArray()[15..<18]) == [4, 5, 5])
        #expect(EncodedBatch.History.timeBucket(gapSeconds: 1) == 1 && EncodedBatch.History.timeBucket(gapSeconds: 1e12) == 31)
        // Row subsets keep the histories.
        let sub = b.rows([5, 4])
        #expect(Array(sub.histories[0].ids.toArray()[0..<3]) == Array(ids[15..<18]))
        #expect(sub.histories[0].candidate.toArray() == [item("w"), item("z")])
        #expect(Array(sub.histories[0].mask.toArray()[3..<6]) == [1, 1, 0])
    }

    @Test func heldOutRowsReadTheHistoryOfAllEarlierRows() throws {
        let train = FeatureFrame(rowCount: 2, columns: Self.log.columns.mapValues { Array($0[0..<2]) })  // a@10 x, a@20 y
        let p = try FeaturePipeline(config: Self.seqConfig, fitOn: train)
        let test = FeatureFrame(rowCount: 2, columns: [
            "label": ["1", "0"], "user": ["a", "a"], "item": ["x", "y"], "genres": ["G1", "G9"], "ts": ["30", "20"],
        ])
        let valid = FeatureFrame(rowCount: 1, columns: ["user": ["a"], "item": ["unseen"], "genres": [""], "ts": ["25"]])
        let log = try p.history(from: [train, valid, test])
        let h = try p.encode(test, history: log).histories[0]
        let itemBase = p.bases["item"]!
        let x = itemBase + p.vocabularies["item"]!["x"]!, y = itemBase + p.vocabularies["item"]!["y"]!
        // a@30: unseen@25 (OOV id), y@20 (train and test: once), x@10; the row itself is excluded.
        #expect(Array(h.ids.toArray()[0..<3]) == [itemBase, y, x] && Array(h.mask.toArray()[0..<3]) == [1, 1, 1])
        // a@20: only x@10 (y@20 is not strictly before).
        #expect(Array(h.ids.toArray()[3..<6]) == [x, itemBase, itemBase] && Array(h.mask.toArray()[3..<6]) == [1, 0, 0])
        // Without a history, rows see only each other.
        let alone = try p.encode(test).histories[0]
        #expect(Array(alone.mask.toArray()[0..<3]) == [1, 0, 0])
    }

    @Test func sequenceConfigsAreValidatedAndInferred() throws {
        let noItem = #"{"features": [{"name": "h", "kind": "sequence", "source": "item", "user": "u", "time": "t", "length": 5}]}"#
        #expect(throws: RankError.self) { try FeatureConfig.decode(Data(noItem.utf8)) }
        let ok = #"{"features": [{"name": "item", "kind": "categorical"}, {"name": "h", "kind": "sequence", "source": "item", "user": "u", "time": "t", "length": 5}]}"#
        let c = try FeatureConfig.decode(Data(ok.utf8))
        #expect(c.features[1].length == 5 && c.features[1].user == "u")
        #expect(try JSONDecoder().decode(FeatureConfig.self, from: JSONEncoder().encode(c)) == c)
        let noLength = #"{"features": [{"name": "item", "kind": "categorical"}, {"name": "h", "kind": "sequence", "source": "item", "user": "u", "time": "t"}]}"#
        #expect(throws: RankError.self) { try FeatureConfig.decode(Data(noLength.utf8)) }
        let inferred = FeatureConfig.infer(from: Self.log.renaming("ts", to: "timestamp"))
        let seq = inferred.features.first { $0.kind == .sequence }
        #expect(seq?.name == "hist_item" && seq?.length == 50 && seq?.sideColumn == "genres" && seq?.time == "timestamp")
        var noTime = Self.log
        noTime.columns["ts"] = nil
        #expect(FeatureConfig.infer(from: noTime).features.allSatisfy { $0.kind != .sequence })
    }
}

extension FeatureFrame {
    func renaming(_ a: String, to b: String) -> FeatureFrame {
        var c = columns
        c[b] = c.removeValue(forKey: a)
        return FeatureFrame(rowCount: rowCount, columns: c)
    }
}
