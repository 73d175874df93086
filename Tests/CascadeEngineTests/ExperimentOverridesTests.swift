import CascadeCore
import CascadeEngine
import CascadeExperiment
import CascadeRecall
import Foundation
import Testing

@Suite struct ExperimentOverridesTests {
    @Test func overridesMapOntoTheFunnel() throws {
        let base = FunnelConfig()
        let c = try base.applying([
            "quota.itemcf": "600", "weight.itemcf": "1.5", "quota.popular": "0", "quota.twotower": "150", "weight.twotower": "0.8",
            "rerank.mode": "dpp", "rerank.theta": "5", "rerank.lambda": "0.4", "rerank.window": "8", "rerank.pool": "60",
            "mergeLimit": "300", "historyLength": "50",
        ])
        #expect(c.quotas.first { $0.channel == "itemcf" } == ChannelQuota(channel: "itemcf", quota: 600, weight: 1.5))
        #expect(!c.quotas.contains { $0.channel == "popular" }, "quota 0 turns a channel off")
        #expect(c.quotas.last == ChannelQuota(channel: "twotower", quota: 150, weight: 0.8))
        #expect(c.rerank.mode == .dpp && c.rerank.theta == 5 && c.rerank.lambda == 0.4 && c.rerank.window == 8 && c.rerank.pool == 60)
        #expect(c.mergeLimit == 300 && c.historyLength == 50)
        #expect(try base.applying([:]) == base)
        #expect(base == FunnelConfig(), "applying never changes the receiver")
    }

    @Test func badKeysAndValuesNameTheKeyAndValue() {
        func message(_ o: [String: String]) -> String {
            do { _ = try FunnelConfig().applying(o); return "" } catch { return error.description }
        }
        #expect(message(["quota.itemcf": "many"]).contains("override quota.itemcf=many: must be an integer in 0...100000"))
        #expect(message(["quota.itemcf": "-1"]).contains("quota.itemcf=-1"))
        #expect(message(["quota.nosuch": "5"]).contains("override quota.nosuch: unknown channel 'nosuch'"))
        #expect(message(["weight.bpr": "1"]).contains("channel 'bpr' is not in the funnel; give quota.bpr"))
        #expect(message(["weight.itemcf": "nan"]).contains("override weight.itemcf=nan"))
        #expect(message(["rerank.mode": "shuffle"]).contains("override rerank.mode=shuffle: must be one of none, dpp, mmr"))
        #expect(message(["rerank.lambda": "2"]).contains("override rerank.lambda=2"))
        #expect(message(["ranking.depth": "2"]).contains("override ranking.depth=2: unknown key"))
        #expect(FunnelConfig.overrideKeys.contains("quota.<channel>") && FunnelConfig.overrideKeys.contains("rerank.mode"))
    }

    @Test func anArmMaySetAnyConfigFileKey() throws {
        let c = try FunnelConfig().applying(["channel.itemcf.lastN": "20", "rank.fusion.like": "0.8", "quota.itemcf": "400"])
        #expect(c.itemCF.lastN == 20 && c.quotas.first { $0.channel == "itemcf" }?.quota == 400)
        #expect(c.rank.fusion.terms.first { $0.task == "like" }?.weight == 0.8)
        #expect(FunnelConfig.overrideKeys.contains("channel.itemcf.lastN"))
        #expect(throws: CascadeError.self) { try FunnelConfig().applying(["channel.itemcf.lastN": "0"]) }
    }

    @Test func configsAreCheckedAgainstTheFunnel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("exp-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bad.json").path
        try Data("""
            { "layers": [ { "name": "recall", "experiments": [ { "name": "q", "arms": [
              { "name": "control", "buckets": "0-499" }, { "name": "more", "buckets": "500-999", "overrides": { "quota.itemcf": "lots" } } ] } ] } ] }
            """.utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try ExperimentConfig.load(path: path, funnel: FunnelConfig())
            Issue.record("a bad value was accepted")
        } catch {
            #expect("\(error)".contains("\(path): 1 problem:\n  layer 'recall' experiment 'q' arm 'more': override quota.itemcf=lots"), "\(error)")
        }
        // The assignment's overrides build the arm's funnel configuration.
        let good = try ExperimentConfig.decode(Data("""
            { "layers": [ { "name": "recall", "experiments": [ { "name": "q", "kind": "launch", "arms": [ { "name": "on", "overrides": { "mergeLimit": 77 } } ] } ] } ] }
            """.utf8), allowedKeys: FunnelConfig.overrideKeys)
        #expect(try FunnelConfig().applying(good.assign(user: "anyone")).mergeLimit == 77)
    }

    @Test func rankAndFusionKeysSwitchTheRankerAndReweighTasks() throws {
        let c = try FunnelConfig().applying(["rank.enabled": "false", "fusion.like": "2", "rank.rankLimit": "80"])
        #expect(!c.rank.enabled)
        #expect(c.rank.rankLimit == 80)
        #expect(c.rank.fusion.terms.first { $0.task == "like" }?.weight == 2)
        var off = FunnelConfig()
        off.rank.enabled = false
        #expect(try off.applying(["rank.enabled": "true"]).rank.model == RankStageConfig().model)
        #expect { try FunnelConfig().applying(["rank.enabled": "sometimes"]) } throws: { "\($0)".contains("rank.enabled=sometimes") }
        #expect { try FunnelConfig().applying(["fusion.dwell": "1"]) } throws: { "\($0)".contains("fusion.dwell") }
    }
}
