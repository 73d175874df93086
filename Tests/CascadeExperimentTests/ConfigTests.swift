import CascadeCore
import CascadeExperiment
import Foundation
import Testing

let allowed = ["quota.<channel>", "weight.<channel>", "rerank.mode", "rerank.theta", "mergeLimit"]

func config(_ json: String) throws -> ExperimentConfig {
    try ExperimentConfig.decode(Data(json.utf8), allowedKeys: allowed)
}

/// The error message of decoding `json`, or nil when it is valid.
func problem(_ json: String) -> String? {
    do { _ = try config(json); return nil } catch { return "\(error)" }
}

let twoLayers = """
{ "buckets": 100, "holdout": { "fraction": 0.1 },
  "layers": [
    { "name": "recall", "experiments": [
      { "name": "quota", "kind": "ab", "arms": [
        { "name": "control", "buckets": "0-49" },
        { "name": "more", "buckets": ["50-74", "75-99"], "overrides": { "quota.itemcf": 600, "weight.itemcf": 1.5 } } ] } ] },
    { "name": "rerank", "experiments": [
      { "name": "dpp", "kind": "reverse", "arms": [
        { "name": "old", "buckets": "0-9" },
        { "name": "new", "overrides": { "rerank.mode": "dpp" } } ] },
      { "name": "mmr-old", "kind": "ab", "status": "stopped", "arms": [
        { "name": "a", "buckets": "10-14" }, { "name": "b", "buckets": "15-19", "overrides": { "rerank.theta": "4" } } ] } ] } ] }
"""

@Suite struct ConfigTests {
    @Test func decodesDefaultsNumbersAndRanges() throws {
        let c = try config(twoLayers)
        #expect(c.buckets == 100)
        #expect(c.layers.map(\.name) == ["recall", "rerank"])
        let more = c.layers[0].experiments[0].arms[1]
        #expect(more.buckets == [BucketRange(50, 74), BucketRange(75, 99)])
        #expect(more.overrides == ["quota.itemcf": "600", "weight.itemcf": "1.5"])
        #expect(c.layers[1].experiments[0].arms[1].buckets == nil)
        #expect(c.layers[1].experiments[1].status == .stopped)
        #expect(c.layers[0].experiments[0].status == .running)
        #expect(try config(#"{ "layers": [] }"#).buckets == 1000)
        // Round trip through JSON keeps the config and its fingerprint.
        let again = try ExperimentConfig.decode(try c.encoded(), allowedKeys: allowed)
        #expect(again == c && again.fingerprint == c.fingerprint && c.fingerprint.count == 8)
    }

    @Test func assignsEveryUserDeterministicallyWithHoldoutAndTheRestOfALayer() throws {
        let c = try config(twoLayers)
        var held = 0, old = 0, new = 0, stoppedSeen = 0
        var control = 0, more = 0
        for k in 0..<20_000 {
            let a = c.assign(user: "u\(k)")
            #expect(a == c.assign(user: "u\(k)"))
            if a.holdout {
                held += 1
                #expect(a.arms.isEmpty && a.overrides.isEmpty && a.compact == "holdout")
                continue
            }
            let recall = a.arms.first { $0.layer == "recall" }!
            if recall.arm == "control" { control += 1 } else { more += 1; #expect(a.overrides["quota.itemcf"] == "600") }
            let b = c.bucket(of: "u\(k)", layer: "rerank")
            switch a.arms.first(where: { $0.layer == "rerank" })?.arm {
            case "old": old += 1; #expect(b < 10)
            case "new": new += 1; #expect(b >= 20); #expect(a.overrides["rerank.mode"] == "dpp")
            case nil: stoppedSeen += 1; #expect((10..<20).contains(b))   // the stopped experiment assigns nobody
            default: Issue.record("unexpected arm")
            }
            // Reports see the stopped experiment's users.
            if (10..<20).contains(b) {
                #expect(c.assign(user: "u\(k)", includeStopped: true).arms.contains { $0.experiment == "mmr-old" })
            }
        }
        let exposed = Double(20_000 - held)
        #expect(abs(Double(held) / 20_000 - 0.1) < 0.01)
        #expect(abs(Double(control) / exposed - 0.5) < 0.02)
        #expect(abs(Double(old) / exposed - 0.1) < 0.01 && abs(Double(stoppedSeen) / exposed - 0.1) < 0.01)
        #expect(abs(Double(new) / exposed - 0.8) < 0.015)
        _ = more
    }

    @Test func compactFormAndTagRoundTrip() throws {
        let c = try config(twoLayers)
        let user = (0..<1000).map { "u\($0)" }.first { c.assign(user: $0).arms.count == 2 }!
        let a = c.assign(user: user)
        #expect(a.compact.split(separator: ";").count == 2)
        #expect(a.tag == "\(c.fingerprint)/\(a.compact)")
        let parsed = try Assignment.parse(compact: a.compact)
        #expect(parsed.map { "\($0.layer):\($0.experiment):\($0.arm)" } == a.arms.map(\.description))
        #expect(try Assignment.parse(compact: "holdout").isEmpty)
        #expect(throws: CascadeError.self) { try Assignment.parse(compact: "recall:quota") }
    }

    @Test func overlappingAndOutOfRangeBucketsAreRejected() {
        let overlap = problem("""
            { "buckets": 100, "layers": [ { "name": "recall", "experiments": [
              { "name": "x", "arms": [ { "name": "a", "buckets": "0-49" }, { "name": "b", "buckets": "40-59" } ] } ] } ] }
            """)
        #expect(overlap?.contains("layer 'recall' experiment 'x' arm 'b': buckets 40-59 overlap 0-49 of experiment 'x' arm 'a'") == true, "\(overlap ?? "")")
        let across = problem("""
            { "buckets": 100, "layers": [ { "name": "recall", "experiments": [
              { "name": "x", "arms": [ { "name": "a", "buckets": "0-9" }, { "name": "b", "buckets": "10-19" } ] },
              { "name": "y", "arms": [ { "name": "a", "buckets": "15-25" }, { "name": "b", "buckets": "30-39" } ] } ] } ] }
            """)
        #expect(across?.contains("experiment 'y' arm 'a': buckets 15-25 overlap 10-19 of experiment 'x' arm 'b'") == true, "\(across ?? "")")
        let range = problem("""
            { "buckets": 100, "layers": [ { "name": "recall", "experiments": [
              { "name": "x", "arms": [ { "name": "a", "buckets": "0-49" }, { "name": "b", "buckets": "50-100" } ] } ] } ] }
            """)
        #expect(range?.contains("arm 'b': bucket range 50-100 is outside 0-99") == true, "\(range ?? "")")
        #expect(problem(#"{ "layers": [ { "name": "l", "experiments": [ { "name": "x", "arms": [ { "name": "a", "buckets": "9-3" }, { "name": "b", "buckets": "10" } ] } ] } ] }"#)?
            .contains("9-3 is outside 0-999 or reversed") == true)
        #expect(problem(#"{ "layers": [ { "name": "l", "experiments": [ { "name": "x", "arms": [ { "name": "a", "buckets": "ten" } ] } ] } ] }"#)?
            .contains(".layers[0].experiments[0].arms[0].buckets: bucket range 'ten' is not 'lo-hi'") == true)
    }

    @Test func keysBelongToOneLayerAndMustBeKnown() {
        let shared = problem("""
            { "layers": [
              { "name": "recall", "experiments": [ { "name": "x", "kind": "launch", "arms": [ { "name": "on", "overrides": { "quota.itemcf": 10 } } ] } ] },
              { "name": "other", "experiments": [ { "name": "y", "kind": "launch", "arms": [ { "name": "on", "overrides": { "quota.itemcf": 20 } } ] } ] } ] }
            """)
        #expect(shared?.contains("layer 'other': override key 'quota.itemcf' is also set in layer 'recall'") == true, "\(shared ?? "")")
        let unknown = problem("""
            { "layers": [ { "name": "recall", "experiments": [ { "name": "x", "kind": "launch", "arms": [ { "name": "on", "overrides": { "rank.model": "dcn" } } ] } ] } ] }
            """)
        #expect(unknown?.contains("layer 'recall' experiment 'x' arm 'on': unknown override key 'rank.model'") == true, "\(unknown ?? "")")
        #expect(ExperimentConfig.key("quota.itemcf", matches: "quota.<channel>"))
        #expect(!ExperimentConfig.key("quota.", matches: "quota.<channel>"))
        #expect(!ExperimentConfig.key("quota.a.b", matches: "quota.<channel>"))
    }

    @Test func namesKindsAndHoldoutAreChecked() {
        let dup = problem("""
            { "layers": [ { "name": "l", "experiments": [ { "name": "x", "arms": [ { "name": "a", "buckets": "0-1" }, { "name": "a", "buckets": "2-3" } ] } ] },
                          { "name": "l", "experiments": [ { "name": "x", "kind": "launch", "arms": [ { "name": "on" } ] } ] } ] }
            """)
        #expect(dup?.contains("layer 'l' experiment 'x' arm 'a': duplicate arm name") == true)
        #expect(dup?.contains("layer 'l': duplicate layer name") == true)
        #expect(dup?.contains("experiment 'x': duplicate experiment name") == true)
        #expect(dup?.contains("3 problems") == true, "\(dup ?? "")")
        #expect(problem(#"{ "layers": [ { "name": "l", "experiments": [ { "name": "x", "arms": [ { "name": "a", "buckets": "0-1" } ] } ] } ] }"#)?
            .contains("an ab experiment needs at least two arms") == true)
        #expect(problem(#"{ "layers": [ { "name": "l", "experiments": [ { "name": "x", "arms": [ { "name": "a", "buckets": "0-1" }, { "name": "b" } ] } ] } ] }"#)?
            .contains("arm 'b': arms of an ab experiment must name their buckets") == true)
        #expect(problem(#"{ "layers": [ { "name": "l", "experiments": [ { "name": "x", "kind": "reverse", "arms": [ { "name": "a" }, { "name": "b", "buckets": "0-1" } ] } ] } ] }"#)?
            .contains("the first (kept-back) arm of a reverse experiment must name its buckets") == true)
        #expect(problem(#"{ "layers": [ { "name": "a:b", "experiments": [] } ] }"#)?.contains("names may not contain") == true)
        #expect(problem(#"{ "holdout": { "fraction": 1.5 }, "layers": [] }"#)?.contains("holdout: fraction must be in [0, 1), got 1.5") == true)
        #expect(problem(#"{ "holdout": { "fraction": 0.1, "salt": "recall" }, "layers": [ { "name": "recall", "experiments": [] } ] }"#)?
            .contains("is also a layer name") == true)
        #expect(problem(#"{ "buckets": 0, "layers": [] }"#)?.contains("buckets must be in 1...1000000, got 0") == true)
        #expect(problem(#"{ "layers": [ { "name": "l", "experiments": [ { "name": "x", "kind": "sometimes", "arms": [] } ] } ] }"#)?
            .contains(".layers[0].experiments[0].kind") == true)
        #expect(problem(#"{ "layers": [ { "name": "l", "experiments": [ { "name": "x", "kind": "launch", "arms": [ { "name": "a", "overrides": { "mergeLimit": [1] } } ] } ] } ] }"#)?
            .contains("an override value must be a string, number or boolean") == true)
        #expect(problem("{ not json") != nil)
    }

    @Test func loadingAMissingFileSaysWhich() {
        #expect(throws: CascadeError.self) { try ExperimentConfig.load(path: "/nonexistent/exp.json") }
        do { _ = try ExperimentConfig.load(path: "/nonexistent/exp.json") } catch {
            #expect("\(error)".contains("/nonexistent/exp.json"))
        }
    }
}
