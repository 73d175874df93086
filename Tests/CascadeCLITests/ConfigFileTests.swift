import CascadeCore
import CascadeEngine
import Foundation
import Testing
@testable import CascadeCLI

/// The config file as a deployment meets it: `config init` writes every key, the file reads back
/// to the same settings, later sources override earlier ones, and a typo stops everything.
@Suite struct ConfigFileTests {
    static func written() -> String {
        ConfigFile.render(Deployment.served, settings: Deployment.settings, header: "test")
    }

    @Test func initWritesEveryKeyAndReadsBackToTheDefaults() throws {
        let text = Self.written()
        let assignments = try ConfigFile.parse(text, source: "cascade.toml")
        // Every declared key once; a family of keys (the scenes) as a commented-out example.
        let plain = Deployment.settings.filter { !$0.isFamily }
        #expect(Set(assignments.map(\.key)) == Set(plain.map(\.key)), "every declared key is written once")
        #expect(assignments.count == plain.count)
        #expect(text.contains("# [scene.related]"))
        var base = Deployment()
        base.funnel.parallelRecall = false
        let read = try ConfigFile.apply(assignments, settings: Deployment.settings, to: Deployment())
        #expect(read.server.funnel == base.server.funnel)
        #expect(read.host == base.host && read.port == base.port && read.workers == nil)
        #expect(text.contains("# Neighbours kept per item. Allowed: an integer in 1...10000.\nneighbours = 100"))
    }

    @Test func fileThenEnvironmentThenSetThenFlags() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cascade-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("cascade.toml").path
        try """
            mergeLimit = 700  # a comment
            [channel.itemcf]
            weight = 0.5
            neighbours = 40
            [channel.bpr]
            quota = 120
            [rank]
            hidden = [32, 16]
            epochs = 2
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let train = try #require(try Cascade.parseAsRoot(["train", "--db", "x.sqlite", "--config", file, "--set", "rank.epochs=4",
                                                          "--neighbours", "60"]) as? Train)
        let c = try train.model.config
        #expect(c.mergeLimit == 700 && c.rank.parameters.hidden == [32, 16])
        #expect(c.rank.epochs == 4, "--set overrides the file")
        #expect(c.itemCF.neighbours == 60, "a flag overrides the file")
        #expect(c.quotas.first { $0.channel == "itemcf" }?.weight == 0.5)
        // A channel given a quota joins the funnel at its place in the registry.
        let names = c.quotas.map(\.channel)
        #expect(names.contains("bpr") && names.firstIndex(of: "bpr")! == names.firstIndex(of: "als")! + 1)
        // The environment sits between the file and --set.
        let env = ConfigFile.environment(["CASCADE_RANK_EPOCHS": "7", "CASCADE_STORE": "x"], settings: FunnelConfig.settings)
        #expect(env == [ConfigFile.Assignment(key: "rank.epochs", value: "7", source: "CASCADE_RANK_EPOCHS")])
        let fromFile = try ConfigFile.parse(try String(contentsOfFile: file, encoding: .utf8), source: file)
        #expect(try ConfigFile.apply(fromFile + env, settings: FunnelConfig.settings, to: FunnelConfig()).rank.epochs == 7)
    }

    @Test(arguments: [
        ("[channel.itemcf]\nneighbors = 5", "cascade.toml:2: unknown key channel.itemcf.neighbors; did you mean channel.itemcf.neighbours?"),
        ("[rank]\nepochs = 0", "cascade.toml:2: rank.epochs = 0: must be an integer in 1...1000"),
        ("mergeMode = \"median\"", "cascade.toml:1: mergeMode = median: must be one of sum, max"),
        ("[rank]\nhidden = [64, -1]", "rank.hidden = 64,-1: must be a list of integers in 1...65536"),
        ("[server]\nport = 70000", "server.port = 70000: must be an integer in 1...65535"),
        ("mergeLimit 5", "cascade.toml:1: expected key = value"),
        ("name = \"open", "unterminated string"),
    ])
    func aBadFileIsRefusedWithItsPathAndNothingApplies(_ c: (String, String)) {
        do {
            _ = try ConfigFile.apply(try ConfigFile.parse(c.0, source: "cascade.toml"), settings: Deployment.settings, to: Deployment())
            Issue.record("\(c.0) was accepted")
        } catch let e as CascadeError {
            #expect(e.description.contains(c.1), "\(e.description)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func serveReadsTheSameFileAndItsFlagsWin() throws {
        let serve = try #require(try Cascade.parseAsRoot(["serve", "--db", "x.sqlite", "--set", "server.port=9000", "--set", "rank.enabled=false",
                                                          "--max-n", "50"]) as? Serve)
        let d = try serve.deployment()
        #expect(d.port == 9000 && d.server.maxN == 50 && !d.funnel.rank.enabled && !d.funnel.parallelRecall)
        #expect(throws: (any Error).self) { try Cascade.parseAsRoot(["serve", "--db", "x.sqlite", "--set", "server.prot=9000"]) }
    }
}
