import CascadeCore
import Foundation
import GRDB
import GRDBSQLite

/// Events: appended in durable transactions through prepared statements bound directly
/// (the hot path of ingest), read back by user, by time range, or streamed in dense batches.
extension SQLiteStore {
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The UTC day of a timestamp, clamped to a range SQLite integers hold.
    static func day(_ ts: Double) -> Int64 {
        Int64((ts / 86_400).rounded(.down).clamped(-1e15, 1e15))
    }

    func appendEvents(_ events: [Event], db: Database, users: inout Interner, items: inout Interner,
                      registry: EventTypeRegistry) throws {
        let stmt = try db.cachedStatement(sql: "INSERT INTO events(day, user_idx, item_idx, type, ts, value, scene, request, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        let s = stmt.sqliteStatement
        var codes: [String: UInt8] = [:]
        for e in registry.entries { codes[e.name] = e.code }
        // Deleted users and items are gone until re-created: checked per distinct id, and only
        // when the store holds a deletion at all (two seeks of partial indexes).
        let anyDeleted = try Bool.fetchOne(db, sql: """
            SELECT EXISTS(SELECT 1 FROM users INDEXED BY users_deleted WHERE deleted = 1)
                OR EXISTS(SELECT 1 FROM items INDEXED BY items_deleted WHERE deleted = 1)
            """) ?? false
        var checkedUsers = Set<Int32>(), checkedItems = Set<Int32>()
        // Counted events, folded into the statistics counters after the events are written.
        var counted = CounterBatch()
        for e in events {
            guard let code = codes[e.type.name] else {
                throw CascadeError.invalid("event of user \(e.user) on item \(e.item): unknown event type '\(e.type.name)' (register it first; known: \(registry.entries.map(\.name).joined(separator: ", ")))")
            }
            let u = try users.index(e.user, db: db)
            let i = try items.index(e.item, db: db)
            if anyDeleted {
                if checkedUsers.insert(u).inserted,
                   try Bool.fetchOne(db, sql: "SELECT deleted FROM users WHERE idx = ?", arguments: [Int(u)]) == true {
                    throw CascadeError.notFound(StoreSupport.deletedMessage("user", e.user))
                }
                if checkedItems.insert(i).inserted,
                   try Bool.fetchOne(db, sql: "SELECT deleted FROM items WHERE idx = ?", arguments: [Int(i)]) == true {
                    throw CascadeError.notFound(StoreSupport.deletedMessage("item", e.item))
                }
            }
            counted.add(user: u, item: i, type: e.type.name, value: e.value, timestamp: e.timestamp)
            sqlite3_reset(s)
            sqlite3_bind_int64(s, 1, Self.day(e.timestamp))
            sqlite3_bind_int64(s, 2, Int64(u))
            sqlite3_bind_int64(s, 3, Int64(i))
            sqlite3_bind_int64(s, 4, Int64(code))
            sqlite3_bind_double(s, 5, e.timestamp)
            if let v = e.value { sqlite3_bind_double(s, 6, v) } else { sqlite3_bind_null(s, 6) }
            if let scene = e.scene { sqlite3_bind_text(s, 7, scene, -1, Self.transient) } else { sqlite3_bind_null(s, 7) }
            if let request = e.request { sqlite3_bind_text(s, 8, request, -1, Self.transient) } else { sqlite3_bind_null(s, 8) }
            if let position = e.position { sqlite3_bind_int64(s, 9, Int64(position)) } else { sqlite3_bind_null(s, 9) }
            let rc = sqlite3_step(s)
            guard rc == SQLITE_DONE else {
                throw CascadeError.storage("appending event of user \(e.user) on item \(e.item): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
        }
        sqlite3_reset(s)
        guard !counted.isEmpty else { return }
        let attributes = try Self.counterAttributes(counted.items, db: db)
        try Self.addCounters(counted.table(attributes), db: db)
    }

    public func appendEvents(_ events: [Event]) throws {
        try importBatch(users: [], items: [], events: events)
    }

    public func importBatch(users: [User], items: [Item], events: [Event]) throws {
        try StoreSupport.validateBatch(users: users, items: items, events: events)
        let cache = caches()
        let (ui, ii) = try write("writing \(users.count) users, \(items.count) items, \(events.count) events") { db in
            var ui = try Interner(db: db, table: "users", cache: cache.users)
            var ii = try Interner(db: db, table: "items", cache: cache.items)
            let registry = try Self.loadRegistry(db)
            try upsertUsers(users, db: db, interner: &ui)
            try upsertItems(items, db: db, interner: &ii)
            try appendEvents(events, db: db, users: &ui, items: &ii, registry: registry)
            return (ui, ii)
        }
        publish(ui, ii)
    }

    private static let eventColumns = """
        SELECT u.ext_id, i.ext_id, e.type, e.ts, e.value, e.scene, e.request, e.position FROM events e
        JOIN users u ON u.idx = e.user_idx JOIN items i ON i.idx = e.item_idx
        """

    private static func event(_ r: Row, _ reg: EventTypeRegistry) -> Event {
        Event(user: r[0], item: r[1], type: EventType(reg.name(of: UInt8(r[2] as Int))), timestamp: r[3], value: r[4], scene: r[5],
              request: r[6], position: r[7])
    }

    /// Newest first: one backwards range of the (user, time) index, O(log n + limit), however
    /// many days the store spans.
    public func lastEvents(user: String, limit: Int, types: Set<EventType>?) throws -> [Event] {
        guard limit > 0 else { return [] }
        let reg = try eventTypes()
        var typeClause = ""
        if let types {
            let codes = types.compactMap { reg.code(of: $0) }.map { Int($0) }
            if codes.isEmpty { return [] }
            typeClause = " AND e.type IN (\(codes.map(String.init).joined(separator: ",")))"
        }
        return try read("reading events of user \(user)") { db in
            // A deleted user has no history until re-created.
            guard let uidx = try Int.fetchOne(db, sql: "SELECT idx FROM users WHERE ext_id = ? AND deleted = 0", arguments: [user]) else { return [] }
            let stmt = try db.cachedStatement(sql: Self.eventColumns + """
                 WHERE e.user_idx = ?\(typeClause) ORDER BY e.ts DESC, e.id DESC LIMIT ?
                """)
            var out: [Event] = []
            let rows = try Row.fetchCursor(stmt, arguments: [uidx, limit])
            while let r = try rows.next() { out.append(Self.event(r, reg)) }
            return out
        }
    }

    /// Two index seeks: the newest day, then the newest time within it.
    public func newestEventTime() throws -> Double? {
        try read("reading the newest event time") { db in
            try Double.fetchOne(db, sql: "SELECT MAX(ts) FROM events WHERE day = (SELECT MAX(day) FROM events)")
        }
    }

    public func events(from: Double, to: Double) throws -> [Event] {
        guard from < to else { return [] }
        let reg = try eventTypes()
        return try read("reading events by time") { db in
            var out: [Event] = []
            let rows = try Row.fetchCursor(db, sql: Self.eventColumns + " WHERE e.day BETWEEN ? AND ? AND e.ts >= ? AND e.ts < ? ORDER BY e.ts, e.id",
                                           arguments: [Self.day(from), Self.day(to), from, to])
            while let r = try rows.next() { out.append(Self.event(r, reg)) }
            return out
        }
    }

    public func scanEvents(batchSize: Int, _ body: (EventLog) throws -> Void) throws {
        let size = max(1, batchSize)
        // Reads run in one snapshot so a concurrent writer cannot tear the scan.
        try read("scanning events") { db in
            let stmt = try db.makeStatement(sql: "SELECT user_idx, item_idx, type, ts, value, position FROM events ORDER BY id")
            let s = stmt.sqliteStatement
            var batch = EventLog(capacity: size)
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else {
                    throw CascadeError.storage("scanning events: \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
                }
                let value: Float = sqlite3_column_type(s, 4) == SQLITE_NULL ? .nan : Float(sqlite3_column_double(s, 4))
                let position: Int? = sqlite3_column_type(s, 5) == SQLITE_NULL ? nil : Int(sqlite3_column_int64(s, 5))
                batch.append(user: Int32(sqlite3_column_int64(s, 0)), item: Int32(sqlite3_column_int64(s, 1)),
                             type: UInt8(truncatingIfNeeded: sqlite3_column_int64(s, 2)), timestamp: sqlite3_column_double(s, 3), value: value,
                             position: position)
                if batch.count == size {
                    try body(batch)
                    batch = EventLog(capacity: size)
                }
            }
            sqlite3_reset(s)
            if batch.count > 0 { try body(batch) }
        }
    }

    public func loadEventLog() throws -> EventLog {
        var log = EventLog()
        try scanEvents(batchSize: 1 << 16) { log.append(contentsOf: $0) }
        return log
    }
}

extension Double {
    func clamped(_ lo: Double, _ hi: Double) -> Double { Swift.min(hi, Swift.max(lo, self)) }
}
