import CascadeCore
import Foundation
import GRDB

/// Exposure filters: one blob per user, replaced whole.
extension SQLiteStore {
    public func exposureFilter(user: String) throws -> Data? {
        try read("reading exposure filter of \(user)") { db in
            try Data.fetchOne(db, sql: "SELECT x.data FROM exposures x JOIN users u ON u.idx = x.user_idx WHERE u.ext_id = ?", arguments: [user])
        }
    }

    public func putExposureFilters(_ filters: [String: Data]) throws {
        for id in filters.keys { try validateId(id) }
        let cache = caches()
        let ui = try write("saving \(filters.count) exposure filters") { db in
            var ui = try Interner(db: db, table: "users", cache: cache.users)
            let stmt = try db.cachedStatement(sql: "INSERT INTO exposures(user_idx, data, updated_at) VALUES (?, ?, ?) ON CONFLICT(user_idx) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at")
            let now = Date().timeIntervalSince1970
            for (user, data) in filters.sorted(by: { $0.key < $1.key }) {
                try stmt.execute(arguments: [Int(try ui.index(user, db: db)), data, now])
            }
            return ui
        }
        publish(ui)
    }

    /// One write transaction: SQLite has a single writer (across processes too), so the
    /// read-modify-write cannot interleave with another.
    public func updateExposureFilters(users: [String], _ update: (String, Data?) throws -> Data) throws {
        for id in users { try validateId(id) }
        let cache = caches()
        let ui = try write("updating \(users.count) exposure filters") { db in
            var ui = try Interner(db: db, table: "users", cache: cache.users)
            let read = try db.cachedStatement(sql: "SELECT data FROM exposures WHERE user_idx = ?")
            let stmt = try db.cachedStatement(sql: "INSERT INTO exposures(user_idx, data, updated_at) VALUES (?, ?, ?) ON CONFLICT(user_idx) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at")
            let now = Date().timeIntervalSince1970
            for user in Set(users).sorted() {
                let idx = Int(try ui.index(user, db: db))
                let old = try Data.fetchOne(read, arguments: [idx])
                try stmt.execute(arguments: [idx, try update(user, old), now])
            }
            return ui
        }
        publish(ui)
    }

    private func validateId(_ id: String) throws {
        try User(id: id).validate()
    }
}
