import CascadeCore
import Foundation
import GRDB
import GRDBSQLite

/// Statistics counters (see ``CounterTable``): two tables of rows keyed by day, added to in
/// the transaction that writes the events, read for one request in one statement.
extension SQLiteStore {
    /// Codes of the counted built-in types (fixed, see ``EventTypeRegistry/builtins``).
    static let countedTypes = "type IN (0, 1, 2) OR (type = 9 AND value > 0)"

    /// Migration: the two tables, filled from the events already stored.
    static func createCounters(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE user_counters(user_idx INTEGER NOT NULL, day INTEGER NOT NULL, scope INTEGER NOT NULL, attr TEXT NOT NULL,
                imp INTEGER NOT NULL, clk INTEGER NOT NULL, lik INTEGER NOT NULL, watch REAL NOT NULL,
                PRIMARY KEY(user_idx, day, scope, attr)) WITHOUT ROWID;
            CREATE TABLE item_counters(item_idx INTEGER NOT NULL, day INTEGER NOT NULL,
                imp INTEGER NOT NULL, clk INTEGER NOT NULL, lik INTEGER NOT NULL, watch REAL NOT NULL,
                PRIMARY KEY(item_idx, day)) WITHOUT ROWID;
            """)
        try fillCounters(db)
    }

    /// Recounts every counter from the stored events, with the items' current attributes.
    public func rebuildCounters() throws {
        try write("recounting the statistics counters") { db in
            try db.execute(sql: "DELETE FROM user_counters; DELETE FROM item_counters")
            try Self.fillCounters(db)
        }
    }

    /// Fills empty counter tables from the stored events.
    static func fillCounters(_ db: Database) throws {
        let sums = "SUM(type = 0), SUM(type = 1), SUM(type = 2), SUM(CASE WHEN type = 9 THEN value ELSE 0 END)"
        let counted = "SELECT e.user_idx AS u, e.item_idx AS i, e.day AS d, e.type AS type, e.value AS value FROM events e WHERE \(countedTypes)"
        let both = "SELECT u, i, d, type, value FROM c UNION ALL SELECT u, i, \(CounterTable.allTime), type, value FROM c"
        try db.execute(sql: "WITH c AS (\(counted)) INSERT INTO item_counters SELECT i, d, \(sums) FROM (\(both)) GROUP BY i, d")
        // The user's own key and one per attribute of the item.
        let attributes: [(Int, String)] = [(1, "'$.categories[#-1]'"), (2, "'$.categories[0]'"), (3, "'$.author'")]
        try db.execute(sql: "WITH c AS (\(counted)) INSERT INTO user_counters SELECT u, d, 0, '', \(sums) FROM (\(both)) GROUP BY u, d")
        for (scope, path) in attributes {
            try db.execute(sql: """
                WITH c AS (\(counted)) INSERT INTO user_counters
                SELECT u, d, \(scope), a, \(sums) FROM (SELECT b.*, json_extract(it.data, \(path)) AS a FROM (\(both)) b JOIN items it ON it.idx = b.i)
                WHERE a IS NOT NULL GROUP BY u, d, a
                """)
        }
    }

    private static let transientText = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The attributes counters are kept by, of the items `indices` (as stored now).
    static func counterAttributes(_ indices: Set<Int32>, db: Database) throws -> [Int32: CounterAttributes] {
        let s = try db.cachedStatement(sql: """
            SELECT json_extract(data, '$.categories[#-1]'), json_extract(data, '$.categories[0]'), json_extract(data, '$.author')
            FROM items WHERE idx = ?
            """).sqliteStatement
        func text(_ k: Int32) -> String? {
            sqlite3_column_type(s, k) == SQLITE_NULL ? nil : String(cString: sqlite3_column_text(s, k))
        }
        var out: [Int32: CounterAttributes] = [:]
        out.reserveCapacity(indices.count)
        for i in indices {
            sqlite3_reset(s)
            sqlite3_bind_int64(s, 1, Int64(i))
            let rc = sqlite3_step(s)
            if rc == SQLITE_ROW {
                out[i] = CounterAttributes(category: text(0), topCategory: text(1), author: text(2))
            } else if rc != SQLITE_DONE {
                throw CascadeError.storage("reading attributes of item \(i): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
        }
        sqlite3_reset(s)
        return out
    }

    /// Adds rows to the stored ones (inside the caller's write transaction), bound directly
    /// (the ingest path; one writer at a time, so in any order).
    static func addCounters(_ table: CounterTable, db: Database) throws {
        let update = "imp = imp + excluded.imp, clk = clk + excluded.clk, lik = lik + excluded.lik, watch = watch + excluded.watch"
        func step(_ s: OpaquePointer, _ what: String) throws {
            guard sqlite3_step(s) == SQLITE_DONE else {
                throw CascadeError.storage("adding \(what) counters: \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
            sqlite3_reset(s)
        }
        func bind(_ s: OpaquePointer, from k: Int32, _ t: CounterTally) {
            sqlite3_bind_int64(s, k, t.impressions)
            sqlite3_bind_int64(s, k + 1, t.clicks)
            sqlite3_bind_int64(s, k + 2, t.likes)
            sqlite3_bind_double(s, k + 3, t.watchSeconds)
        }
        let u = try db.cachedStatement(sql: "INSERT INTO user_counters VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(user_idx, day, scope, attr) DO UPDATE SET \(update)").sqliteStatement
        for (k, t) in table.users {
            sqlite3_bind_int64(u, 1, Int64(k.user))
            sqlite3_bind_int64(u, 2, k.day)
            sqlite3_bind_int64(u, 3, Int64(k.scope.rawValue))
            sqlite3_bind_text(u, 4, k.attribute, -1, transientText)
            bind(u, from: 5, t)
            try step(u, "user")
        }
        let i = try db.cachedStatement(sql: "INSERT INTO item_counters VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(item_idx, day) DO UPDATE SET \(update)").sqliteStatement
        for (k, t) in table.items {
            sqlite3_bind_int64(i, 1, Int64(k.item))
            sqlite3_bind_int64(i, 2, k.day)
            bind(i, from: 3, t)
            try step(i, "item")
        }
    }

    /// One statement: the user's rows of the last 7 days and all time (one range of the
    /// primary key), and the same for each item.
    public func counters(user: Int32?, items: [Int32], attributes: [CounterAttributes], now: Double) throws -> CounterSnapshot {
        let from = CounterTable.day(now) - 6
        return try read("reading counters") { db in
            var table = CounterTable()
            var sql = ""
            var arguments: [any DatabaseValueConvertible] = []
            if let user {
                sql = "SELECT 0, user_idx, day, scope, attr, imp, clk, lik, watch FROM user_counters WHERE user_idx = ? AND day >= ?"
                arguments = [Int(user), from]
            }
            let wanted = Array(Set(items)).sorted()
            if !wanted.isEmpty {
                if !sql.isEmpty { sql += " UNION ALL " }
                sql += "SELECT 1, item_idx, day, 0, '', imp, clk, lik, watch FROM item_counters WHERE item_idx IN (\(wanted.map { String($0) }.joined(separator: ","))) AND day >= ?"
                arguments.append(from)
            }
            guard !sql.isEmpty else { return CounterSnapshot() }
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let r = try rows.next() {
                let t = CounterTally(impressions: r[5], clicks: r[6], likes: r[7], watchSeconds: r[8])
                let entity = Int32(r[1] as Int), day: Int64 = r[2]
                if (r[0] as Int) == 0 {
                    table.users[CounterTable.UserRow(user: entity, day: day, scope: CounterScope(rawValue: UInt8(r[3] as Int)) ?? .user, attribute: r[4])] = t
                } else {
                    table.items[CounterTable.ItemRow(item: entity, day: day)] = t
                }
            }
            return table.snapshot(now: now)
        }
    }
}
