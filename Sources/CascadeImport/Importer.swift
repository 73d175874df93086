import CascadeCore
import CascadeStore
import Foundation

/// Something an importer can read: one file in one format.
///
/// `parse` only reads; it never touches a store. It throws ``CascadeError/badInput(file:line:reason:)``
/// for problems of the whole file (missing, empty, unknown columns) and returns row-level
/// problems as ``BadRow``s in the result.
public protocol ImportSource: Sendable, CustomStringConvertible {
    /// Reads the source. `eventTypes` are the types events may use (the store's registry).
    func parse(eventTypes: EventTypeRegistry) throws -> ParseResult
}

/// Reads sources and writes what they hold to a store in one atomic batch.
public enum Importer {
    /// How many bad rows a report lists (all are counted).
    public static let listedBadRows = 10

    /// Parses every source and merges the results, without writing anything.
    ///
    /// A user or item defined in more than one source is kept once: the last definition wins
    /// (and a warning says so). Events are kept in source order.
    public static func parse(_ sources: [any ImportSource], eventTypes: EventTypeRegistry) throws -> ParseResult {
        var merged = ParseResult()
        for source in sources {
            merged.append(try source.parse(eventTypes: eventTypes))
        }
        var duplicateUsers = 0, duplicateItems = 0
        merged.batch.users = keepLast(merged.batch.users, id: \.id, duplicates: &duplicateUsers)
        merged.batch.items = keepLast(merged.batch.items, id: \.id, duplicates: &duplicateItems)
        if duplicateUsers > 0 { merged.warnings.append("\(duplicateUsers) user(s) defined in more than one file; the last definition wins") }
        if duplicateItems > 0 { merged.warnings.append("\(duplicateItems) item(s) defined in more than one file; the last definition wins") }
        return merged
    }

    /// Parses `sources` and imports them into `store` with one ``Store/importBatch(users:items:events:)`` call.
    ///
    /// Event types are checked against `store.eventTypes()`; register custom types first.
    /// By default any bad row stops the import before anything is written: the error names the
    /// first bad row (file, line, reason) and how many there are. With `skipBadRows` the good rows
    /// are imported and the report counts the skipped ones and lists the first few.
    /// Problems of a whole file (missing, empty, unknown or missing columns) always stop it.
    @discardableResult
    public static func run(_ sources: [any ImportSource], into store: any Store, skipBadRows: Bool = false) throws -> ImportReport {
        guard !sources.isEmpty else { throw CascadeError.invalid("nothing to import: no files given") }
        let start = Date()
        let parsed = try parse(sources, eventTypes: try store.eventTypes())
        let parsedAt = Date()
        let bad = parsed.badRows
        if let first = bad.first, !skipBadRows {
            let more = bad.count == 1 ? "1 bad row" : "\(bad.count) bad rows in all"
            throw CascadeError.badInput(file: first.file, line: first.line,
                                        reason: "\(first.reason) (\(more); nothing was imported; skip bad rows to import the rest)")
        }
        let b = parsed.batch
        if !b.isEmpty {
            try store.importBatch(users: b.users, items: b.items, events: b.events)
        }
        return ImportReport(sources: sources.map(\.description), users: b.users.count, items: b.items.count,
                            events: b.events.count, skippedRows: bad.count, firstSkippedRows: Array(bad.prefix(listedBadRows)),
                            warnings: parsed.warnings, parseSeconds: parsedAt.timeIntervalSince(start),
                            storeSeconds: Date().timeIntervalSince(parsedAt))
    }

    /// Variadic form of ``run(_:into:skipBadRows:)``.
    @discardableResult
    public static func run(_ sources: any ImportSource..., into store: any Store, skipBadRows: Bool = false) throws -> ImportReport {
        try run(sources, into: store, skipBadRows: skipBadRows)
    }

    private static func keepLast<T>(_ rows: [T], id: (T) -> String, duplicates: inout Int) -> [T] {
        var index: [String: Int] = [:]
        index.reserveCapacity(rows.count)
        var out: [T] = []
        out.reserveCapacity(rows.count)
        for r in rows {
            let key = id(r)
            if let i = index[key] {
                out[i] = r
                duplicates += 1
            } else {
                index[key] = out.count
                out.append(r)
            }
        }
        return out
    }
}
