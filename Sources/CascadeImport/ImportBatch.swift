import CascadeCore

/// What a reader makes of one or more files: users, items and events, ready for
/// ``CascadeStore/Store/importBatch(users:items:events:)``.
public struct ImportBatch: Sendable, Equatable {
    public var users: [User]
    public var items: [Item]
    public var events: [Event]

    public init(users: [User] = [], items: [Item] = [], events: [Event] = []) {
        self.users = users
        self.items = items
        self.events = events
    }

    public var isEmpty: Bool { users.isEmpty && items.isEmpty && events.isEmpty }

    /// Appends the rows of `other` after these.
    public mutating func append(_ other: ImportBatch) {
        users += other.users
        items += other.items
        events += other.events
    }
}

/// A row a reader could not use: where it is (file and 1-based line) and why.
public struct BadRow: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line on which the row starts.
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `file:line: reason`, the form compilers use.
    public var description: String { "\(file):\(line): \(reason)" }
}

/// The outcome of parsing: the good rows, the bad ones, and notes about the input
/// (for example columns that were ignored).
public struct ParseResult: Sendable, Equatable {
    public var batch: ImportBatch
    /// Bad rows in file order.
    public var badRows: [BadRow]
    public var warnings: [String]

    public init(batch: ImportBatch = ImportBatch(), badRows: [BadRow] = [], warnings: [String] = []) {
        self.batch = batch
        self.badRows = badRows
        self.warnings = warnings
    }

    public mutating func append(_ other: ParseResult) {
        batch.append(other.batch)
        badRows += other.badRows
        warnings += other.warnings
    }
}

/// What ``Importer/run(_:into:skipBadRows:)`` wrote.
public struct ImportReport: Sendable, Equatable, CustomStringConvertible {
    /// The sources read, in order.
    public var sources: [String]
    /// Rows handed to the store (after merging duplicates across files).
    public var users: Int
    public var items: Int
    public var events: Int
    /// Bad rows left out (only non-zero when bad rows were skipped).
    public var skippedRows: Int
    /// The first few skipped rows (at most ``Importer/listedBadRows``).
    public var firstSkippedRows: [BadRow]
    public var warnings: [String]
    /// Wall-clock seconds spent parsing and storing.
    public var parseSeconds: Double
    public var storeSeconds: Double

    public init(sources: [String] = [], users: Int = 0, items: Int = 0, events: Int = 0, skippedRows: Int = 0,
                firstSkippedRows: [BadRow] = [], warnings: [String] = [], parseSeconds: Double = 0, storeSeconds: Double = 0) {
        self.sources = sources
        self.users = users
        self.items = items
        self.events = events
        self.skippedRows = skippedRows
        self.firstSkippedRows = firstSkippedRows
        self.warnings = warnings
        self.parseSeconds = parseSeconds
        self.storeSeconds = storeSeconds
    }

    public var description: String {
        var s = "imported \(users) users, \(items) items, \(events) events from \(sources.count) file(s)"
        if skippedRows > 0 {
            s += "; skipped \(skippedRows) bad row(s)"
            for r in firstSkippedRows { s += "\n  \(r)" }
            if skippedRows > firstSkippedRows.count { s += "\n  ... and \(skippedRows - firstSkippedRows.count) more" }
        }
        for w in warnings { s += "\nwarning: \(w)" }
        return s
    }
}

/// What a generic (CSV or JSON Lines) file holds.
public enum RecordKind: String, Sendable, Equatable, CaseIterable {
    case users, items, events
}
