import CascadeCore
@testable import CascadeEngine
import CascadeRecall
import CascadeSim
import CascadeStore
import Foundation
import Testing

@Suite struct HistoryFeaturesTests {
    /// A hand-computed case: the impression at t=4 sees one positive and two impressions, one
    /// of each on its category; nothing at or after t=4 counts.
    @Test func valuesOfAHandWrittenHistory() {
        let items = [Item(id: "a", categories: ["c1", "c1/x"], author: "p"), Item(id: "b", categories: ["c2", "c2/y"], author: "q"),
                     Item(id: "c", categories: ["c1", "c1/x"], author: "q")]
        let ids = IdMap(ids: ["a", "b", "c"])
        let reg = EventTypeRegistry()
        let imp = reg.code(of: .impression)!, click = reg.code(of: .click)!, dislike = reg.code(of: .dislike)!
        var log = EventLog()
        for (item, type, t) in [(0, imp, 1.0), (0, click, 2), (1, imp, 3), (1, dislike, 3.5), (2, imp, 4), (2, click, 4), (2, click, 5)] {
            log.append(user: 0, item: Int32(item), type: type, timestamp: t, value: .nan)
        }
        let f = HistoryFeatures(items: items, ids: ids, registry: reg)
        let offline = f.values(log: log, rows: [4], userCount: 1)
        let expected: [String: Double] = ["h_pos": 1, "h_imp": 2, "h_cat_pos": 1, "h_cat_imp": 1, "h_cat_rate": 1.5 / 6,
                                          "h_top_pos": 1, "h_top_imp": 1, "h_author_pos": 0, "h_author_imp": 1, "h_author_rate": 0.5 / 6]
        for (k, v) in expected { #expect(offline[k].map { $0.map { Double($0) } } == [v], "\(k)") }
        // The same from a served history, newest first.
        let history = [HistoryEvent(item: 1, type: dislike, timestamp: 3.5), HistoryEvent(item: 1, type: imp, timestamp: 3),
                       HistoryEvent(item: 0, type: click, timestamp: 2), HistoryEvent(item: 0, type: imp, timestamp: 1)]
        #expect(f.values(history: history, items: [2]) == offline)
        #expect(f.numbers(history: history, items: [2]).mapValues { $0.map { String($0) } } == offline)
        // With a window of two events only the dislike and the impression of b are left.
        let short = HistoryFeatures(items: items, ids: ids, registry: reg, limit: 2)
        #expect(short.values(log: log, rows: [4], userCount: 1)["h_imp"] == ["1.0"])
        #expect(short.values(log: log, rows: [4], userCount: 1)["h_pos"] == ["0.0"])
        #expect(short.values(history: history, items: [2]) == short.values(log: log, rows: [4], userCount: 1))
    }

    /// The served value (the user's events read back from the store at the impression's instant)
    /// equals the training reconstruction from the log, for impressions across a simulated world.
    @Test func servedValuesEqualTheirOfflineReconstruction() throws {
        let world = SimulatedWorld.generate(SimConfig(users: 40, items: 300, events: 6_000, seed: 3))
        let log = world.log, reg = world.registry, itemIds = world.itemIdMap()
        let f = HistoryFeatures(items: world.items, ids: itemIds, registry: reg, limit: 30)
        let impression = reg.code(of: .impression)!
        let rows = (0..<log.count).filter { log.types[$0] == impression }
        let offline = f.values(log: log, rows: rows, userCount: world.users.count)
        let names = (0..<256).map { EventType(reg.name(of: UInt8($0))) }
        for q in [0.3, 0.6, 0.9] {
            let r = Int(Double(rows.count) * q)
            let e = rows[r], t = log.timestamps[e], user = world.users[Int(log.users[e])].id
            // The store as it stood at the impression's instant.
            let store = try SQLiteStore()
            try store.upsertItems(world.items)
            try store.appendEvents((0..<log.count).filter { log.timestamps[$0] < t }.map { i in
                let v = log.values[i]
                return Event(user: world.users[Int(log.users[i])].id, item: world.items[Int(log.items[i])].id, type: names[Int(log.types[i])],
                             timestamp: log.timestamps[i], value: v.isNaN ? nil : Double(v))
            })
            let history = try store.lastEvents(user: user, limit: f.limit, types: nil).map {
                HistoryEvent(item: itemIds.index(of: $0.item)!, type: reg.code(of: $0.type)!, timestamp: $0.timestamp)
            }
            let served = f.values(history: history, items: [log.items[e]])
            for name in HistoryFeatures.columnNames {
                #expect(served[name] == [offline[name]![r]], "\(name) of impression \(e) at \(t)")
            }
        }
    }

    /// The open-addressing table agrees with a dictionary (the naive reference) through growth,
    /// repeated keys, negative updates and lookups of absent keys.
    @Test func tallyTableAgreesWithADictionary() {
        var table = TallyTable(capacity: 4)
        var reference: [Int64: (pos: Int32, imp: Int32)] = [:]
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        for _ in 0..<20_000 {
            let key = Int64(next() % 3) << 32 | Int64(next() % 900)
            let pos = Int32(next() % 3) - 1, imp = Int32(next() % 3) - 1
            table.add(key, pos: pos, imp: imp)
            reference[key, default: (0, 0)].pos += pos
            reference[key, default: (0, 0)].imp += imp
        }
        #expect(table.count == reference.count)
        for (key, t) in reference {
            #expect(table[key].pos == t.pos && table[key].imp == t.imp)
        }
        for missing: Int64 in [5 << 32, 901, 1 << 40] {
            #expect(table[missing].pos == 0 && table[missing].imp == 0)
        }
    }
}
