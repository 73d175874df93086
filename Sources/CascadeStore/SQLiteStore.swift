import CascadeCore
import Foundation
import GRDB
import GRDBSQLite
import Logging

/// The embedded default ``Store``: one SQLite file through GRDB.
///
/// The database runs in WAL mode with `synchronous = FULL` by default, so a write that returns
/// has reached the disk. Readers run concurrently with the single writer (a `DatabasePool`).
/// Dense indices are kept in the `idx` column of `users` and `items`; rows are never physically
/// removed (deletion clears attributes and sets a flag), so indices stay dense.
///
/// Events carry their UTC day (`floor(ts / 86400)`) and are indexed by (day, time), so a
/// time range is a range of days, and by (user, time), so a user's LastN is one backwards range
/// whatever span of days the store holds.
///
/// Several processes may share the file: id interning reads the database inside the write
/// transaction, and the in-memory id cache only learns ids after their transaction commits.
public final class SQLiteStore: Store, @unchecked Sendable {
    public enum Durability: String, Sendable {
        /// `synchronous = FULL`: a committed write survives power loss (the default).
        case full
        /// `synchronous = NORMAL`: survives a crash of the process, not of the machine.
        case normal
    }

    let writer: any DatabaseWriter
    public let path: String
    let lock = NSLock()
    /// Committed id mappings known to this process.
    var userIds = IdMap()
    var itemIds = IdMap()
    var registry = EventTypeRegistry()

    /// Whether this handle only reads (see ``init(path:durability:readOnly:)``).
    public let readOnly: Bool

    /// Opens (creating when needed) the database at `path` and migrates its schema. With
    /// `readOnly`, the file must exist and is opened for reading only: nothing is created,
    /// migrated or written (a read-only file or folder works), and writes fail with a clear error.
    public init(path: String, durability: Durability = .full, readOnly: Bool = false) throws {
        self.path = path
        self.readOnly = readOnly
        if readOnly {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
                throw CascadeError.notFound("no store at \(path): check the path (`cascade simulate` or `cascade import` create a store)")
            }
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(10)
            // A store of an earlier version is upgraded first when its file can be written.
            if !(try Self.schemaIsCurrent(path: path, config: config)) {
                do { _ = try SQLiteStore(path: path, durability: durability) } catch {
                    throw CascadeError.storage("database \(path) has an older schema and cannot be upgraded here (\(Self.describe(error))); open it once with a command that writes, e.g. cascade train")
                }
            }
            do { writer = try DatabaseQueue(path: path, configuration: config) } catch {
                throw CascadeError.storage("cannot open database \(path) for reading: \(Self.describe(error))")
            }
            try reloadCaches()
            return
        }
        var config = Configuration()
        config.busyMode = .timeout(10)
        let sync = durability == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(sync)")
            // 256 MiB of page cache (a bound, not an allocation): the index of a large event table stays in memory.
            try db.execute(sql: "PRAGMA cache_size = -262144")
            // Checkpoint the WAL every 64 MiB instead of every 4 MiB: index pages that many
            // consecutive batches touch are copied back to the database once, not once a batch.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
                throw CascadeError.storage("cannot open database \(path): folder \(dir) does not exist")
            }
        }
        do {
            writer = try DatabasePool(path: path, configuration: config)
        } catch {
            throw CascadeError.storage("cannot open database \(path): \(Self.describe(error))")
        }
        try setUp()
    }

    /// A private in-memory database (tests, evaluation scratch).
    public init(inMemory: Void = ()) throws {
        path = ":memory:"
        readOnly = false
        do { writer = try DatabaseQueue() } catch { throw CascadeError.storage("cannot open in-memory database: \(Self.describe(error))") }
        try setUp()
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e.resultCode)" }
        if let e = error as? CascadeError { return e.description }
        return "\(error)"
    }

    /// Runs `body` in a write transaction, turning database errors into ``CascadeError``.
    func write<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        if readOnly { throw CascadeError.invalid("\(what): the store \(path) is open for reading only") }
        do {
            return try writer.write(body)
        } catch let e as CascadeError {
            throw e
        } catch {
            throw CascadeError.storage("\(what) failed on \(path): \(Self.describe(error))")
        }
    }

    func read<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try writer.read(body)
        } catch let e as CascadeError {
            throw e
        } catch {
            throw CascadeError.storage("\(what) failed on \(path): \(Self.describe(error))")
        }
    }

    /// Whether the file at `path` has every migration (read through a read-only handle).
    private static func schemaIsCurrent(path: String, config: Configuration) throws -> Bool {
        do {
            let q = try DatabaseQueue(path: path, configuration: config)
            return try q.read { try migrator.hasCompletedMigrations($0) }
        } catch {
            throw CascadeError.storage("cannot read database \(path): \(describe(error))")
        }
    }

    private func setUp() throws {
        let migrator = Self.migrator
        do {
            let pending = try writer.read { try migrator.hasCompletedMigrations($0) ? [] : migrator.migrations }
            if !pending.isEmpty { Logger(label: "cascade.store").info("migrating database schema", metadata: ["path": "\(path)"]) }
            try migrator.migrate(writer)
        } catch {
            throw CascadeError.storage("cannot prepare database \(path): \(Self.describe(error))")
        }
        try reloadCaches()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE users(idx INTEGER PRIMARY KEY, ext_id TEXT NOT NULL UNIQUE, data TEXT,
                                   deleted INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE items(idx INTEGER PRIMARY KEY, ext_id TEXT NOT NULL UNIQUE, data TEXT,
                                   hidden INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE event_types(code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, weight REAL NOT NULL);
                CREATE TABLE events(id INTEGER PRIMARY KEY, day INTEGER NOT NULL, user_idx INTEGER NOT NULL,
                                    item_idx INTEGER NOT NULL, type INTEGER NOT NULL, ts REAL NOT NULL, value REAL, scene TEXT);
                CREATE INDEX events_by_day_user ON events(day, user_idx, ts);
                CREATE TABLE artifacts(name TEXT NOT NULL, version INTEGER NOT NULL, manifest TEXT NOT NULL,
                                       blob BLOB NOT NULL, created_at REAL NOT NULL, PRIMARY KEY(name, version));
                CREATE TABLE active_artifacts(name TEXT PRIMARY KEY, version INTEGER NOT NULL);
                """)
            for e in EventTypeRegistry().entries {
                try db.execute(sql: "INSERT INTO event_types(code, name, weight) VALUES (?, ?, ?)",
                               arguments: [Int(e.code), e.name, Double(e.weight)])
            }
        }
        migrator.registerMigration("v2-exposures") { db in
            try db.execute(sql: "CREATE TABLE exposures(user_idx INTEGER PRIMARY KEY, data BLOB NOT NULL, updated_at REAL NOT NULL)")
        }
        // A user's newest events are one backwards index range, whatever the span of days the
        // store holds (walking days cost O(days between the oldest and newest event)).
        migrator.registerMigration("v3-events-by-user") { db in
            try db.execute(sql: "CREATE INDEX events_by_user ON events(user_idx, ts)")
        }
        // Whether the store holds any deletion at all, in one seek (writes of events check it).
        migrator.registerMigration("v4-deleted-indexes") { db in
            try db.execute(sql: "CREATE INDEX users_deleted ON users(idx) WHERE deleted = 1")
            try db.execute(sql: "CREATE INDEX items_deleted ON items(idx) WHERE deleted = 1")
        }
        // Time ranges need (day, time) only: an index that grows at its end as events arrive,
        // where (day, user, time) touched a page per user of the day on every batch.
        migrator.registerMigration("v5-events-by-day-time") { db in
            try db.execute(sql: "CREATE INDEX events_by_day_ts ON events(day, ts)")
            try db.execute(sql: "DROP INDEX events_by_day_user")
        }
        migrator.registerMigration("v6-counters") { db in try createCounters(db) }
        // The served page an event answers: its request id and the item's slot on it.
        migrator.registerMigration("v7-event-page") { db in
            try db.execute(sql: "ALTER TABLE events ADD COLUMN position INTEGER")
            try db.execute(sql: "ALTER TABLE events ADD COLUMN request TEXT")
        }
        // The served-page log: one row per page, the rest of the page as JSON.
        migrator.registerMigration("v8-pages") { db in
            try db.execute(sql: "CREATE TABLE pages(request TEXT PRIMARY KEY, user TEXT NOT NULL, ts REAL NOT NULL, data TEXT NOT NULL)")
            try db.execute(sql: "CREATE INDEX pages_by_time ON pages(ts)")
        }
        return migrator
    }

    /// Reloads ids and event types from the database (another process may have added some).
    public func reloadCaches() throws {
        let (u, i, r) = try read("loading ids") { db in
            (try Self.loadIds(db, table: "users"), try Self.loadIds(db, table: "items"), try Self.loadRegistry(db))
        }
        lock.withLock { userIds = u; itemIds = i; registry = r }
    }

    static func loadIds(_ db: Database, table: String) throws -> IdMap {
        var ids: [String] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT idx, ext_id FROM \(table) ORDER BY idx")
        while let row = try rows.next() {
            let idx: Int = row[0]
            guard idx == ids.count else { throw CascadeError.corrupt("table \(table): index \(idx) out of sequence at \(ids.count)") }
            ids.append(row[1])
        }
        return IdMap(ids: ids)
    }

    static func loadRegistry(_ db: Database) throws -> EventTypeRegistry {
        let rows = try Row.fetchAll(db, sql: "SELECT code, name, weight FROM event_types ORDER BY code")
        return EventTypeRegistry(entries: rows.map { row in
            EventTypeRegistry.Entry(code: UInt8(row[0] as Int), name: row[1], weight: Float(row[2] as Double))
        })
    }

    // MARK: ids inside a write transaction

    /// Resolves or creates dense indices for external ids during one transaction. New mappings
    /// are published to the shared cache only by ``commit()``, after the transaction succeeded.
    struct Interner {
        let table: String
        var known: IdMap
        var next: Int
        var added: [String] = []
        var local: [String: Int32] = [:]

        init(db: Database, table: String, cache: IdMap) throws {
            self.table = table
            known = cache
            next = (try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM \(table)")) ?? 0
        }

        /// The index of an id already stored (or interned earlier in this transaction).
        mutating func existing(_ id: String, db: Database) throws -> Int32? {
            if let i = known.index(of: id) { return i }
            if let i = local[id] { return i }
            let stmt = try db.cachedStatement(sql: "SELECT idx FROM \(table) WHERE ext_id = ?")
            if let i = try Int.fetchOne(stmt, arguments: [id]) {
                local[id] = Int32(i)
                return Int32(i)
            }
            return nil
        }

        /// Stores a new id with its document; the caller checked it is not stored yet.
        mutating func insert(_ id: String, db: Database, data: String?, hidden: Bool) throws -> Int32 {
            let i = Int32(next)
            next += 1
            if table == "items" {
                let stmt = try db.cachedStatement(sql: "INSERT INTO items(idx, ext_id, data, hidden) VALUES (?, ?, ?, ?)")
                try stmt.execute(arguments: [Int(i), id, data, hidden ? 1 : 0])
            } else {
                let stmt = try db.cachedStatement(sql: "INSERT INTO users(idx, ext_id, data) VALUES (?, ?, ?)")
                try stmt.execute(arguments: [Int(i), id, data])
            }
            local[id] = i
            added.append(id)
            return i
        }

        /// The index of `id`, creating a bare entry when it is new.
        mutating func index(_ id: String, db: Database) throws -> Int32 {
            if let i = try existing(id, db: db) { return i }
            return try insert(id, db: db, data: nil, hidden: false)
        }
    }

    /// After a commit: learn the mappings the transaction made (or found) so later writes skip the lookups.
    func publish(_ interners: Interner...) {
        lock.withLock {
            for it in interners where !it.local.isEmpty {
                var map = it.table == "users" ? userIds : itemIds
                // Only append mappings that keep the cache dense and in index order.
                let pending = it.local.sorted { $0.value < $1.value }
                for (id, idx) in pending where Int(idx) == map.count { map.intern(id) }
                if it.table == "users" { userIds = map } else { itemIds = map }
            }
        }
    }

    func caches() -> (users: IdMap, items: IdMap, registry: EventTypeRegistry) {
        lock.withLock { (userIds, itemIds, registry) }
    }
}
