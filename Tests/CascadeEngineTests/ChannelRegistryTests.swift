import CascadeCore
import CascadeEngine
import CascadeRecall
import CascadeStore
import Foundation
import Testing

/// A channel that exists only in this test suite: the items with the newest positive events,
/// newest first. It is one declaration, registered once; the engine trains, stores, loads and
/// serves it like the built-in channels (README: "Adding a recall channel").
struct LatestItems: RecallChannel {
    let name: String
    let items: [Int32]

    func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        Array(items.lazy.filter { filter.allows($0) }.prefix(quota).enumerated().map {
            Candidate(item: $0.element, score: 1 / Float($0.offset + 1), channel: name)
        })
    }

    func serialized() -> [UInt8] {
        var w = ByteWriter(magic: "TLAT", version: 1)
        w.write(name)
        w.write(array: items)
        return [UInt8](w.data)
    }
}

enum LatestItemsChannel: ChannelDefinition {
    struct Parameters: Sendable, Equatable { var keep = 50 }
    static let name = "latest"
    static let summary = "items with the newest positive events"
    static let defaultParameters = Parameters()
    static let defaultQuota: (quota: Int, weight: Float) = (20, 0.1)
    static let trainedByDefault = false
    static let settings: [Setting<Parameters>] = [.int("keep", "Items kept.", \.keep, 1...10_000)]

    static func train(_ input: ChannelTrainingInput, parameters: Parameters) throws -> any RecallChannel {
        var last = [Double](repeating: -.infinity, count: input.itemCount)
        for i in 0..<input.log.count where input.typeWeights[Int(input.log.types[i])] > 0 {
            last[Int(input.log.items[i])] = max(last[Int(input.log.items[i])], input.log.timestamps[i])
        }
        let order = (0..<input.itemCount).filter { last[$0] > -.infinity }.sorted { last[$0] > last[$1] }
        return LatestItems(name: name, items: order.prefix(parameters.keep).map { Int32($0) })
    }

    static func load(_ bytes: [UInt8]) throws -> any RecallChannel {
        var r = try ByteReader(Data(bytes), magic: "TLAT", what: "latest items")
        return LatestItems(name: try r.readString("name"), items: try r.readArray(Int32.self, "items"))
    }
}

@Suite(.serialized) struct ChannelRegistryTests {
    /// Every registered channel, small enough to train in a test.
    static func everyChannel(annMinItems: Int) throws -> FunnelConfig {
        ChannelRegistry.register(LatestItemsChannel.self)
        var c = try FunnelConfig().restricted(to: ChannelRegistry.names)
        c.annMinItems = annMinItems
        c.rank.enabled = false
        c.twoTower.epochs = 2
        c.twoTower.validationUsers = 0
        c.lightGCN.epochs = 3
        c.eges.epochs = 1
        c.bpr.epochs = 5
        c.channels[ComiRecChannel.self].training.epochs = 3
        c.channels[SASRecChannel.self].training.epochs = 3
        // Publish the sequence models even where this small world gives them nothing to learn.
        c.channels[ComiRecChannel.self].training.mustBeatPopular = false
        c.channels[SASRecChannel.self].training.mustBeatPopular = false
        c.channels[LatestItemsChannel.self].keep = 30
        return c
    }

    /// Trains, publishes, reloads and serves every registered channel, with and without the
    /// HNSW index behind the vector channels.
    @Test(arguments: [0, 1_000_000]) func everyRegisteredChannelTrainsPublishesReloadsAndServes(annMinItems: Int) throws {
        let store = try impressionWorld()
        let config = try Self.everyChannel(annMinItems: annMinItems)
        let report = try Trainer.train(store: store, config: config)
        let trained = ChannelRegistry.all.filter { !$0.isOnline }.map { $0.name }
        #expect(report.versions.keys.sorted() == trained.sorted())
        #expect(trained.contains("latest"))
        let direct = try Trainer.build(log: try store.loadEventLog(), userCount: try store.idSnapshot().users.count,
                                       itemCount: try store.idSnapshot().items.count, registry: try store.eventTypes(),
                                       items: try Trainer.itemsInIndexOrder(store: store, ids: try store.idSnapshot().items), config: config)
        let rec = try Recommender.load(store: store, config: config)
        #expect(rec.funnel.channels.map(\.name).sorted() == ChannelRegistry.names.sorted())
        for name in trained {
            let artifact = try #require(try store.activeArtifact(name: ModelArtifact.recall(name)))
            #expect(artifact.info.manifest["kind"] == ModelArtifact.recall(name))
            let loaded = try #require(rec.funnel.channels.first { $0.name == name })
            if annMinItems == 0, ["als", "twotower", "lightgcn"].contains(name) { #expect(loaded is IndexedRecall, "\(name)") }
            // Deterministic channels read back to the same bytes they were trained to.
            // (HNSW inserts in parallel, and BPR, LightGCN, EGES and two-tower train with threads.)
            if let fresh = direct.channels.first(where: { $0.name == name }), !(loaded is IndexedRecall),
               !["bpr", "lightgcn", "eges", "twotower"].contains(name) {
                let same = fresh.serialized() == loaded.serialized()
                #expect(same, "\(name) read back differs from a fresh training")
            }
        }
        var served = Set<String>()
        let now = try store.loadEventLog().maxTimestamp
        for u in 0..<40 {
            let result = try rec.run(user: "u\(u % 20)", n: 10, store: store, now: now)
            #expect(!result.recommendations.isEmpty)
            for c in result.channels where c.candidates > 0 { served.insert(c.channel) }
        }
        // The cache fills from the pages served and recalls on the user's next request.
        for name in trained { #expect(served.contains(name), "\(name) recalled nothing in 40 requests") }
        #expect(served.contains("cache"))
    }

    @Test func theRegistryIsTheOneListOfChannels() throws {
        ChannelRegistry.register(LatestItemsChannel.self)
        let names = ChannelRegistry.names
        #expect(Set(names).count == names.count)
        #expect(FunnelConfig.knownChannels == names)
        #expect(FunnelConfig.defaultQuotas.map(\.channel) == ["itemcf", "swing", "usercf", "als", "sasrec", "author", "geo", "fresh", "trending", "popular"])
        #expect(FunnelConfig.onlineChannels == ["cache"])
        #expect(throws: CascadeError.self) { try FunnelConfig().restricted(to: ["itemcf", "nosuch"]) }
        #expect(try FunnelConfig().restricted(to: ["latest"]).quotas == [ChannelQuota(channel: "latest", quota: 20, weight: 0.1)])
        // Every declared setting reads back what it writes, and refuses a value outside its range.
        for d in ChannelRegistry.all { try Self.checkSettings(d) }
    }

    static func checkSettings<C: ChannelDefinition>(_ c: C.Type) throws {
        var p = c.defaultParameters
        #expect(Set(c.settings.map(\.key)).count == c.settings.count, "\(c.name): duplicate keys")
        for s in c.settings {
            let text = s.read(p)
            try s.write(&p, text)
            #expect(p == c.defaultParameters, "\(c.name).\(s.key) = \(text) does not read back")
            #expect(throws: CascadeError.self, "\(c.name).\(s.key)") { try s.write(&p, "not a value") }
            #expect(p == c.defaultParameters, "\(c.name).\(s.key): a refused value changed the parameters")
        }
    }

    @Test func anArtifactIsCheckedBeforeItsLoaderSeesIt() throws {
        let payload: [UInt8] = Array(0..<200)
        let blob = ArtifactCodec.encode(kind: "recall/latest", format: 1, payload: payload)
        #expect(try ArtifactCodec.decode(blob, kind: "recall/latest", formats: 1...1, what: "x").payload == payload)
        var flipped = blob
        flipped[flipped.count - 10] ^= 1
        #expect(throws: CascadeError.self) { try ArtifactCodec.decode(flipped, kind: "recall/latest", formats: 1...1, what: "x") }
        #expect(throws: CascadeError.self) { try ArtifactCodec.decode(blob.prefix(blob.count - 1), kind: "recall/latest", formats: 1...1, what: "x") }
        #expect(throws: CascadeError.self) { try ArtifactCodec.decode(blob, kind: "recall/itemcf", formats: 1...1, what: "x") }
        #expect(throws: CascadeError.self) { try ArtifactCodec.decode(blob, kind: "recall/latest", formats: 2...3, what: "x") }
        // An artifact written before the envelope is refused with what to do.
        do {
            _ = try ArtifactCodec.decode(Data(LatestItems(name: "latest", items: [1]).serialized()), kind: "recall/latest", formats: 1...1,
                                         what: "recall/latest v1")
            Issue.record("a bare artifact was read")
        } catch let e as CascadeError {
            #expect(e.description.contains("recall/latest v1") && e.description.contains("retrain: cascade train"), "\(e)")
        }
    }

    @Test func aLegacyArtifactIsSkippedAndTheRestServed() throws {
        let s = try groupWorld()
        try Trainer.train(store: s)
        // A model stored in the old bare format: the channel is skipped, the others serve.
        try s.putArtifact(name: ModelArtifact.recall("itemcf"), manifest: ["kind": "ItemCF"],
                          blob: Data(try #require(try Recommender.load(store: s).funnel.channels.first { $0.name == "itemcf" }).serialized()),
                          activate: true)
        let rec = try Recommender.load(store: s)
        #expect(!rec.funnel.channels.contains { $0.name == "itemcf" })
        #expect(try rec.recommend(user: "a3", n: 3, store: s).count == 3)
    }
}
