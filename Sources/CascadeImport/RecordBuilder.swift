import CascadeCore
import Foundation

/// One row of a generic file as the ``RecordBuilder`` reads it: values by column slot.
protocol MappedRow {
    /// Whether the column at `slot` has a non-empty value in this row.
    func has(_ slot: Int) -> Bool
    func text(_ slot: Int) throws(RowError) -> String
    /// The value as a number, nil when it is not one (non-finite spellings parse, non-finite).
    func number(_ slot: Int) -> Double?
    /// The value as a timestamp in seconds (see ``TimestampParser``) and whether a number was
    /// read as milliseconds; nil when it is not one.
    func timestamp(_ slot: Int, unit: TimestampParser.Unit) -> (seconds: Double, milliseconds: Bool)?
    func list(_ slot: Int, separator: String) throws(RowError) -> [String]
    /// The value for an error message.
    func display(_ slot: Int) -> String
    /// The value of a column whose attribute kind is inferred from the whole file.
    func cell(_ slot: Int) throws(RowError) -> AttributeCell
}

/// A value of an attribute whose kind is decided after the whole file is read.
enum AttributeCell {
    /// Text and, when the text is a finite number, that number.
    case scalar(String, Double?)
    case list([String])
}

/// Turns rows of named columns into users, items or events following a ``ColumnMapping``;
/// shared by the CSV and JSON Lines readers.
struct RecordBuilder {
    let mapping: ColumnMapping
    let file: String
    private let knownTypes: Set<String>

    /// Event timestamps the `.auto` rule read as milliseconds (reported as a warning).
    private(set) var millisecondTimestamps = 0
    private(set) var columns: [String] = []
    private var slotByColumn: [String: Int] = [:]
    private(set) var unknownColumns: [String] = []
    private(set) var duplicateColumn: (name: String, first: Int, second: Int)?
    private let fieldByColumn: [String: ColumnMapping.Field]
    private let declaredByColumn: [String: AttributeKind]

    private var user = -1, item = -1, timestamp = -1, type = -1, value = -1, scene = -1
    private var id = -1, tags = -1, latitude = -1, longitude = -1
    private var categories = -1, author = -1, published = -1, hidden = -1
    private var declared: [(slot: Int, name: String, kind: AttributeKind)] = []
    private var inferred: [(slot: Int, name: String)] = []
    private var inferredCells: [[(record: Int, cell: AttributeCell)]] = []

    private var users: [User] = []
    private var items: [Item] = []
    private var events: [Event] = []
    private var badRows: [BadRow] = []
    private var firstLine: [String: Int] = [:]
    private var lastCheckedType = ""

    init(mapping: ColumnMapping, file: String, eventTypes: EventTypeRegistry) throws(CascadeError) {
        try mapping.validate()
        self.mapping = mapping
        self.file = file
        knownTypes = Set(eventTypes.entries.map(\.name))
        var f: [String: ColumnMapping.Field] = [:]
        for (field, column) in mapping.fields { f[column.lowercased()] = field }
        fieldByColumn = f
        var d: [String: AttributeKind] = [:]
        for (column, kind) in mapping.attributes { d[column.lowercased()] = kind }
        declaredByColumn = d
    }

    /// Registers the next column (CSV header order, or first appearance of a JSON key) and
    /// returns its slot. Unknown and duplicate columns are noted for ``checkColumns(line:requireAll:)``.
    @discardableResult
    mutating func addColumn(_ rawName: String) -> Int {
        let name = rawName.trimmingCharacters(in: .whitespaces)
        let key = name.lowercased()
        let slot = columns.count
        columns.append(name)
        if let first = slotByColumn[key] {
            if duplicateColumn == nil { duplicateColumn = (name, first + 1, slot + 1) }
            return slot
        }
        slotByColumn[key] = slot
        if let field = fieldByColumn[key] {
            switch field {
            case .user: user = slot
            case .item: item = slot
            case .timestamp: timestamp = slot
            case .type: type = slot
            case .value: value = slot
            case .scene: scene = slot
            case .id: id = slot
            case .tags: tags = slot
            case .latitude: latitude = slot
            case .longitude: longitude = slot
            case .categories: categories = slot
            case .author: author = slot
            case .published: published = slot
            case .hidden: hidden = slot
            }
        } else if let kind = declaredByColumn[key] {
            if kind != .ignore { declared.append((slot, name, kind)) }
        } else if mapping.otherColumns == .attributes && mapping.kind != .events {
            inferred.append((slot, name))
            inferredCells.append([])
        } else {
            unknownColumns.append(name)
        }
        return slot
    }

    /// Throws when columns are unknown or repeated, or (with `requireAll`, for files with a
    /// header) when a required column is missing.
    func checkColumns(line: Int, requireAll: Bool) throws(CascadeError) {
        if let d = duplicateColumn {
            throw .badInput(file: file, line: line, reason: "column '\(d.name)' appears twice (columns \(d.first) and \(d.second))")
        }
        if !unknownColumns.isEmpty {
            let names = unknownColumns.map { "'\($0)'" }.joined(separator: ", ")
            var reason = "unknown column\(unknownColumns.count > 1 ? "s" : "") \(names); accepted columns for \(mapping.kind): "
                + mapping.acceptedColumns.joined(separator: ", ")
            reason += mapping.kind == .events
                ? " (drop them with --ignore COLUMN, or declare them .ignore in the column mapping)"
                : " (keep them as attributes with --keep-other-columns, or drop them with --ignore COLUMN)"
            throw .badInput(file: file, line: line, reason: reason)
        }
        guard requireAll else { return }
        let required: [(Int, String)] = mapping.kind == .events
            ? [(user, mapping.user), (item, mapping.item), (timestamp, mapping.timestamp)]
            : [(id, mapping.id)]
        let missing = required.filter { $0.0 < 0 }.map { "'\($0.1)'" }
        if !missing.isEmpty {
            throw .badInput(file: file, line: line, reason: "missing required column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) for \(mapping.kind); found columns: \(columns.joined(separator: ", "))")
        }
    }

    /// Makes room for about `rows` records.
    mutating func reserve(_ rows: Int) {
        switch mapping.kind {
        case .events: events.reserveCapacity(rows)
        case .users: users.reserveCapacity(rows)
        case .items: items.reserveCapacity(rows)
        }
    }

    mutating func addBadRow(line: Int, reason: String) {
        badRows.append(BadRow(file: file, line: line, reason: reason))
    }

    /// Builds one record from `row`, or records a bad row.
    mutating func add<R: MappedRow>(_ row: R, line: Int) {
        do throws(RowError) {
            switch mapping.kind {
            case .events:
                let e = try event(row)
                events.append(e)
            case .users: try addUser(row, line: line)
            case .items: try addItem(row, line: line)
            }
        } catch {
            badRows.append(BadRow(file: file, line: line, reason: error.reason))
        }
    }

    /// The records, with inferred attributes typed from all their values.
    mutating func finish() -> ParseResult {
        for (c, column) in inferred.enumerated() {
            let cells = inferredCells[c]
            var numeric = false
            for (_, cell) in cells {
                guard case .scalar(_, let n) = cell else { continue }
                if n == nil { numeric = false; break }
                numeric = true
            }
            for (record, cell) in cells {
                switch cell {
                case .scalar(let text, let n):
                    if mapping.kind == .users {
                        if numeric { users[record].numeric[column.name] = n! } else { users[record].categorical[column.name] = text }
                    } else {
                        if numeric { items[record].numeric[column.name] = n! } else { items[record].categorical[column.name] = text }
                    }
                case .list(let l):
                    if mapping.kind == .users { users[record].tags += l } else { items[record].tags += l }
                }
            }
        }
        var warnings: [String] = []
        if millisecondTimestamps > 0 {
            // Say which: numbers above 1e11 were taken as milliseconds.
            warnings.append("\(file): \(millisecondTimestamps) timestamp(s) above 1e11 read as milliseconds (--timestamp-unit s refuses them, ms reads every number as milliseconds)")
        }
        return ParseResult(batch: ImportBatch(users: users, items: items, events: events), badRows: badRows, warnings: warnings)
    }

    // MARK: records

    private mutating func event<R: MappedRow>(_ row: R) throws(RowError) -> Event {
        let u = try requiredText(row, user, "user", mapping.user)
        let i = try requiredText(row, item, "item", mapping.item)
        guard timestamp >= 0, row.has(timestamp) else { throw RowError("missing timestamp (column '\(mapping.timestamp)')") }
        guard let (ts, fromMilliseconds) = row.timestamp(timestamp, unit: mapping.timestampUnit) else {
            throw RowError("unparseable timestamp '\(row.display(timestamp))' (expected unix seconds, unix milliseconds or ISO 8601)")
        }
        if fromMilliseconds && mapping.timestampUnit == .auto { millisecondTimestamps += 1 }
        var t = mapping.defaultType
        if type >= 0 && row.has(type) { t = EventType(try row.text(type)) }
        if t.name != lastCheckedType {
            guard knownTypes.contains(t.name) else {
                throw RowError("unknown event type '\(t.name)'; known types: \(knownTypes.sorted().joined(separator: ", ")) (register it first)")
            }
            lastCheckedType = t.name
        }
        var v: Double?
        if value >= 0 && row.has(value) { v = try finiteNumber(row, value, mapping.value ?? "value") }
        let s = scene >= 0 && row.has(scene) ? try row.text(scene) : nil
        let e = Event(user: u, item: i, type: t, timestamp: ts, value: v, scene: s)
        do { try e.validate() } catch { throw RowError(reason(error)) }
        return e
    }

    private mutating func addUser<R: MappedRow>(_ row: R, line: Int) throws(RowError) {
        let uid = try requiredText(row, id, "user id", mapping.id)
        if let first = firstLine[uid] { throw RowError("duplicate user id '\(uid)' (first seen on line \(first))") }
        var u = User(id: uid)
        if tags >= 0 && row.has(tags) { u.tags = try row.list(tags, separator: mapping.tagSeparator) }
        u.location = try location(row)
        for a in declared where row.has(a.slot) {
            switch a.kind {
            case .numeric: u.numeric[a.name] = try finiteNumber(row, a.slot, a.name)
            case .categorical: u.categorical[a.name] = try row.text(a.slot)
            case .tags(let sep): u.tags += try row.list(a.slot, separator: sep)
            case .ignore: break
            }
        }
        do { try u.validate() } catch { throw RowError(reason(error)) }
        try collectInferred(row, record: users.count)
        firstLine[uid] = line
        users.append(u)
    }

    private mutating func addItem<R: MappedRow>(_ row: R, line: Int) throws(RowError) {
        let iid = try requiredText(row, id, "item id", mapping.id)
        if let first = firstLine[iid] { throw RowError("duplicate item id '\(iid)' (first seen on line \(first))") }
        var it = Item(id: iid)
        if categories >= 0 && row.has(categories) { it.categories = try row.list(categories, separator: mapping.categorySeparator) }
        if tags >= 0 && row.has(tags) { it.tags = try row.list(tags, separator: mapping.tagSeparator) }
        if author >= 0 && row.has(author) { it.author = try row.text(author) }
        if published >= 0 && row.has(published) {
            guard let (p, _) = row.timestamp(published, unit: mapping.timestampUnit) else {
                throw RowError("unparseable timestamp '\(row.display(published))' in column '\(mapping.published ?? "")' (expected unix seconds, unix milliseconds or ISO 8601)")
            }
            it.publishedAt = p
        }
        it.location = try location(row)
        if hidden >= 0 && row.has(hidden) {
            guard let h = Bytes.bool(try row.text(hidden)) else {
                throw RowError("unparseable boolean '\(row.display(hidden))' in column '\(mapping.hidden ?? "")' (expected true/false, yes/no or 1/0)")
            }
            it.hidden = h
        }
        for a in declared where row.has(a.slot) {
            switch a.kind {
            case .numeric: it.numeric[a.name] = try finiteNumber(row, a.slot, a.name)
            case .categorical: it.categorical[a.name] = try row.text(a.slot)
            case .tags(let sep): it.tags += try row.list(a.slot, separator: sep)
            case .ignore: break
            }
        }
        do { try it.validate() } catch { throw RowError(reason(error)) }
        try collectInferred(row, record: items.count)
        firstLine[iid] = line
        items.append(it)
    }

    // MARK: fields

    private func requiredText<R: MappedRow>(_ row: R, _ slot: Int, _ what: String, _ column: String) throws(RowError) -> String {
        guard slot >= 0, row.has(slot) else { throw RowError("missing \(what) (column '\(column)')") }
        return Identifier.canonical(try row.text(slot))
    }

    private func finiteNumber<R: MappedRow>(_ row: R, _ slot: Int, _ column: String) throws(RowError) -> Double {
        guard let v = row.number(slot) else { throw RowError("unparseable number '\(row.display(slot))' in column '\(column)'") }
        guard v.isFinite else { throw RowError("non-finite number '\(row.display(slot))' in column '\(column)'") }
        return v
    }

    private func location<R: MappedRow>(_ row: R) throws(RowError) -> GeoPoint? {
        let hasLat = latitude >= 0 && row.has(latitude)
        let hasLon = longitude >= 0 && row.has(longitude)
        if !hasLat && !hasLon { return nil }
        guard hasLat && hasLon else {
            throw RowError(hasLat ? "latitude without longitude (column '\(mapping.longitude ?? "")' is empty)"
                                  : "longitude without latitude (column '\(mapping.latitude ?? "")' is empty)")
        }
        return GeoPoint(latitude: try finiteNumber(row, latitude, mapping.latitude ?? ""),
                        longitude: try finiteNumber(row, longitude, mapping.longitude ?? ""))
    }

    private mutating func collectInferred<R: MappedRow>(_ row: R, record: Int) throws(RowError) {
        guard !inferred.isEmpty else { return }
        var cells: [(Int, AttributeCell)] = []
        for (c, column) in inferred.enumerated() where row.has(column.slot) {
            cells.append((c, try row.cell(column.slot)))
        }
        for (c, cell) in cells { inferredCells[c].append((record, cell)) }
    }
}

/// The message of a Core validation error, without its category prefix.
func reason(_ error: CascadeError) -> String {
    if case .invalid(let m) = error { return m }
    return error.description
}
