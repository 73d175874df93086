import CascadeCore
import CascadePostgres
import CascadeStore
import Foundation
import Testing

/// The statistics counters every store keeps with its events: what a request reads equals the
/// point-in-time replay of the event log that training uses, a failed batch adds nothing, and
/// two writers on one database lose no count.
@Suite struct CounterConformance {
    static let day = 86_400.0
    static let start = 20_000 * day  // a UTC midnight

    static func items() -> [Item] {
        (0..<12).map { k in
            var item = Item(id: "i\(k)")
            if k % 4 != 3 { item.categories = ["top\(k % 2)", "top\(k % 2)/sub\(k % 3)"] }
            if k % 3 != 2 { item.author = "a\(k % 4)" }
            return item
        }
    }

    /// Events of 5 users on 12 items over ten days: counted types and others, some at one instant.
    static func events(seed: UInt64) -> [Event] {
        // A fixed scramble of (event, field): the same events on every run.
        func draw(_ k: Int, _ field: UInt64, _ n: UInt64) -> UInt64 {
            let x = (UInt64(k) &* 0x9E37_79B9_7F4A_7C15 ^ (seed &+ field) &* 0xBF58_476D_1CE4_E5B9) &* 0x94D0_49BB_1331_11EB
            return (x ^ (x >> 31)) % n
        }
        let types: [EventType] = [.impression, .impression, .impression, .click, .like, .watch, .favorite, .dislike]
        return (0..<600).map { k in
            let type = types[Int(draw(k, 1, UInt64(types.count)))]
            let t = start + Double(draw(k, 2, UInt64(10 * day))) + (k % 7 == 0 ? 0.5 : 0)
            return Event(user: "u\(draw(k, 3, 5))", item: "i\(draw(k, 4, 12))", type: type, timestamp: t,
                         value: type == .watch ? Double(draw(k, 5, 90)) : nil)
        }
    }

    @Test(arguments: StoreBackend.all)
    func servedCountersEqualTheirReplay(_ backend: StoreBackend) throws {
        let s = try backend.make()
        let items = Self.items()
        try s.upsertItems(items)
        let events = Self.events(seed: 7)
        // Through both write paths, in several batches.
        for (k, chunk) in stride(from: 0, to: events.count, by: 150).map({ Array(events[$0..<min(events.count, $0 + 150)]) }).enumerated() {
            if k % 2 == 0 { try s.appendEvents(chunk) } else { try s.importBatch(users: [], items: [], events: chunk) }
        }
        let ids = try s.idSnapshot()
        let log = try s.loadEventLog()
        let replay = CounterReplay(registry: try s.eventTypes(), items: items, ids: ids.items)
        let attributes = (0..<ids.items.count).map { replay.attributes[$0] }
        let every = (0..<Int32(ids.items.count)).map { $0 }
        // After the last event, a day later, and past the end of the 7-day window.
        for now in [log.maxTimestamp + 1, log.maxTimestamp + Self.day, log.maxTimestamp + 8 * Self.day] {
            let table = replay.table(log, before: now)
            for u in 0..<Int32(ids.users.count) {
                let served = try s.counters(user: u, items: every, attributes: attributes, now: now)
                let offline = table.snapshot(user: u, items: every, attributes: attributes, now: now)
                for (i, a) in attributes.enumerated() {
                    #expect(served.item(Int32(i)) == offline.item(Int32(i)), "item i\(i) at \(now)")
                    for (scope, attribute) in a.keys {
                        #expect(served.user(scope, attribute) == offline.user(scope, attribute), "user u\(u) \(scope) \(attribute) at \(now)")
                    }
                }
            }
        }
        // Recounted from the events (what a migration does to a store that had none): the same.
        let before = try s.counters(user: 1, items: every, attributes: attributes, now: log.maxTimestamp + 1)
        try s.rebuildCounters()
        #expect(try s.counters(user: 1, items: every, attributes: attributes, now: log.maxTimestamp + 1) == before)
        // Hand-checked: the item's impressions over all time are its impression events.
        let i0 = try #require(ids.items.index(of: "i0"))
        let served = try s.counters(user: nil, items: [i0], attributes: [attributes[Int(i0)]], now: log.maxTimestamp + 1)
        #expect(served.item(i0).all.impressions == Int64(events.filter { $0.item == "i0" && $0.type == .impression }.count))
        #expect(served.user.isEmpty)
        let watched = events.filter { $0.item == "i0" && $0.type == .watch }.reduce(0) { $0 + ($1.value ?? 0) }
        #expect(served.item(i0).all.watchSeconds == watched)
    }

    @Test(arguments: StoreBackend.all)
    func aFailedBatchAddsNoCount(_ backend: StoreBackend) throws {
        let s = try backend.make()
        try s.appendEvents([Event(user: "u0", item: "i0", type: .impression, timestamp: Self.start)])
        #expect(throws: CascadeError.self) {
            try s.appendEvents([Event(user: "u0", item: "i0", type: .impression, timestamp: Self.start + 1),
                                Event(user: "u0", item: "i0", type: "teleport", timestamp: Self.start + 2)])
        }
        let c = try s.counters(user: 0, items: [0], attributes: [.none], now: Self.start + 10)
        #expect(c.item(0).all.impressions == 1)
        #expect(c.user(.user).day1.impressions == 1)
    }

    /// Two handles on one database (two servers) write the same rows at once.
    @Test func concurrentWritersLoseNoCount() throws {
        var pairs: [(any Store, any Store)] = []
        let path = TempDir.make().appendingPathComponent("c.sqlite").path
        pairs.append((try SQLiteStore(path: path), try SQLiteStore(path: path)))
        if let url = PostgresTestDatabase.url {
            let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
            let full = url + (url.contains("?") ? "&" : "?") + "schema=" + schema + "&pool=2"
            pairs.append((try PostgresStore(url: full), try PostgresStore(url: full)))
        }
        for (a, b) in pairs {
            try a.upsertItems([Item(id: "i", categories: ["c"], author: "x")])
            let stores = [a, b]
            let batches = 40
            DispatchQueue.concurrentPerform(iterations: 2) { w in
                for k in 0..<batches {
                    try? stores[w].appendEvents((0..<5).map { j in
                        Event(user: "u", item: "i", type: .impression, timestamp: Self.start + Double(k * 10 + j))
                    })
                }
            }
            let c = try a.counters(user: 0, items: [0], attributes: [CounterAttributes(category: "c", topCategory: "c", author: "x")],
                                   now: Self.start + 1_000)
            #expect(c.item(0).all.impressions == Int64(2 * batches * 5))
            #expect(c.user(.author, "x").day7.impressions == Int64(2 * batches * 5))
            #expect(try a.counts().events == 2 * batches * 5)
        }
    }
}
