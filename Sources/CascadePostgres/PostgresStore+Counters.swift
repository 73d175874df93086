import CascadeCore
import CascadeStore
import Foundation
import Logging
import PostgresNIO

/// Statistics counters (see ``CounterTable``): two tables of rows keyed by day, added to in
/// the transaction that writes the events (rows in a fixed order, so concurrent writers of
/// shared rows queue rather than deadlock), read for one request in one statement.
extension PostgresStore {
    static let counterStatements = [
        """
        CREATE TABLE IF NOT EXISTS user_counters(user_idx integer NOT NULL, day integer NOT NULL, scope smallint NOT NULL, attr text NOT NULL,
            imp bigint NOT NULL, clk bigint NOT NULL, lik bigint NOT NULL, watch double precision NOT NULL,
            PRIMARY KEY(user_idx, day, scope, attr))
        """,
        """
        CREATE TABLE IF NOT EXISTS item_counters(item_idx integer NOT NULL, day integer NOT NULL,
            imp bigint NOT NULL, clk bigint NOT NULL, lik bigint NOT NULL, watch double precision NOT NULL, PRIMARY KEY(item_idx, day))
        """,
    ]

    /// Fills new counter tables from the events already stored (built-in type codes are fixed).
    static func backfillCounters(_ conn: PostgresConnection, logger: Logger) async throws {
        let sums = "COUNT(*) FILTER (WHERE type = 0), COUNT(*) FILTER (WHERE type = 1), COUNT(*) FILTER (WHERE type = 2), COALESCE(SUM(value) FILTER (WHERE type = 9), 0)"
        let with = """
            WITH c AS (SELECT user_idx AS u, item_idx AS i, day AS d, type, value FROM events WHERE type IN (0, 1, 2) OR (type = 9 AND value > 0)),
            b AS (SELECT u, i, d, type, value FROM c UNION ALL SELECT u, i, \(CounterTable.allTime), type, value FROM c)
            """
        try await conn.query(PostgresQuery(unsafeSQL: "\(with) INSERT INTO item_counters SELECT i, d, \(sums) FROM b GROUP BY i, d"), logger: logger)
        try await conn.query(PostgresQuery(unsafeSQL: "\(with) INSERT INTO user_counters SELECT u, d, 0, '', \(sums) FROM b GROUP BY u, d"), logger: logger)
        for (scope, path) in [(1, "data::jsonb->'categories'->>-1"), (2, "data::jsonb->'categories'->>0"), (3, "data::jsonb->>'author'")] {
            try await conn.query(PostgresQuery(unsafeSQL: """
                \(with) INSERT INTO user_counters SELECT u, d, \(scope), a, \(sums)
                FROM (SELECT b.*, \(path) AS a FROM b JOIN items it ON it.idx = b.i) x WHERE a IS NOT NULL GROUP BY u, d, a
                """), logger: logger)
        }
    }

    /// Recounts every counter from the stored events, with the items' current attributes
    /// (writers wait meanwhile).
    public func rebuildCounters() throws {
        let logger = self.logger
        try transaction("recounting the statistics counters") { conn in
            try await conn.query("LOCK TABLE user_counters, item_counters IN EXCLUSIVE MODE", logger: logger)
            try await conn.query("DELETE FROM user_counters", logger: logger)
            try await conn.query("DELETE FROM item_counters", logger: logger)
            try await Self.backfillCounters(conn, logger: logger)
        }
    }

    /// Adds the counters of `counted` events (inside the caller's transaction).
    static func addCounters(_ counted: CounterBatch, conn: PostgresConnection, logger: Logger) async throws {
        guard !counted.isEmpty else { return }
        let itemIdx = Array(counted.items)
        var attributes: [Int32: CounterAttributes] = [:]
        let rows = try await conn.query("""
            SELECT idx, data::jsonb->'categories'->>-1, data::jsonb->'categories'->>0, data::jsonb->>'author' FROM items WHERE idx = ANY(\(itemIdx))
            """, logger: logger)
        for try await (i, c, t, a) in rows.decode((Int32, String?, String?, String?).self) {
            attributes[i] = CounterAttributes(category: c, topCategory: t, author: a)
        }
        let (u, it) = counted.table(attributes).sortedRows
        try await conn.query("""
            INSERT INTO user_counters SELECT * FROM UNNEST(\(u.map { $0.0.user })::integer[], \(u.map { Int32($0.0.day) })::integer[],
                \(u.map { Int16($0.0.scope.rawValue) })::smallint[], \(u.map { $0.0.attribute })::text[], \(u.map { $0.1.impressions })::bigint[],
                \(u.map { $0.1.clicks })::bigint[], \(u.map { $0.1.likes })::bigint[], \(u.map { $0.1.watchSeconds })::float8[])
            ON CONFLICT (user_idx, day, scope, attr) DO UPDATE SET imp = user_counters.imp + excluded.imp,
                clk = user_counters.clk + excluded.clk, lik = user_counters.lik + excluded.lik, watch = user_counters.watch + excluded.watch
            """, logger: logger)
        try await conn.query("""
            INSERT INTO item_counters SELECT * FROM UNNEST(\(it.map { $0.0.item })::integer[], \(it.map { Int32($0.0.day) })::integer[],
                \(it.map { $0.1.impressions })::bigint[], \(it.map { $0.1.clicks })::bigint[], \(it.map { $0.1.likes })::bigint[],
                \(it.map { $0.1.watchSeconds })::float8[])
            ON CONFLICT (item_idx, day) DO UPDATE SET imp = item_counters.imp + excluded.imp,
                clk = item_counters.clk + excluded.clk, lik = item_counters.lik + excluded.lik, watch = item_counters.watch + excluded.watch
            """, logger: logger)
    }

    /// One statement: the user's rows of the last 7 days and all time, and each item's.
    public func counters(user: Int32?, items: [Int32], attributes: [CounterAttributes], now: Double) throws -> CounterSnapshot {
        let from = Int32(clamping: CounterTable.day(now) - 6)
        let wanted = Array(Set(items)).sorted()
        let logger = self.logger
        let table = try run("reading counters", read: true) { conn in
            var table = CounterTable()
            let rows = try await conn.query("""
                SELECT 0, user_idx, day, scope, attr, imp, clk, lik, watch FROM user_counters WHERE user_idx = \(user ?? -1) AND day >= \(from)
                UNION ALL
                SELECT 1, item_idx, day, 0::smallint, '', imp, clk, lik, watch FROM item_counters WHERE item_idx = ANY(\(wanted)) AND day >= \(from)
                """, logger: logger)
            for try await (kind, entity, day, scope, attr, imp, clk, lik, watch) in rows.decode((Int32, Int32, Int32, Int16, String, Int64, Int64, Int64, Double).self) {
                let t = CounterTally(impressions: imp, clicks: clk, likes: lik, watchSeconds: watch)
                if kind == 0 {
                    table.users[CounterTable.UserRow(user: entity, day: Int64(day), scope: CounterScope(rawValue: UInt8(scope)) ?? .user, attribute: attr)] = t
                } else {
                    table.items[CounterTable.ItemRow(item: entity, day: Int64(day))] = t
                }
            }
            return table
        }
        return table.snapshot(now: now)
    }
}
