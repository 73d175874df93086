import CascadeCore
import CascadePostgres
import CascadeStore
import Foundation
import Testing
import CascadeTestSupport

/// A named way to make a fresh, empty store. Every backend adds itself to `StoreBackend.all`;
/// the conformance tests below then run against it unchanged.
struct StoreBackend: CustomStringConvertible, Sendable {
    let name: String
    let make: @Sendable () throws -> any Store
    var description: String { name }

    static let all: [StoreBackend] = [
        StoreBackend(name: "sqlite-file") { try SQLiteStore(path: TempDir.make().appendingPathComponent("c.sqlite").path) },
        StoreBackend(name: "sqlite-memory") { try SQLiteStore() },
    ] + (PostgresTestDatabase.url == nil ? [] : [
        StoreBackend(name: "postgres") { try PostgresTestDatabase.freshStore() },
    ])
}

/// The PostgreSQL server the tests use: `CASCADE_TEST_POSTGRES` (a `postgres://` URL; `.ci/run`
/// starts one and sets it). Without it the PostgreSQL backend is left out, and said so once.
enum PostgresTestDatabase {
    static let url: String? = {
        let u = ProcessInfo.processInfo.environment["CASCADE_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
        if u == nil { print("CASCADE_TEST_POSTGRES is not set: the PostgreSQL store is not tested in this run") }
        return u
    }()

    /// A store in a schema of its own, so every test starts empty.
    static func freshStore() throws -> PostgresStore {
        guard let url else { throw CascadeError.invalid("CASCADE_TEST_POSTGRES is not set") }
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        let sep = url.contains("?") ? "&" : "?"
        return try PostgresStore(url: url + sep + "schema=" + schema + "&pool=2")
    }
}

enum TempDir {
    static func make() -> URL {
        let url = Scratch.path("store")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

@Suite struct StoreConformance {
    @Test(arguments: StoreBackend.all)
    func usersAndItemsRoundTrip(_ backend: StoreBackend) throws {
        let s = try backend.make()
        let u = User(id: "alice", categorical: ["gender": "f"], numeric: ["age": 31], tags: ["runner"],
                     location: GeoPoint(latitude: 48.85, longitude: 2.35))
        let i = Item(id: "song-1", categories: ["music", "music/jazz"], tags: ["live"], author: "miles",
                     publishedAt: 1_700_000_000, numeric: ["length": 300], categorical: ["lang": "en"])
        try s.upsertUsers([u])
        try s.upsertItems([i])
        #expect(try s.user("alice") == u)
        #expect(try s.item("song-1") == i)
        #expect(try s.user("bob") == nil)
        var u2 = u
        u2.tags = ["swimmer"]
        try s.upsertUsers([u2])
        #expect(try s.user("alice")?.tags == ["swimmer"])
        #expect(try s.allUsers() == [u2])
        #expect(try s.allItems() == [i])
    }

    @Test(arguments: StoreBackend.all)
    func idsAreDenseInFirstSeenOrderAndEventsCreateEntities(_ backend: StoreBackend) throws {
        let s = try backend.make()
        try s.upsertItems([Item(id: "x")])
        try s.appendEvents([Event(user: "u2", item: "y", timestamp: 1), Event(user: "u1", item: "x", timestamp: 2)])
        let ids = try s.idSnapshot()
        #expect(ids.users.ids == ["u2", "u1"])
        #expect(ids.items.ids == ["x", "y"])
        #expect(try s.user("u1") == User(id: "u1"))
        #expect(try s.item("y") == Item(id: "y"))
        let log = try s.loadEventLog()
        #expect(log.users == [0, 1] && log.items == [1, 0])
        #expect(log.timestamps == [1, 2])
        #expect(log.values[0].isNaN)
    }

    @Test(arguments: StoreBackend.all)
    func lastEventsNewestFirstWithLimitAndTypes(_ backend: StoreBackend) throws {
        let s = try backend.make()
        var events: [Event] = []
        for t in 0..<10 {
            events.append(Event(user: "u", item: "i\(t)", type: t % 2 == 0 ? .click : .like, timestamp: Double(100 + t),
                                value: t == 3 ? 2.5 : nil, scene: t == 3 ? "home" : nil))
        }
        events.append(Event(user: "other", item: "i0", timestamp: 500))
        try s.appendEvents(events)
        let last = try s.lastEvents(user: "u", limit: 3, types: nil)
        #expect(last.map(\.item) == ["i9", "i8", "i7"])
        let likes = try s.lastEvents(user: "u", limit: 100, types: [.like])
        #expect(likes.map(\.item) == ["i9", "i7", "i5", "i3", "i1"])
        #expect(likes.last?.value == nil)
        #expect(likes[3] == Event(user: "u", item: "i3", type: .like, timestamp: 103, value: 2.5, scene: "home"))
        #expect(try s.lastEvents(user: "nobody", limit: 5, types: nil).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func lastEventsAndRangesAcrossManyDays(_ backend: StoreBackend) throws {
        let s = try backend.make()
        let day = 86_400.0
        let late = 1_700_000_000.0  // 19,675 days after the others: reads must not walk the gap
        // Out of time order on purpose; days 0, 1, 1, 5, 40 and one in 2023.
        let times = [5 * day + 10, 1 * day + 3, late, 40 * day, 1 * day + 1, 0]
        try s.appendEvents(times.enumerated().map { Event(user: "u", item: "i\($0.offset)", timestamp: $0.element) })
        try s.appendEvents([Event(user: "v", item: "i9", timestamp: 3 * day)])
        #expect(try s.lastEvents(user: "u", limit: 4, types: nil).map(\.timestamp) == [late, 40 * day, 5 * day + 10, day + 3])
        #expect(try s.lastEvents(user: "u", limit: 100, types: nil).map(\.timestamp) == [late, 40 * day, 5 * day + 10, day + 3, day + 1, 0])
        #expect(try s.lastEvents(user: "v", limit: 100, types: nil).map(\.timestamp) == [3 * day])
        #expect(try s.newestEventTime() == late)
        #expect(try s.lastEvents(user: "u", limit: 0, types: nil).isEmpty)
        #expect(try s.events(from: -day, to: day + 2).map(\.timestamp) == [0, day + 1])
        #expect(try s.events(from: day + 2, to: 40 * day).map(\.timestamp) == [day + 3, 3 * day, 5 * day + 10])
        #expect(try s.events(from: 7, to: 7).isEmpty)
    }

    /// Deleted users and items are gone until re-created: their events are refused (the whole
    /// batch), a deleted user has no history; an upsert brings them back.
    @Test(arguments: StoreBackend.all)
    func deletedEntitiesTakeNoEventsUntilRecreated(_ backend: StoreBackend) throws {
        let s = try backend.make()
        try s.upsertItems([Item(id: "a"), Item(id: "b")])
        try s.appendEvents([Event(user: "u", item: "a", timestamp: 1), Event(user: "v", item: "b", timestamp: 2)])
        #expect(try s.deleteItem("a"))
        #expect(try s.deleteUser("v"))
        #expect(throws: CascadeError.self) { try s.appendEvents([Event(user: "u", item: "b", timestamp: 3), Event(user: "u", item: "a", timestamp: 4)]) }
        #expect(throws: CascadeError.self) { try s.appendEvents([Event(user: "v", item: "b", timestamp: 5)]) }
        #expect(try s.counts().events == 2)
        #expect(try s.lastEvents(user: "v", limit: 10, types: nil).isEmpty)
        #expect(try s.lastEvents(user: "u", limit: 10, types: nil).map(\.item) == ["a"])
        // Re-created: events are taken again (in the same batch as the upsert, too).
        try s.importBatch(users: [User(id: "v")], items: [], events: [Event(user: "v", item: "b", timestamp: 6)])
        try s.upsertItems([Item(id: "a")])
        try s.appendEvents([Event(user: "u", item: "a", timestamp: 7)])
        #expect(try s.counts().events == 4)
        #expect(try s.lastEvents(user: "v", limit: 10, types: nil).map(\.timestamp) == [6, 2])
    }

    @Test(arguments: StoreBackend.all)
    func deactivationLeavesNoActiveVersion(_ backend: StoreBackend) throws {
        let s = try backend.make()
        #expect(try s.newestEventTime() == nil)
        #expect(try !s.deactivateArtifact(name: "m"))
        try s.putArtifact(name: "m", manifest: [:], blob: Data([1]), activate: true)
        try s.putArtifact(name: "m", manifest: [:], blob: Data([2]), activate: true)
        #expect(try s.deactivateArtifact(name: "m"))
        #expect(try s.activeArtifact(name: "m") == nil)
        #expect(try s.artifactVersions(name: "m").map(\.version) == [1, 2])
        #expect(try s.artifactVersions(name: "m").allSatisfy { !$0.active })
        try s.activateArtifact(name: "m", version: 1)
        #expect(try s.activeArtifact(name: "m")?.blob == Data([1]))
    }

    /// Milliseconds sent as seconds, overflowing and negative times, the far future: each is
    /// refused with the field named, and nothing of its batch is stored.
    @Test(arguments: StoreBackend.all)
    func outOfRangeTimestampsAndValuesAreRefusedWhole(_ backend: StoreBackend) throws {
        let s = try backend.make()
        try s.appendEvents([Event(user: "u", item: "i", timestamp: 1_700_000_000)])
        let now = Date().timeIntervalSince1970
        for ts in [1_765_000_000_000, 1e300, -1e15, 99_999_999_999, -1, now + 3 * 86_400] {
            do {
                try s.appendEvents([Event(user: "w", item: "j", timestamp: 1_700_000_001), Event(user: "u", item: "i", timestamp: ts)])
                Issue.record("timestamp \(ts) was accepted")
            } catch let e as CascadeError {
                #expect(e.description.contains("timestamp"), "\(e)")
                if ts == 1_765_000_000_000 { #expect(e.description.contains("milliseconds"), "\(e)") }
            }
        }
        for v in [1e300, -1e12] {
            #expect(throws: CascadeError.self) { try s.appendEvents([Event(user: "u", item: "i", type: .watch, timestamp: 1, value: v)]) }
        }
        #expect(throws: CascadeError.self) { try s.upsertItems([Item(id: "k", publishedAt: 99_999_999_999)]) }
        #expect(try s.counts().events == 1)
        #expect(try s.user("w") == nil)
        #expect(try s.lastEvents(user: "u", limit: 10, types: nil).map(\.timestamp) == [1_700_000_000])
    }

    @Test(arguments: StoreBackend.all)
    func eventsByHalfOpenTimeRangeAndScanInBatches(_ backend: StoreBackend) throws {
        let s = try backend.make()
        try s.appendEvents((0..<25).map { Event(user: "u\($0 % 3)", item: "i\($0 % 7)", timestamp: Double($0)) })
        let range = try s.events(from: 5, to: 10)
        #expect(range.map(\.timestamp) == [5, 6, 7, 8, 9])
        var sizes: [Int] = []
        var all = EventLog()
        try s.scanEvents(batchSize: 10) { sizes.append($0.count); all.append(contentsOf: $0) }
        #expect(sizes == [10, 10, 5])
        #expect(all.timestamps == (0..<25).map(Double.init))
    }

    /// Served pages round-trip whole, are found by request id and by time, and a page written
    /// twice (a retried batch) stays as first written.
    @Test(arguments: StoreBackend.all)
    func servedPagesRoundTrip(_ backend: StoreBackend) throws {
        let s = try backend.make()
        let a = ServedPage(request: "r-a", user: "u1", timestamp: 100, items: ["i1", "i2", "i3"], propensities: [0.8, 0.8, 0.05],
                           experiment: "fp:l:e:arm", scene: "home", models: ["rank": 3, "itemcf": 1])
        let b = ServedPage(request: "r-b", user: "u2", timestamp: 101.5, items: ["i9"])
        try s.appendPages([a, b])
        var changed = a
        changed.items = ["x"]
        try s.appendPages([changed])
        #expect(try s.pages(requests: ["r-a", "nope", "r-b", "r-a"]).sorted { $0.request < $1.request } == [a, b])
        #expect(try s.pages(from: 100.5, to: 200) == [b])
        #expect(try s.pages(from: 0, to: 200).map(\.request) == ["r-a", "r-b"])
        #expect(try s.pages(requests: []).isEmpty)
    }

    /// The served page an event answers (request id and slot) is kept, read back by user and by
    /// time, and scanned into the log's positions; an out-of-range slot is refused whole.
    @Test(arguments: StoreBackend.all)
    func eventsKeepTheirPageAndSlot(_ backend: StoreBackend) throws {
        let s = try backend.make()
        try s.appendEvents([
            Event(user: "u", item: "a", type: .impression, timestamp: 10, request: "r-1", position: 0),
            Event(user: "u", item: "b", type: .impression, timestamp: 10, request: "r-1", position: 7),
            Event(user: "u", item: "b", type: .click, timestamp: 12, request: "r-1", position: 7),
            Event(user: "u", item: "c", type: .click, timestamp: 13),
        ])
        let newest = try s.lastEvents(user: "u", limit: 10, types: nil)
        #expect(newest.map(\.position) == [nil, 7, 7, 0] && newest.map(\.request) == [nil, "r-1", "r-1", "r-1"])
        #expect(try s.events(from: 10, to: 11).map(\.position) == [0, 7])
        let log = try s.loadEventLog()
        #expect((0..<4).map { log.position($0) } == [0, 7, 7, nil])
        // Which pages the client reported impressions for, by the events' request ids.
        let reg = try s.eventTypes()
        try s.appendEvents([Event(user: "w", item: "a", type: .impression, timestamp: 20, request: "r-2")])
        #expect(try s.requests(eventType: reg.code(of: .impression)!, from: 0, to: 100) == ["r-1", "r-2"])
        #expect(try s.requests(eventType: reg.code(of: .impression)!, from: 15, to: 100) == ["r-2"])
        #expect(try s.requests(eventType: reg.code(of: .click)!, from: 0, to: 100) == ["r-1"])
        for bad in [Event(user: "u", item: "a", timestamp: 14, position: -1), Event(user: "u", item: "a", timestamp: 14, position: 10_000),
                    Event(user: "u", item: "a", timestamp: 14, request: "")] {
            #expect(throws: CascadeError.self) { try s.appendEvents([Event(user: "v", item: "a", timestamp: 14), bad]) }
        }
        #expect(try s.counts().events == 5)
    }

    @Test(arguments: StoreBackend.all)
    func deleteAndHideKeepIndicesAndEvents(_ backend: StoreBackend) throws {
        let s = try backend.make()
        try s.upsertItems([Item(id: "a"), Item(id: "b"), Item(id: "c")])
        try s.appendEvents([Event(user: "u", item: "a", timestamp: 1), Event(user: "u", item: "b", timestamp: 2)])
        #expect(try s.deleteItem("a"))
        #expect(try !s.deleteItem("a"))
        #expect(try !s.deleteItem("zzz"))
        try s.setItemHidden("b", hidden: true)
        #expect(try s.item("a") == nil)
        #expect(try s.item("b")?.hidden == true)
        #expect(try s.unavailableItems() == [0, 1])
        #expect(try s.loadEventLog().count == 2)
        try s.setItemHidden("b", hidden: false)
        #expect(try s.unavailableItems() == [0])
        #expect(throws: CascadeError.notFound("item nope")) { try s.setItemHidden("nope", hidden: true) }
        try s.upsertItems([Item(id: "a", tags: ["back"])])
        #expect(try s.item("a")?.tags == ["back"])
        #expect(try s.idSnapshot().items.index(of: "a") == 0)
        #expect(try s.deleteUser("u"))
        #expect(try s.user("u") == nil)
        try s.appendEvents([Event(user: "v", item: "c", timestamp: 3)])
        #expect(try s.idSnapshot().users.ids == ["u", "v"])
    }

    @Test(arguments: StoreBackend.all)
    func aFailingBatchChangesNothing(_ backend: StoreBackend) throws {
        let s = try backend.make()
        try s.appendEvents([Event(user: "u0", item: "i0", timestamp: 1)])
        let before = try s.counts()
        #expect(throws: CascadeError.self) {
            try s.importBatch(users: [User(id: "new-user")], items: [Item(id: "new-item")],
                              events: [Event(user: "u9", item: "i9", timestamp: 1), Event(user: "u9", item: "i9", type: "teleport", timestamp: 2)])
        }
        #expect(try s.counts() == before)
        #expect(try s.user("new-user") == nil)
        #expect(try s.item("new-item") == nil)
        // Ids the failed batch touched are not taken: the next new id gets the next index.
        try s.appendEvents([Event(user: "u1", item: "i1", timestamp: 2)])
        #expect(try s.idSnapshot().users.ids == ["u0", "u1"])
        #expect(throws: CascadeError.self) { try s.upsertUsers([User(id: "d"), User(id: "d")]) }
        #expect(throws: CascadeError.self) { try s.appendEvents([Event(user: "", item: "i", timestamp: 1)]) }
        #expect(throws: CascadeError.self) { try s.appendEvents([Event(user: "u", item: "i", timestamp: .nan)]) }
        #expect(try s.counts().events == 2)
    }

    @Test(arguments: StoreBackend.all)
    func customEventTypesAndCounts(_ backend: StoreBackend) throws {
        let s = try backend.make()
        try s.registerEventType("add_to_cart", weight: 2.5)
        let reg = try s.eventTypes()
        #expect(reg.code(of: "add_to_cart") == 11)
        #expect(reg.weightsByCode[11] == 2.5)
        try s.appendEvents([Event(user: "u", item: "i", type: "add_to_cart", timestamp: 1),
                            Event(user: "u", item: "i", type: .purchase, timestamp: 2, value: 9.99),
                            Event(user: "w", item: "j", type: .impression, timestamp: 3)])
        let c = try s.counts()
        #expect(c == StoreCounts(users: 2, items: 2, events: 3, eventsByType: ["add_to_cart": 1, "purchase": 1, "impression": 1]))
        try s.registerEventType("add_to_cart", weight: 3)
        #expect(try s.eventTypes().weightsByCode[11] == 3)
    }

    @Test(arguments: StoreBackend.all)
    func exposureFiltersRoundTrip(_ backend: StoreBackend) throws {
        let s = try backend.make()
        #expect(try s.exposureFilter(user: "u") == nil)
        try s.putExposureFilters(["u": Data([1, 2]), "w": Data([3])])
        #expect(try s.exposureFilter(user: "u") == Data([1, 2]))
        try s.putExposureFilters(["u": Data([9])])
        #expect(try s.exposureFilter(user: "u") == Data([9]) && s.exposureFilter(user: "w") == Data([3]))
        #expect(try s.idSnapshot().users.ids == ["u", "w"])
        #expect(throws: CascadeError.self) { try s.putExposureFilters(["": Data([1])]) }
    }

    @Test(arguments: StoreBackend.all)
    func artifactVersionsAndAtomicActivation(_ backend: StoreBackend) throws {
        let s = try backend.make()
        #expect(try s.activeArtifact(name: "itemcf") == nil)
        let v1 = try s.putArtifact(name: "itemcf", manifest: ["format": "1"], blob: Data([1, 2, 3]), activate: true)
        let v2 = try s.putArtifact(name: "itemcf", manifest: ["format": "1", "k": "50"], blob: Data([4, 5]), activate: false)
        #expect(v1 == 1 && v2 == 2)
        #expect(try s.activeArtifact(name: "itemcf")?.blob == Data([1, 2, 3]))
        try s.activateArtifact(name: "itemcf", version: 2)
        let active = try #require(try s.activeArtifact(name: "itemcf"))
        #expect(active.blob == Data([4, 5]) && active.info.version == 2 && active.info.manifest["k"] == "50")
        #expect(try s.artifactVersions(name: "itemcf").map { [$0.version, $0.size, $0.active ? 1 : 0] } == [[1, 3, 0], [2, 2, 1]])
        #expect(try s.artifact(name: "itemcf", version: 1)?.blob == Data([1, 2, 3]))
        #expect(throws: CascadeError.notFound("artifact itemcf version 7")) { try s.activateArtifact(name: "itemcf", version: 7) }
        #expect(try s.activeArtifact(name: "itemcf")?.info.version == 2)
    }
}
