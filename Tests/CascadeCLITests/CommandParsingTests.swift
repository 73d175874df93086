import ArgumentParser
@testable import CascadeCLI
import CascadeEngine
import Foundation
import Testing

/// The command line as scripts and people meet it: what parses, what is refused (before any
/// store is opened) and with which message, and how flags reach the engine's settings.
@Suite struct CommandParsingTests {
    /// The message ArgumentParser prints for `args`, or nil when they parse.
    func refusal(_ args: [String]) -> String? {
        do {
            _ = try Cascade.parseAsRoot(args)
            return nil
        } catch {
            return Cascade.message(for: error)
        }
    }

    /// `eval recall-sim` picks its own channels but reads `--set` like every command.
    @Test func recallSimulationReadsSettings() throws {
        let eval = try #require(try Cascade.parseAsRoot(["eval", "recall-sim", "--channels", "twotower",
                                                         "--set", "channel.twotower.itemIdDropout=0.3"]) as? EvalRecallSim)
        #expect(try eval.model.unrestrictedConfig.twoTower.itemIdDropout == 0.3)
        #expect(try eval.model.unrestrictedConfig.quotas == FunnelConfig().quotas)
    }

    @Test func rankerFlagsReachTheRankStage() throws {
        let train = try #require(try Cascade.parseAsRoot(["train", "--db", "x.sqlite", "--rank-dim", "16", "--rank-hidden", "64,32",
                                                          "--rank-behaviour", "20", "--rank-attention-hidden", "8", "--rank-window-days", "7",
                                                          "--rank-max-samples", "1000", "--rank-tasks", "click,like", "--rank-counters",
                                                          "--no-rank-calibrate", "--rank-id-dropout", "user=0.1"]) as? Train)
        var c = RankStageConfig()
        try train.model.ranker.apply(to: &c)
        #expect(c.enabled && c.model == RankStageConfig().model)
        #expect(c.parameters.embeddingDim == 16 && c.parameters.hidden == [64, 32] && c.behaviourLength == 20 && c.parameters.attentionHidden == [8])
        #expect(c.windowDays == 7 && c.maxSamples == 1000 && c.tasks == ["click", "like"])
        #expect(c.counterFeatures && !c.calibrate && c.idDropout == ["user": 0.1])
        // Defaults are the stage's own.
        let plain = try #require(try Cascade.parseAsRoot(["train", "--db", "x.sqlite"]) as? Train)
        var d = RankStageConfig()
        try plain.model.ranker.apply(to: &d)
        #expect(d == RankStageConfig())
        // `--rank none` switches the ranker off.
        let none = try #require(try Cascade.parseAsRoot(["train", "--db", "x.sqlite", "--rank", "none"]) as? Train)
        var n = RankStageConfig()
        try none.model.ranker.apply(to: &n)
        #expect(!n.enabled)
    }

    @Test func recommendReadsTheSettingsAndItsFlagsWin() throws {
        let r = try #require(try Cascade.parseAsRoot(["recommend", "--db", "x.sqlite", "--user", "u", "--set", "rerank.mode=mmr",
                                                      "--set", "rerank.lambda=0.3", "--rerank-lambda", "0.6"]) as? Recommend)
        let c = try r.funnelConfig()
        #expect(c.rerank.mode == .mmr && c.rerank.lambda == 0.6)
    }

    @Test(arguments: [
        (["train", "--db", "x.sqlite", "--rank-dim", "0"], "--rank-dim 0: must be an integer in 1...256"),
        (["train", "--db", "x.sqlite", "--rank", "xgboost"], "--rank xgboost: must be one of"),
        (["train", "--db", "x.sqlite", "--rank-hidden", "64,-1"], "--rank-hidden"),
        (["train", "--db", "x.sqlite", "--rank-window-days", "0"], "--rank-window-days 0.0: must be a number > 0"),
        (["train", "--db", "x.sqlite", "--rank-max-samples", "0"], "--rank-max-samples 0: must be an integer >= 1"),
        (["train", "--db", "x.sqlite", "--rank-behaviour", "501"], "--rank-behaviour 501: must be an integer in 0...500"),
        (["train", "--db", "x.sqlite", "--rank-tasks", "click,dance"], "--rank-tasks"),
        (["train", "--db", "x.sqlite", "--rank-id-dropout", "user=1.5"], "--rank-id-dropout"),
        (["train", "--db", "x.sqlite", "--rounds", "2"], "--rounds needs --schedule"),
        (["train", "--db", "x.sqlite", "--incremental", "--since-days", "0"], "--since-days must be a positive number of days"),
        (["train", "--db", "a.sqlite", "--store", "b.sqlite"], "give --db or --store, not both"),
        (["experiment", "simulate", "--config", "x.json", "--metric", "clicks"], "--metric must be ctr, engagement or northstar"),
        (["serve", "--db", "x.sqlite", "--rerank", "shuffle"], "--rerank shuffle: must be one of none, dpp, mmr"),
        (["recommend", "--db", "x.sqlite", "--user", "u", "--rerank-lambda", "2"], "--rerank-lambda 2.0: must be a number in [0, 1]"),
        (["recommend", "--db", "x.sqlite", "--user", "u", "--set", "channel.sasrec.weight=-1"], "channel.sasrec.weight"),
    ])
    func badValuesAreRefusedNamingTheFlag(_ c: ([String], String)) {
        let message = refusal(c.0)
        #expect(message?.contains(c.1) == true, "\(c.0): \(message ?? "parsed")")
    }

    @Test func anUnknownChannelIsRefusedBeforeTheStoreOpens() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("never-\(UUID().uuidString).sqlite").path
        let message = refusal(["train", "--db", path, "--channels", "itemcf,nope"])
        #expect(message?.contains("nope") == true, "\(message ?? "parsed")")
        #expect(!FileManager.default.fileExists(atPath: path), "nothing was created")
    }

    @Test func theRootHelpListsEveryCommand() {
        let help = Cascade.helpMessage(for: Cascade.self, columns: 100)
        for name in ["quickstart", "simulate", "import", "train", "recommend", "eval", "stats", "serve", "bench", "experiment", "key"] {
            #expect(help.contains(name), "\(name) is listed")
        }
        #expect(Cascade.helpMessage(for: Train.self).contains("--rank-behaviour"))
    }

    /// Every command and subcommand parses `--help`: a debug build checks each command's
    /// declarations when it is parsed (two options of one name are refused), so this walks them all.
    @Test func everyCommandParsesItsHelp() {
        func paths(_ c: any ParsableCommand.Type, _ prefix: [String]) -> [[String]] {
            [prefix] + c.configuration.subcommands.flatMap { paths($0, prefix + [$0._commandName]) }
        }
        let all = paths(Cascade.self, [])
        #expect(all.count > 20 && all.contains(["eval", "recall-sim"]) && all.contains(["eval", "cold"]))
        for path in all {
            do {
                _ = try Cascade.parseAsRoot(path + ["--help"])  // the help command itself
            } catch {
                #expect(Cascade.exitCode(for: error) == .success, "\(path.joined(separator: " ")) --help: \(Cascade.message(for: error))")
            }
        }
    }
}
