import CascadeCore
import CascadeEngine
import CascadeExperiment
import CascadeStore
import Foundation
import Testing

/// Scenes: a request's scene picks a named variant of the funnel's configuration.
@Suite struct ScenesTests {
    static let file = """
        [scene.related]
        quota.popular = 0          # item-to-item recall only
        quota.itemcf = 400
        rank.fusion.like = 1

        [scene.home]
        mergeLimit = 200
        """

    @Test func theConfigFileDeclaresScenesAndRefusesBadOnesByTheirPath() throws {
        let c = try ConfigFile.apply(ConfigFile.parse(Self.file, source: "cascade.toml"), settings: FunnelConfig.settings, to: FunnelConfig())
        #expect(c.scenes == ["related": ["quota.popular": "0", "quota.itemcf": "400", "rank.fusion.like": "1"], "home": ["mergeLimit": "200"]])
        let related = try c.forScene("related")
        #expect(!related.quotas.contains { $0.channel == "popular" })
        #expect(related.quotas.first { $0.channel == "itemcf" }?.quota == 400)
        #expect(related.rank.fusion.terms.first { $0.task == "like" }?.weight == 1)
        #expect(related.scenes.isEmpty)
        #expect(try c.forScene("home").mergeLimit == 200)
        // No scene, or a scene the file does not list: the configuration itself.
        #expect(try c.forScene(nil) == c && c.forScene("checkout") == c)
        #expect(c.mergeLimit == FunnelConfig().mergeLimit, "a scene never changes the base")

        func refusal(_ text: String) -> String {
            do {
                _ = try ConfigFile.apply(ConfigFile.parse(text, source: "cascade.toml"), settings: FunnelConfig.settings, to: FunnelConfig())
                return ""
            } catch { return error.message }
        }
        #expect(refusal("[scene.related]\nquota.popula = 0").contains("cascade.toml:2: scene.related.quota.popula = 0: override quota.popula: unknown channel"))
        #expect(refusal("[scene.related]\nmergeLimit = 0").contains("cascade.toml:2: scene.related.mergeLimit = 0: override mergeLimit=0: must be"))
        #expect(refusal("[scene.related]\nrank.nosuch = 1").contains("scene.related.rank.nosuch = 1"))
        #expect(refusal("scene.related = 1").contains("a scene's key is scene.NAME.KEY"))
        #expect(refusal("[scene.\"a b\"]\nmergeLimit = 5") != "")
        // The file's documentation shows the form, commented out.
        let rendered = ConfigFile.render(FunnelConfig(), settings: FunnelConfig.settings, header: "")
        #expect(rendered.contains("# [scene.related]") && rendered.contains("# quota.itemcf = 600"))
        #expect(try ConfigFile.apply(ConfigFile.parse(rendered, source: "init"), settings: FunnelConfig.settings, to: FunnelConfig()) == FunnelConfig())
    }

    @Test func aRequestOfASceneIsServedByItsConfiguration() throws {
        let store = try impressionWorld()
        var config = try FunnelConfig().restricted(to: ["itemcf", "popular"])
        config.rank.enabled = false
        try Trainer.train(store: store, config: config)
        config.scenes = ["related": ["quota.popular": "0"], "discover": ["quota.itemcf": "0"]]
        let rec = try Recommender.load(store: store, config: config)
        var sawPopular = false, sawItemCF = false
        for u in 0..<20 {
            let base = try rec.run(user: "u\(u)", n: 20, store: store, now: 2e9)
            sawPopular = sawPopular || base.recommendations.contains { $0.channels.contains("popular") }
            let related = try rec.run(user: "u\(u)", n: 20, store: store, now: 2e9, scene: "related")
            #expect(related.channels.map(\.channel) == ["itemcf"])
            #expect(related.recommendations.allSatisfy { $0.channels == ["itemcf"] })
            sawItemCF = sawItemCF || !related.recommendations.isEmpty
            let discover = try rec.run(user: "u\(u)", n: 20, store: store, now: 2e9, scene: "discover")
            #expect(discover.recommendations.count == 20 && discover.recommendations.allSatisfy { $0.channels == ["popular"] })
            let unlisted = try rec.run(user: "u\(u)", n: 20, store: store, now: 2e9, scene: "checkout")
            #expect(unlisted.recommendations.map(\.item) == base.recommendations.map(\.item))
        }
        #expect(sawPopular && sawItemCF)
    }

    @Test func experimentArmsAreCheckedOverEveryScene() throws {
        var base = try FunnelConfig().restricted(to: ["itemcf", "popular"])
        base.scenes = ["related": ["quota.popular": "0"]]
        let json = """
            { "layers": [ { "name": "recall", "experiments": [ { "name": "w", "arms": [
              { "name": "control", "buckets": "0-499" }, { "name": "heavy", "buckets": "500-999", "overrides": { "weight.popular": "2" } } ] } ] } ] }
            """
        let exp = try ExperimentConfig.decode(Data(json.utf8), source: "exp", allowedKeys: FunnelConfig.overrideKeys)
        do {
            try exp.checkOverrides(on: base)
            Issue.record("an arm that does not apply in a scene was accepted")
        } catch {
            #expect(error.message.contains("arm 'heavy' (scene related): override weight.popular=2: channel 'popular' is not in the funnel"))
        }
        base.scenes = [:]
        try exp.checkOverrides(on: base)
    }
}
