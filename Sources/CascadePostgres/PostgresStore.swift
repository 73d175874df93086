import CascadeCore
import CascadeStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// A ``Store`` on PostgreSQL (through PostgresNIO), for several servers and a trainer that share
/// one database. It passes the same conformance suite as ``SQLiteStore``.
///
/// - Every write is one transaction; it returns after `COMMIT`, which PostgreSQL makes durable
///   (`synchronous_commit` on by default). A failed write is rolled back whole.
/// - Dense ids are taken under a transaction-scoped advisory lock, only by transactions that meet
///   a new id, so a rolled-back batch leaves no gap and known ids never serialize writers.
/// - Events are range-partitioned by UTC day (one partition per 32 days, created on demand) and
///   written with `COPY ... FROM STDIN`.
/// - Artifacts are stored as 1 MiB `bytea` chunks inside the transaction that records the version,
///   so a reader never sees half a model; activation is one row update.
/// - Every value reaches SQL as a bound parameter. The only SQL text built at run time is a
///   partition name (from an integer computed here) and the schema name (checked against
///   `[a-z_][a-z0-9_]*` and quoted).
///
/// The protocol is synchronous; the calls run on PostgresNIO's event loops and a private task
/// executor while the caller's thread waits, so blocking a Swift concurrency thread (a request
/// handler) cannot starve the work it waits for.
public final class PostgresStore: Store, @unchecked Sendable {
    public let location: PostgresLocation
    let pool: ConnectionPool
    let logger = Logger(label: "cascade.postgres")
    let lock = NSLock()
    var userIds = IdMap()
    var itemIds = IdMap()
    /// Event partitions known to exist (bucket numbers).
    var partitions = Set<Int>()

    /// Days per event partition.
    static let partitionDays = 32
    /// Bytes per artifact chunk.
    static let chunkSize = 1 << 20

    /// Connects to `url` (`postgres://user:password@host:port/database?schema=NAME&pool=N&sslmode=disable|require`)
    /// and creates the schema and tables when missing.
    public convenience init(url: String) throws {
        try self.init(location: try PostgresLocation(url: url))
    }

    public init(location: PostgresLocation) throws {
        self.location = location
        pool = ConnectionPool(location: location)
        try setUp()
    }

    deinit { pool.shutdown() }

    /// Closes every connection (the store is unusable afterwards).
    public func close() { pool.shutdown() }

    // MARK: running statements

    /// Runs `body` with a pooled connection, turning database errors into ``CascadeError``.
    /// `read` marks work that is safe to repeat: it is retried once when its connection closed under it.
    func run<T: Sendable>(_ what: String, read: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) throws -> T {
        do {
            return try pool.withConnection(retry: read, body)
        } catch let e as CascadeError {
            throw e
        } catch {
            throw CascadeError.storage("\(what) failed on \(location.display): \(Self.describe(error))")
        }
    }

    /// Runs `body` in one transaction (`BEGIN` ... `COMMIT`, `ROLLBACK` when it throws).
    func transaction<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) throws -> T {
        let logger = self.logger
        return try run(what) { conn in
            try await conn.query("BEGIN", logger: logger)
            do {
                let value = try await body(conn)
                try await conn.query("COMMIT", logger: logger)
                return value
            } catch {
                if !conn.isClosed { _ = try? await conn.query("ROLLBACK", logger: logger) }
                throw error
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] {
                let detail = e.serverInfo?[.detail].map { " (\($0))" } ?? ""
                return message + detail
            }
            return "\(e.code)"
        }
        if let e = error as? CascadeError { return e.description }
        return "\(error)"
    }

    // MARK: schema

    private func setUp() throws {
        let schema = location.schema
        let logger = self.logger
        try transaction("preparing the database") { conn in
            // One process at a time creates the schema.
            try await conn.query("SELECT pg_advisory_xact_lock(7306012)", logger: logger)
            if let schema {
                try await conn.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), logger: logger)
            }
            // Counter tables created now are filled from the events already stored.
            var countersExist = false
            for try await exists in try await conn.query("SELECT to_regclass('user_counters') IS NOT NULL", logger: logger).decode(Bool.self) {
                countersExist = exists
            }
            for sql in Self.schemaStatements + Self.counterStatements {
                try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            }
            if !countersExist { try await Self.backfillCounters(conn, logger: logger) }
            let rows = try await conn.query("SELECT COUNT(*) FROM event_types", logger: logger)
            var count = 0
            for try await n in rows.decode(Int.self) { count = n }
            if count == 0 {
                let reg = EventTypeRegistry()
                let codes = reg.entries.map { Int16($0.code) }
                let names = reg.entries.map(\.name)
                let weights = reg.entries.map { Double($0.weight) }
                try await conn.query("INSERT INTO event_types(code, name, weight) SELECT * FROM UNNEST(\(codes)::smallint[], \(names)::text[], \(weights)::float8[])", logger: logger)
            }
        }
        try reloadCaches()
    }

    static let schemaStatements = [
        "CREATE TABLE IF NOT EXISTS users(idx integer PRIMARY KEY, ext_id text NOT NULL UNIQUE, data text, deleted boolean NOT NULL DEFAULT false)",
        "CREATE TABLE IF NOT EXISTS items(idx integer PRIMARY KEY, ext_id text NOT NULL UNIQUE, data text, hidden boolean NOT NULL DEFAULT false, deleted boolean NOT NULL DEFAULT false)",
        "CREATE TABLE IF NOT EXISTS event_types(code smallint PRIMARY KEY, name text NOT NULL UNIQUE, weight double precision NOT NULL)",
        "CREATE SEQUENCE IF NOT EXISTS events_id_seq",
        """
        CREATE TABLE IF NOT EXISTS events(id bigint NOT NULL DEFAULT nextval('events_id_seq'), day integer NOT NULL,
            user_idx integer NOT NULL, item_idx integer NOT NULL, type smallint NOT NULL, ts double precision NOT NULL,
            value double precision, scene text) PARTITION BY RANGE (day)
        """,
        "CREATE TABLE IF NOT EXISTS events_default PARTITION OF events DEFAULT",
        // The served page an event answers: its request id and the item's slot on it (added to
        // stores created before they existed; a partitioned table passes them to its partitions).
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS request text",
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS position integer",
        "CREATE TABLE IF NOT EXISTS pages(request text PRIMARY KEY, user_id text NOT NULL, ts double precision NOT NULL, data text NOT NULL)",
        "CREATE INDEX IF NOT EXISTS pages_by_time ON pages(ts)",
        "CREATE INDEX IF NOT EXISTS events_by_user ON events(user_idx, ts DESC, id DESC)",
        "CREATE INDEX IF NOT EXISTS events_by_time ON events(ts, id)",
        "CREATE INDEX IF NOT EXISTS events_by_id ON events(id)",
        "CREATE TABLE IF NOT EXISTS exposures(user_idx integer PRIMARY KEY, data bytea NOT NULL, updated_at double precision NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS artifacts(name text NOT NULL, version integer NOT NULL, manifest text NOT NULL,
            size bigint NOT NULL, created_at double precision NOT NULL, PRIMARY KEY(name, version))
        """,
        "CREATE TABLE IF NOT EXISTS artifact_chunks(name text NOT NULL, version integer NOT NULL, seq integer NOT NULL, bytes bytea NOT NULL, PRIMARY KEY(name, version, seq))",
        "CREATE TABLE IF NOT EXISTS active_artifacts(name text PRIMARY KEY, version integer NOT NULL)",
    ]

    /// Reloads ids and known partitions from the database (other nodes add some).
    public func reloadCaches() throws {
        let logger = self.logger
        let (u, i, parts) = try run("loading ids") { conn in
            let u = try await Self.loadIds(conn, table: .users, logger: logger)
            let i = try await Self.loadIds(conn, table: .items, logger: logger)
            let parts = try await Self.loadPartitions(conn, logger: logger)
            return (u, i, parts)
        }
        lock.withLock {
            userIds = u
            itemIds = i
            partitions = parts
        }
    }

    static func loadIds(_ conn: PostgresConnection, table: EntityTable, logger: Logger) async throws -> IdMap {
        var ids: [String] = []
        let rows = try await conn.query(PostgresQuery(unsafeSQL: "SELECT idx, ext_id FROM \(table.rawValue) ORDER BY idx"), logger: logger)
        for try await (idx, id) in rows.decode((Int, String).self) {
            guard idx == ids.count else { throw CascadeError.corrupt("table \(table.rawValue): index \(idx) out of sequence at \(ids.count)") }
            ids.append(id)
        }
        return IdMap(ids: ids)
    }

    static func loadPartitions(_ conn: PostgresConnection, logger: Logger) async throws -> Set<Int> {
        let rows = try await conn.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'events'::regclass
            """, logger: logger)
        var out = Set<Int>()
        for try await name in rows.decode(String.self) {
            if let b = partitionBucket(name: name) { out.insert(b) }
        }
        return out
    }

    static func partitionName(bucket: Int) -> String {
        bucket < 0 ? "events_bm\(-bucket)" : "events_b\(bucket)"
    }

    static func partitionBucket(name: String) -> Int? {
        if name.hasPrefix("events_bm") { return Int(name.dropFirst(9)).map { -$0 } }
        if name.hasPrefix("events_b") { return Int(name.dropFirst(8)) }
        return nil
    }

    func caches() -> (users: IdMap, items: IdMap) {
        lock.withLock { (userIds, itemIds) }
    }
}

/// The two tables of interned ids.
enum EntityTable: String, Sendable {
    case users, items
    /// The advisory lock key that serializes taking new indices in this table.
    var lockKey: Int64 { self == .users ? 7_306_013 : 7_306_014 }
}

/// Where a ``PostgresStore`` connects, parsed from a `postgres://` URL.
public struct PostgresLocation: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String?
    /// A schema of its own (tests, several deployments in one database); `public` when nil.
    public var schema: String?
    /// Connections this process keeps open at most.
    public var poolSize: Int
    public var requireTLS: Bool

    /// Parses `postgres://user:password@host:port/database?schema=NAME&pool=N&sslmode=disable|require`.
    /// The password may also come from `PGPASSWORD`.
    public init(url: String) throws {
        guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw CascadeError.invalid("store URL '\(Self.redact(url))' is not a postgres:// URL")
        }
        host = c.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = c.port ?? 5432
        user = c.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        password = c.password.flatMap { $0.removingPercentEncoding } ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        database = path.isEmpty ? nil : path
        schema = nil
        poolSize = 8
        requireTLS = false
        for q in c.queryItems ?? [] {
            let value = q.value ?? ""
            switch q.name {
            case "schema":
                guard Self.isPlainIdentifier(value) else {
                    throw CascadeError.invalid("store URL: schema '\(value)' must match [a-z_][a-z0-9_]* (at most 63 characters)")
                }
                schema = value
            case "pool":
                guard let n = Int(value), (1...64).contains(n) else { throw CascadeError.invalid("store URL: pool must be 1-64, got '\(value)'") }
                poolSize = n
            case "sslmode":
                switch value {
                case "disable": requireTLS = false
                case "require": requireTLS = true
                default: throw CascadeError.invalid("store URL: sslmode must be disable or require, got '\(value)'")
                }
            default:
                throw CascadeError.invalid("store URL: unknown parameter '\(q.name)' (known: schema, pool, sslmode)")
            }
        }
    }

    static func isPlainIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, s.unicodeScalars.count <= 63 else { return false }
        let lower = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz_")
        let rest = lower.union(CharacterSet(charactersIn: "0123456789"))
        return lower.contains(first) && s.unicodeScalars.allSatisfy { rest.contains($0) }
    }

    /// The same server and database, in schema `name` (checked like the URL's `schema`).
    public func inSchema(_ name: String) throws -> PostgresLocation {
        guard Self.isPlainIdentifier(name) else { throw CascadeError.invalid("schema '\(name)' must match [a-z_][a-z0-9_]* (at most 63 characters)") }
        var l = self
        l.schema = name
        return l
    }

    /// The URL with its password replaced, for messages and logs.
    public var display: String {
        "postgres://\(user)@\(host):\(port)/\(database ?? "")" + (schema.map { "?schema=\($0)" } ?? "")
    }

    static func redact(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.password != nil else { return url }
        c.password = "***"
        return c.string ?? "(unprintable URL)"
    }
}
