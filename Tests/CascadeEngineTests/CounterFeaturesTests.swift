import CascadeCore
import CascadeEngine
import CascadeSim
import CascadeStore
import Foundation
import Testing

@Suite struct CounterFeaturesTests {
    /// What the ranker is served (the store's counters at the impression's instant, one read)
    /// equals what it was trained on (the log replayed point in time), for impressions across a
    /// simulated world; and a hand-checked value.
    @Test func servedValuesEqualTheirOfflineReconstruction() throws {
        let world = SimulatedWorld.generate(SimConfig(users: 40, items: 300, events: 6_000, seed: 5))
        let log = world.log, reg = world.registry, itemIds = world.itemIdMap()
        let f = CounterFeatures(items: world.items, ids: itemIds)
        let impression = reg.code(of: .impression)!
        let rows = (0..<log.count).filter { log.types[$0] == impression }
        let offline = f.values(log: log, rows: rows, registry: reg)
        let names = (0..<256).map { EventType(reg.name(of: UInt8($0))) }
        for q in [0.3, 0.6, 0.9] {
            let r = Int(Double(rows.count) * q)
            let e = rows[r], t = log.timestamps[e], item = log.items[e]
            let earlier = (0..<log.count).filter { log.timestamps[$0] < t }
            let store = try SQLiteStore()
            try store.upsertItems(world.items)
            try store.appendEvents(earlier.map { i in
                let v = log.values[i]
                return Event(user: world.users[Int(log.users[i])].id, item: world.items[Int(log.items[i])].id, type: names[Int(log.types[i])],
                             timestamp: log.timestamps[i], value: v.isNaN ? nil : Double(v))
            })
            let snapshot = try store.counters(user: log.users[e], items: [item], attributes: f.attributes(items: [item]), now: t)
            let served = f.numbers(snapshot, items: [item])
            for name in CounterFeatures.columnNames {
                #expect(served[name].map { $0.map { String($0) } } == [offline[name]![r]], "\(name) of impression \(e) at \(t)")
            }
            // By hand: the item's click-through over all time, smoothed.
            let imps = earlier.filter { log.items[$0] == item && log.types[$0] == impression }.count
            let clicks = earlier.filter { log.items[$0] == item && log.types[$0] == reg.code(of: .click)! }.count
            #expect(served["s_item_ctr_all"] == [(Double(clicks) + 1) / (Double(imps) + 20)])
        }
    }

    /// Counts what the ranker asks of its counter source, or fails every read.
    final class Spy: CounterSource, @unchecked Sendable {
        let store: any Store
        let fail: Bool
        var asked: [Int] = []
        let lock = NSLock()
        init(_ store: any Store, fail: Bool = false) { self.store = store; self.fail = fail }
        func counters(user: Int32?, items: [Int32], attributes: [CounterAttributes], now: Double) throws -> CounterSnapshot {
            lock.withLock { asked.append(items.count) }
            if fail { throw CascadeError.storage("counters unavailable") }
            return try store.counters(user: user, items: items, attributes: attributes, now: now)
        }
    }

    /// A ranker trained with counters reads them once per request for the candidates it ranks;
    /// when the read fails the page is still served, in recall order, and the stage is reported.
    @Test func aRankerWithCountersReadsThemOncePerRequest() throws {
        let store = try impressionWorld(seed: 6)
        var config = try rankConfig(preRankLimit: 40)
        config.rank.counterFeatures = true
        _ = try Trainer.train(store: store, config: config)
        let rec = try Recommender.load(store: store, config: config)
        let ranker = try #require(rec.funnel.ranker)
        #expect(ranker.pipeline.config.features.contains { $0.name == "s_item_ctr_all" })
        let history = try rec.history(of: "u5", store: store)
        let spy = Spy(store)
        let page = rec.run(user: "u5", history: history, n: 10, now: 2e9, counters: spy)
        #expect(page.degraded.isEmpty && page.recommendations.count == 10)
        #expect(spy.asked == [40], "one read, for the 40 candidates the pre-ranker kept")
        let direct = try rec.run(user: "u5", n: 10, store: store, now: 2e9)
        #expect(direct.recommendations.map(\.item) == page.recommendations.map(\.item))
        let failing = rec.run(user: "u5", history: history, n: 10, now: 2e9, counters: Spy(store, fail: true))
        #expect(failing.degraded == ["rank"] && failing.recommendations.count == 10)
    }
}
