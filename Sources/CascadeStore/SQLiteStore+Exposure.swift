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

    private func validateId(_ id: String) throws {
        try User(id: id).validate()
    }
}
