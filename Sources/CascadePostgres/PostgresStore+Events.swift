import CascadeCore
import CascadeStore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Events: written with `COPY` into day-range partitions, read back by user, by time range, or
/// streamed in dense batches.
extension PostgresStore {
    /// The UTC day of a timestamp, clamped to what an `integer` column holds.
    static func day(_ ts: Double) -> Int {
        Int((ts / 86_400).rounded(.down).clamped(-2e9, 2e9))
    }

    static func bucket(day: Int) -> Int {
        Int((Double(day) / Double(partitionDays)).rounded(.down))
    }

    /// Creates the partitions the days of `events` need, each in its own short transaction.
    func ensurePartitions(_ events: [Event]) throws {
        let known = lock.withLock { partitions }
        let needed = Set(events.map { Self.bucket(day: Self.day($0.timestamp)) }).subtracting(known)
        guard !needed.isEmpty else { return }
        let logger = self.logger
        for b in needed.sorted() {
            let name = Self.partitionName(bucket: b)
            let from = b * Self.partitionDays, to = (b + 1) * Self.partitionDays
            try transaction("creating event partition \(name)") { conn in
                try await conn.query("SELECT pg_advisory_xact_lock(7306015)", logger: logger)
                // Identifiers and bounds are integers computed here, never input.
                try await conn.query(PostgresQuery(unsafeSQL: "CREATE TABLE IF NOT EXISTS \(name) PARTITION OF events FOR VALUES FROM (\(from)) TO (\(to))"),
                                     logger: logger)
            }
            _ = lock.withLock { partitions.insert(b) }
        }
    }

    public func appendEvents(_ events: [Event]) throws {
        try importBatch(users: [], items: [], events: events)
    }

    /// One transaction: ids interned, documents written, events copied; all land or none.
    public func importBatch(users: [User], items: [Item], events: [Event]) throws {
        try StoreSupport.validateBatch(users: users, items: items, events: events)
        if users.isEmpty && items.isEmpty && events.isEmpty { return }
        try ensurePartitions(events)
        let cache = caches()
        let logger = self.logger
        let (ui, ii) = try transaction("writing \(users.count) users, \(items.count) items, \(events.count) events") { conn in
            let reg = try await Self.loadRegistry(conn, logger: logger)
            var codes: [String: UInt8] = [:]
            for e in reg.entries { codes[e.name] = e.code }
            for e in events where codes[e.type.name] == nil {
                throw CascadeError.invalid("event of user \(e.user) on item \(e.item): unknown event type '\(e.type.name)' (register it first; known: \(reg.entries.map(\.name).joined(separator: ", ")))")
            }
            let ui = try await Self.intern(users.map(\.id) + events.map(\.user), table: .users, conn: conn, cache: cache.users, logger: logger)
            let ii = try await Self.intern(items.map(\.id) + events.map(\.item), table: .items, conn: conn, cache: cache.items, logger: logger)
            try await Self.writeUsers(users, ids: ui, conn: conn, logger: logger)
            try await Self.writeItems(items, ids: ii, conn: conn, logger: logger)
            if !events.isEmpty {
                // Deleted users and items are gone until re-created (upserted, as this batch may
                // do): one round trip checks both.
                let userIdx = Array(Set(events.map { ui[$0.user]! })), itemIdx = Array(Set(events.map { ii[$0.item]! }))
                let rows = try await conn.query("""
                    (SELECT 'user', ext_id FROM users WHERE deleted AND idx = ANY(\(userIdx)) LIMIT 1)
                    UNION ALL (SELECT 'item', ext_id FROM items WHERE deleted AND idx = ANY(\(itemIdx)) LIMIT 1)
                    """, logger: logger)
                for try await (kind, id) in rows.decode((String, String).self) {
                    throw CascadeError.notFound(StoreSupport.deletedMessage(kind, id))
                }
                try await conn.copyFrom(table: "events", columns: ["day", "user_idx", "item_idx", "type", "ts", "value", "scene", "request", "position"], logger: logger) { writer in
                    var buffer = ByteBuffer()
                    buffer.reserveCapacity(min(events.count, 4096) * 64)
                    for e in events {
                        Self.copyRow(e, user: ui[e.user]!, item: ii[e.item]!, code: codes[e.type.name]!, into: &buffer)
                        if buffer.readableBytes >= 1 << 18 {
                            try await writer.write(buffer)
                            buffer.clear()
                        }
                    }
                    if buffer.readableBytes > 0 { try await writer.write(buffer) }
                }
                var counted = CounterBatch()
                for e in events { counted.add(user: ui[e.user]!, item: ii[e.item]!, type: e.type.name, value: e.value, timestamp: e.timestamp) }
                try await Self.addCounters(counted, conn: conn, logger: logger)
            }
            return (ui, ii)
        }
        publish(users: ui, items: ii)
    }

    /// One line of `COPY`'s text format: tab-separated, `\N` for NULL, backslash escapes.
    static func copyRow(_ e: Event, user: Int32, item: Int32, code: UInt8, into b: inout ByteBuffer) {
        b.writeString(String(day(e.timestamp)))
        b.writeStaticString("\t")
        b.writeString(String(user))
        b.writeStaticString("\t")
        b.writeString(String(item))
        b.writeStaticString("\t")
        b.writeString(String(code))
        b.writeStaticString("\t")
        b.writeString("\(e.timestamp)")
        b.writeStaticString("\t")
        if let v = e.value { b.writeString("\(v)") } else { b.writeStaticString("\\N") }
        b.writeStaticString("\t")
        if let scene = e.scene { writeEscaped(scene, into: &b) } else { b.writeStaticString("\\N") }
        b.writeStaticString("\t")
        if let request = e.request { writeEscaped(request, into: &b) } else { b.writeStaticString("\\N") }
        b.writeStaticString("\t")
        if let position = e.position { b.writeString(String(position)) } else { b.writeStaticString("\\N") }
        b.writeStaticString("\n")
    }

    static func writeEscaped(_ s: String, into b: inout ByteBuffer) {
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): b.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): b.writeStaticString("\\t")
            case UInt8(ascii: "\n"): b.writeStaticString("\\n")
            case UInt8(ascii: "\r"): b.writeStaticString("\\r")
            default: b.writeInteger(byte)
            }
        }
    }

    private static func event(user: String, item: String, code: Int, ts: Double, value: Double?, scene: String?,
                              request: String?, position: Int?, _ reg: EventTypeRegistry) -> Event {
        Event(user: user, item: item, type: EventType(reg.name(of: UInt8(code))), timestamp: ts, value: value, scene: scene,
              request: request, position: position)
    }

    /// Newest first through the (user, time) index across partitions, by a prepared statement.
    public func lastEvents(user: String, limit: Int, types: Set<EventType>?) throws -> [Event] {
        guard limit > 0 else { return [] }
        if let types, types.isEmpty { return [] }
        let logger = self.logger
        return try run("reading events of user \(user)", read: true) { conn in
            let statement = Prepared.LastEvents(user: user, limit: limit, types: types.map { $0.map(\.name).sorted() })
            let rows = try await conn.execute(statement, logger: logger)
            var out: [Event] = []
            for try await (item, type, ts, value, scene, request, position) in rows {
                out.append(Event(user: user, item: item, type: EventType(type), timestamp: ts, value: value, scene: scene,
                                 request: request, position: position.map(Int.init)))
            }
            return out
        }
    }

    /// One seek of the (time, id) index.
    public func newestEventTime() throws -> Double? {
        let logger = self.logger
        return try run("reading the newest event time", read: true) { conn in
            var out: Double?
            for try await v in try await conn.query("SELECT MAX(ts) FROM events", logger: logger).decode(Double?.self) { out = v }
            return out
        }
    }

    public func events(from: Double, to: Double) throws -> [Event] {
        guard from < to else { return [] }
        let logger = self.logger
        return try run("reading events by time", read: true) { conn in
            let reg = try await Self.loadRegistry(conn, logger: logger)
            let rows = try await conn.query("""
                SELECT u.ext_id, i.ext_id, e.type, e.ts, e.value, e.scene, e.request, e.position FROM events e
                JOIN users u ON u.idx = e.user_idx JOIN items i ON i.idx = e.item_idx
                WHERE e.day BETWEEN \(Self.day(from)) AND \(Self.day(to)) AND e.ts >= \(from) AND e.ts < \(to) ORDER BY e.ts, e.id
                """, logger: logger)
            var out: [Event] = []
            for try await (user, item, code, ts, value, scene, request, position)
                in rows.decode((String, String, Int, Double, Double?, String?, String?, Int32?).self) {
                out.append(Self.event(user: user, item: item, code: code, ts: ts, value: value, scene: scene,
                                      request: request, position: position.map(Int.init), reg))
            }
            return out
        }
    }

    /// One statement streams every event in insertion order (one snapshot, so a concurrent
    /// writer cannot tear the scan); `body` gets dense batches as they arrive.
    public func scanEvents(batchSize: Int, _ body: (EventLog) throws -> Void) throws {
        let size = max(1, batchSize)
        let logger = self.logger
        try withoutActuallyEscaping(body) { body in
            let sink = Sink(body: body)
            // The task that ran the scan may outlive this call by a moment: drop the closure here.
            defer { sink.body = nil }
            try run("scanning events") { conn in
                let rows = try await conn.query("SELECT user_idx, item_idx, type, ts, value, position FROM events ORDER BY id", logger: logger)
                var batch = EventLog(capacity: size)
                for try await (u, i, t, ts, v, p) in rows.decode((Int32, Int32, Int16, Double, Double?, Int32?).self) {
                    batch.append(user: u, item: i, type: UInt8(truncatingIfNeeded: t), timestamp: ts, value: v.map { Float($0) } ?? .nan,
                                 position: p.map(Int.init))
                    if batch.count == size {
                        try sink.body?(batch)
                        batch = EventLog(capacity: size)
                    }
                }
                if batch.count > 0 { try sink.body?(batch) }
            }
        }
    }

    /// Carries the caller's closure into the task that runs the scan; the caller waits for it.
    private final class Sink: @unchecked Sendable {
        var body: ((EventLog) throws -> Void)?
        init(body: @escaping (EventLog) throws -> Void) { self.body = body }
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
