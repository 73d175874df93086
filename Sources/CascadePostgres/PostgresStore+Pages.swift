import CascadeCore
import CascadeStore
import Foundation
import Logging
import PostgresNIO

/// The served-page log: one row per page (request id, user, time, the rest as JSON).
extension PostgresStore {
    public func appendPages(_ pages: [ServedPage]) throws {
        guard !pages.isEmpty else { return }
        let requests = pages.map(\.request), users = pages.map(\.user), times = pages.map(\.timestamp)
        let data = try pages.map { try $0.payload() }
        let logger = self.logger
        try run("writing \(pages.count) served pages") { conn in
            try await conn.query("""
                INSERT INTO pages(request, user_id, ts, data)
                SELECT * FROM UNNEST(\(requests)::text[], \(users)::text[], \(times)::float8[], \(data)::text[])
                ON CONFLICT (request) DO NOTHING
                """, logger: logger)
        }
    }

    public func pages(requests: [String]) throws -> [ServedPage] {
        let ids = Array(Set(requests))
        guard !ids.isEmpty else { return [] }
        let logger = self.logger
        return try run("reading served pages", read: true) { conn in
            var out: [ServedPage] = []
            let rows = try await conn.query("SELECT request, user_id, ts, data FROM pages WHERE request = ANY(\(ids)::text[])", logger: logger)
            for try await (r, u, ts, d) in rows.decode((String, String, Double, String).self) {
                out.append(try ServedPage.stored(request: r, user: u, timestamp: ts, payload: d))
            }
            return out
        }
    }

    public func pages(from: Double, to: Double) throws -> [ServedPage] {
        guard from < to else { return [] }
        let logger = self.logger
        return try run("reading served pages by time", read: true) { conn in
            var out: [ServedPage] = []
            let rows = try await conn.query("SELECT request, user_id, ts, data FROM pages WHERE ts >= \(from) AND ts < \(to) ORDER BY ts, request",
                                            logger: logger)
            for try await (r, u, ts, d) in rows.decode((String, String, Double, String).self) {
                out.append(try ServedPage.stored(request: r, user: u, timestamp: ts, payload: d))
            }
            return out
        }
    }

    public func requests(eventType type: UInt8, from: Double, to: Double) throws -> Set<String> {
        guard from < to else { return [] }
        let logger = self.logger
        let code = Int(type)
        return try run("reading the request ids of events", read: true) { conn in
            var out = Set<String>()
            let rows = try await conn.query("SELECT DISTINCT request FROM events WHERE type = \(code) AND request IS NOT NULL AND ts >= \(from) AND ts < \(to)",
                                            logger: logger)
            for try await r in rows.decode(String.self) { out.insert(r) }
            return out
        }
    }
}
