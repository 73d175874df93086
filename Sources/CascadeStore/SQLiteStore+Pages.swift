import CascadeCore
import Foundation
import GRDB

/// The served-page log: one row per page (request id, user, time, the rest as JSON).
extension SQLiteStore {
    public func appendPages(_ pages: [ServedPage]) throws {
        guard !pages.isEmpty else { return }
        let rows = try pages.map { ($0, try $0.payload()) }
        try write("writing \(pages.count) served pages") { db in
            let stmt = try db.cachedStatement(sql: "INSERT OR IGNORE INTO pages(request, user, ts, data) VALUES (?, ?, ?, ?)")
            for (p, data) in rows { try stmt.execute(arguments: [p.request, p.user, p.timestamp, data]) }
        }
    }

    public func pages(requests: [String]) throws -> [ServedPage] {
        guard !requests.isEmpty else { return [] }
        return try read("reading served pages") { db in
            var out: [ServedPage] = []
            let stmt = try db.cachedStatement(sql: "SELECT request, user, ts, data FROM pages WHERE request = ?")
            for r in Set(requests) {
                if let row = try Row.fetchOne(stmt, arguments: [r]) {
                    out.append(try ServedPage.stored(request: row[0], user: row[1], timestamp: row[2], payload: row[3]))
                }
            }
            return out
        }
    }

    public func pages(from: Double, to: Double) throws -> [ServedPage] {
        guard from < to else { return [] }
        return try read("reading served pages by time") { db in
            var out: [ServedPage] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT request, user, ts, data FROM pages WHERE ts >= ? AND ts < ? ORDER BY ts, rowid",
                                           arguments: [from, to])
            while let row = try rows.next() {
                out.append(try ServedPage.stored(request: row[0], user: row[1], timestamp: row[2], payload: row[3]))
            }
            return out
        }
    }

    public func requests(eventType type: UInt8, from: Double, to: Double) throws -> Set<String> {
        guard from < to else { return [] }
        return try read("reading the request ids of events") { db in
            var out = Set<String>()
            let rows = try String.fetchCursor(db, sql: "SELECT DISTINCT request FROM events WHERE type = ? AND request IS NOT NULL AND ts >= ? AND ts < ?",
                                              arguments: [Int64(type), from, to])
            while let r = try rows.next() { out.insert(r) }
            return out
        }
    }
}
