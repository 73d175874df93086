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
}
