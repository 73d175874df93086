import CascadeCore
import CascadeStore
import Foundation
import Logging
import PostgresNIO

/// Users, items, ids and event types: JSON documents beside dense indices, as in ``SQLiteStore``.
extension PostgresStore {
    // MARK: ids inside a transaction

    /// The indices of `ids` (distinct, in first-seen order), creating the missing ones in that
    /// order. New indices are taken under an advisory lock held to the end of the transaction, so
    /// two nodes never take the same one and a rolled-back batch leaves no gap.
    static func intern(_ ids: [String], table: EntityTable, conn: PostgresConnection, cache: IdMap,
                       logger: Logger) async throws -> [String: Int32] {
        var out: [String: Int32] = [:]
        var missing: [String] = []
        var seen = Set<String>()
        for id in ids where seen.insert(id).inserted {
            if let i = cache.index(of: id) { out[id] = i } else { missing.append(id) }
        }
        if missing.isEmpty { return out }
        func lookUp(_ wanted: [String]) async throws {
            let rows = try await conn.query(PostgresQuery(unsafeSQL: "SELECT ext_id, idx FROM \(table.rawValue) WHERE ext_id = ANY($1::text[])",
                                                          binds: try binds(wanted)), logger: logger)
            for try await (id, idx) in rows.decode((String, Int).self) { out[id] = Int32(idx) }
        }
        try await lookUp(missing)
        missing = missing.filter { out[$0] == nil }
        if missing.isEmpty { return out }
        try await conn.query("SELECT pg_advisory_xact_lock(\(table.lockKey))", logger: logger)
        // Another node may have added some while this one waited for the lock.
        try await lookUp(missing)
        missing = missing.filter { out[$0] == nil }
        if missing.isEmpty { return out }
        var next = 0
        let rows = try await conn.query(PostgresQuery(unsafeSQL: "SELECT COALESCE(MAX(idx) + 1, 0) FROM \(table.rawValue)"), logger: logger)
        for try await n in rows.decode(Int.self) { next = n }
        var indices: [Int32] = []
        for id in missing {
            out[id] = Int32(next)
            indices.append(Int32(next))
            next += 1
        }
        try await conn.query(PostgresQuery(unsafeSQL: "INSERT INTO \(table.rawValue)(idx, ext_id) SELECT * FROM UNNEST($1::integer[], $2::text[])",
                                           binds: try binds(indices, missing)), logger: logger)
        return out
    }

    /// After a commit: learn the mappings the transaction made or found, keeping the caches dense.
    func publish(users: [String: Int32] = [:], items: [String: Int32] = [:]) {
        lock.withLock {
            for (found, isUsers) in [(users, true), (items, false)] where !found.isEmpty {
                var map = isUsers ? userIds : itemIds
                for (id, idx) in found.sorted(by: { $0.value < $1.value }) where Int(idx) == map.count { map.intern(id) }
                if isUsers { userIds = map } else { itemIds = map }
            }
        }
    }

    /// Writes the documents of `users` (their indices already interned).
    static func writeUsers(_ users: [User], ids: [String: Int32], conn: PostgresConnection, logger: Logger) async throws {
        guard !users.isEmpty else { return }
        let idx = users.map { ids[$0.id]! }
        let docs = users.map { EntityJSON.user($0) }
        try await conn.query("""
            UPDATE users SET data = d.data, deleted = false FROM UNNEST(\(idx)::integer[], \(docs)::text[]) AS d(idx, data)
            WHERE users.idx = d.idx
            """, logger: logger)
    }

    static func writeItems(_ items: [Item], ids: [String: Int32], conn: PostgresConnection, logger: Logger) async throws {
        guard !items.isEmpty else { return }
        let idx = items.map { ids[$0.id]! }
        let docs = items.map { EntityJSON.item($0) }
        let hidden = items.map(\.hidden)
        try await conn.query("""
            UPDATE items SET data = d.data, hidden = d.hidden, deleted = false
            FROM UNNEST(\(idx)::integer[], \(docs)::text[], \(hidden)::boolean[]) AS d(idx, data, hidden) WHERE items.idx = d.idx
            """, logger: logger)
    }

    // MARK: users and items

    public func upsertUsers(_ users: [User]) throws {
        try importBatch(users: users, items: [], events: [])
    }

    public func upsertItems(_ items: [Item]) throws {
        try importBatch(users: [], items: items, events: [])
    }

    public func deleteUser(_ id: String) throws -> Bool {
        let logger = self.logger
        return try run("deleting user \(id)") { conn in
            let rows = try await conn.query("UPDATE users SET data = NULL, deleted = true WHERE ext_id = \(id) AND NOT deleted RETURNING idx", logger: logger)
            return try await rows.collect().count > 0
        }
    }

    public func deleteItem(_ id: String) throws -> Bool {
        let logger = self.logger
        return try run("deleting item \(id)") { conn in
            let rows = try await conn.query("UPDATE items SET data = NULL, deleted = true WHERE ext_id = \(id) AND NOT deleted RETURNING idx", logger: logger)
            return try await rows.collect().count > 0
        }
    }

    public func setItemHidden(_ id: String, hidden: Bool) throws {
        let logger = self.logger
        try transaction("hiding item \(id)") { conn in
            let rows = try await conn.query("SELECT data FROM items WHERE ext_id = \(id) AND NOT deleted FOR UPDATE", logger: logger)
            var found = false
            var text: String?
            for try await data in rows.decode(String?.self) { found = true; text = data }
            guard found else { throw CascadeError.notFound("item \(id)") }
            // An item known only from events has no document yet: give it one.
            var item = try StoreSupport.decode(Item.self, text, what: "item \(id)") ?? Item(id: id)
            item.hidden = hidden
            try await conn.query("UPDATE items SET data = \(EntityJSON.item(item)), hidden = \(hidden) WHERE ext_id = \(id)", logger: logger)
        }
    }

    public func user(_ id: String) throws -> User? {
        let logger = self.logger
        return try run("reading user \(id)", read: true) { conn in
            let rows = try await conn.query("SELECT data FROM users WHERE ext_id = \(id) AND NOT deleted", logger: logger)
            for try await text in rows.decode(String?.self) {
                return try StoreSupport.decode(User.self, text, what: "user \(id)") ?? User(id: id)
            }
            return nil
        }
    }

    public func item(_ id: String) throws -> Item? {
        let logger = self.logger
        return try run("reading item \(id)", read: true) { conn in
            let rows = try await conn.query("SELECT data, hidden FROM items WHERE ext_id = \(id) AND NOT deleted", logger: logger)
            for try await (text, hidden) in rows.decode((String?, Bool).self) {
                var item = try StoreSupport.decode(Item.self, text, what: "item \(id)") ?? Item(id: id)
                item.hidden = hidden
                return item
            }
            return nil
        }
    }

    public func allUsers() throws -> [User] {
        let logger = self.logger
        return try run("listing users", read: true) { conn in
            let rows = try await conn.query("SELECT ext_id, data FROM users WHERE NOT deleted ORDER BY idx", logger: logger)
            var out: [User] = []
            for try await (id, text) in rows.decode((String, String?).self) {
                out.append(try StoreSupport.decode(User.self, text, what: "user \(id)") ?? User(id: id))
            }
            return out
        }
    }

    public func allItems() throws -> [Item] {
        let logger = self.logger
        return try run("listing items", read: true) { conn in
            let rows = try await conn.query("SELECT ext_id, data, hidden FROM items WHERE NOT deleted ORDER BY idx", logger: logger)
            var out: [Item] = []
            for try await (id, text, hidden) in rows.decode((String, String?, Bool).self) {
                var item = try StoreSupport.decode(Item.self, text, what: "item \(id)") ?? Item(id: id)
                item.hidden = hidden
                out.append(item)
            }
            return out
        }
    }

    public func unavailableItems() throws -> Set<Int32> {
        let logger = self.logger
        return try run("listing hidden items", read: true) { conn in
            let rows = try await conn.query("SELECT idx FROM items WHERE hidden OR deleted", logger: logger)
            var out = Set<Int32>()
            for try await i in rows.decode(Int.self) { out.insert(Int32(i)) }
            return out
        }
    }

    public func idSnapshot() throws -> (users: IdMap, items: IdMap) {
        try reloadCaches()
        let c = caches()
        return (c.users, c.items)
    }

    // MARK: event types and counts

    static func loadRegistry(_ conn: PostgresConnection, logger: Logger) async throws -> EventTypeRegistry {
        let rows = try await conn.query("SELECT code, name, weight FROM event_types ORDER BY code", logger: logger)
        var entries: [EventTypeRegistry.Entry] = []
        for try await (code, name, weight) in rows.decode((Int, String, Double).self) {
            entries.append(EventTypeRegistry.Entry(code: UInt8(code), name: name, weight: Float(weight)))
        }
        return EventTypeRegistry(entries: entries)
    }

    public func eventTypes() throws -> EventTypeRegistry {
        let logger = self.logger
        return try run("reading event types", read: true) { conn in try await Self.loadRegistry(conn, logger: logger) }
    }

    public func registerEventType(_ type: EventType, weight: Float) throws {
        let logger = self.logger
        try transaction("registering event type \(type.name)") { conn in
            try await conn.query("LOCK TABLE event_types IN EXCLUSIVE MODE", logger: logger)
            var reg = try await Self.loadRegistry(conn, logger: logger)
            let code = Int16(try reg.register(type, weight: weight))
            try await conn.query("""
                INSERT INTO event_types(code, name, weight) VALUES (\(code), \(type.name), \(Double(weight)))
                ON CONFLICT(code) DO UPDATE SET weight = excluded.weight
                """, logger: logger)
        }
    }

    public func counts() throws -> StoreCounts {
        let logger = self.logger
        return try run("counting", read: true) { conn in
            let reg = try await Self.loadRegistry(conn, logger: logger)
            var users = 0, items = 0, total = 0
            var byType: [String: Int] = [:]
            for try await n in try await conn.query("SELECT COUNT(*) FROM users WHERE NOT deleted", logger: logger).decode(Int.self) { users = n }
            for try await n in try await conn.query("SELECT COUNT(*) FROM items WHERE NOT deleted", logger: logger).decode(Int.self) { items = n }
            for try await (code, n) in try await conn.query("SELECT type, COUNT(*) FROM events GROUP BY type", logger: logger).decode((Int, Int).self) {
                byType[reg.name(of: UInt8(code))] = n
                total += n
            }
            return StoreCounts(users: users, items: items, events: total, eventsByType: byType)
        }
    }
}

/// Bound parameters for a query whose text is fixed but names a table.
func binds<each V: PostgresEncodable>(_ values: repeat each V) throws -> PostgresBindings {
    var b = PostgresBindings()
    repeat try b.append(each values)
    return b
}
