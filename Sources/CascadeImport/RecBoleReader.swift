import CascadeCore
import Foundation

/// A RecBole atomic file: `.inter` (events), `.user` (users) or `.item` (items).
///
/// Tab-separated; the header types each column as `name:type`, with type `token` (one value),
/// `token_seq` (space-separated values), `float` or `float_seq`. Empty fields are absent values.
/// Text is UTF-8 (ISO Latin 1 where a field is not valid UTF-8).
///
/// - `.inter`: `user_id`, `item_id` and `timestamp` are required. Every row becomes one event of
///   type `click`; a `rating` column, when present, becomes the event's `value` (so explicit
///   ratings stay available to models that use them). Other columns are ignored, with a warning.
/// - `.user`: `user_id` is the id; `age` is numeric (whatever its declared type); `gender`,
///   `occupation` and `zip`/`zip_code` are categorical; other columns follow their type: `token`
///   is categorical, `float` numeric, `token_seq` adds tags, `float_seq` becomes numeric attributes
///   `name_0`, `name_1`, ...
/// - `.item`: `item_id` is the id; a column named `class`, `genre(s)` or `category`/`categories`
///   becomes the item's categories (one per value); a column whose name contains `title` or
///   `name` is kept whole as a categorical attribute (titles are not tags); other columns follow
///   their type as for users.
public struct RecBoleFile: ImportSource {
    public var path: String

    public init(path: String) { self.path = path }

    public var description: String { path }

    /// What a file holds, from its extension; nil when it is not an atomic file Cascade reads.
    public static func kind(ofPath path: String) -> RecordKind? {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "inter": return .events
        case "user": return .users
        case "item": return .items
        default: return nil
        }
    }

    public func parse(eventTypes: EventTypeRegistry) throws -> ParseResult {
        guard let kind = Self.kind(ofPath: path) else {
            throw CascadeError.badInput(file: path, line: 0, reason: "not a RecBole atomic file Cascade reads (expected extension .inter, .user or .item)")
        }
        return try Self.parse(FileLoader.load(path), file: path, kind: kind)
    }

    /// Parses the bytes of an atomic file holding `kind`; `file` names them in messages.
    public static func parse(_ data: Data, file: String, kind: RecordKind) throws -> ParseResult {
        try data.withBuffer { buf in
            var lines = LineCursor(buf)
            var header: Range<Int>?
            while let r = lines.next() {
                if !Bytes.isBlank(buf, r) { header = r; break }
            }
            guard let header else { throw CascadeError.badInput(file: file, line: 0, reason: "file is empty (expected a header such as user_id:token\titem_id:token)") }
            var parts: [Range<Int>] = []
            Bytes.split(buf, header, on: 9, into: &parts)
            var columns: [Column] = []
            for (i, p) in parts.enumerated() {
                let text = Bytes.text(buf, p).trimmingCharacters(in: .whitespaces)
                guard let colon = text.lastIndex(of: ":"),
                      let type = FieldType(rawValue: String(text[text.index(after: colon)...]).lowercased()) else {
                    throw CascadeError.badInput(file: file, line: lines.line, reason: "header column \(i + 1) '\(text)' is not name:type with type token, token_seq, float or float_seq")
                }
                columns.append(Column(name: String(text[..<colon]), type: type))
            }
            var reader = try RecBoleRows(file: file, kind: kind, columns: columns, headerLine: lines.line)
            if kind == .events { reader.result.batch.events.reserveCapacity(Bytes.lineCount(buf)) }
            var rows = 0
            while let r = lines.next() {
                if Bytes.isBlank(buf, r) { continue }
                rows += 1
                Bytes.split(buf, r, on: 9, into: &parts)
                reader.add(buf, parts, line: lines.line)
            }
            if rows == 0 { throw CascadeError.badInput(file: file, line: 0, reason: "file has a header but no rows") }
            return reader.result
        }
    }

    enum FieldType: String {
        case token, tokenSeq = "token_seq", float, floatSeq = "float_seq"
    }

    struct Column {
        var name: String
        var type: FieldType
    }
}

/// What each column of an atomic file becomes, and the records built so far.
private struct RecBoleRows {
    enum Role { case id, user, item, timestamp, rating, categories, numeric, categorical, tags, numericSeq, ignored }

    let file: String
    let kind: RecordKind
    let columns: [RecBoleFile.Column]
    var roles: [Role] = []
    var result = ParseResult()
    var firstLine: [String: Int] = [:]
    var slot: [Role: Int] = [:]
    /// Columns of the fields read on every row (-1 when absent).
    var userColumn = -1, itemColumn = -1, timestampColumn = -1, ratingColumn = -1, idColumn = -1

    init(file: String, kind: RecordKind, columns: [RecBoleFile.Column], headerLine: Int) throws {
        self.file = file
        self.kind = kind
        self.columns = columns
        var ignored: [String] = []
        for (i, c) in columns.enumerated() {
            let name = c.name.lowercased()
            let role: Role
            switch kind {
            case .events:
                switch name {
                case "user_id": role = .user
                case "item_id": role = .item
                case "timestamp": role = .timestamp
                case "rating": role = .rating
                default: role = .ignored; ignored.append(c.name)
                }
            case .users:
                switch name {
                case "user_id": role = .id
                case "age": role = .numeric
                case "gender", "occupation", "zip", "zip_code": role = .categorical
                default: role = Self.byType(c.type)
                }
            case .items:
                if name == "item_id" {
                    role = .id
                } else if ["class", "genre", "genres", "category", "categories"].contains(name) {
                    role = .categories
                } else if name.contains("title") || name.contains("name") {
                    role = .categorical
                } else {
                    role = Self.byType(c.type)
                }
            }
            if role != .ignored && role != .numeric && role != .categorical && role != .tags && role != .numericSeq {
                if let first = slot[role] {
                    throw CascadeError.badInput(file: file, line: headerLine, reason: "columns '\(columns[first].name)' and '\(c.name)' both map to \(role)")
                }
                slot[role] = i
            }
            roles.append(role)
        }
        let required: [(Role, String)] = kind == .events ? [(.user, "user_id"), (.item, "item_id"), (.timestamp, "timestamp")]
            : [(.id, kind == .users ? "user_id" : "item_id")]
        let missing = required.filter { slot[$0.0] == nil }.map { "'\($0.1)'" }
        if !missing.isEmpty {
            throw CascadeError.badInput(file: file, line: headerLine, reason: "missing required column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")); found columns: \(columns.map(\.name).joined(separator: ", "))")
        }
        userColumn = slot[.user] ?? -1
        itemColumn = slot[.item] ?? -1
        timestampColumn = slot[.timestamp] ?? -1
        ratingColumn = slot[.rating] ?? -1
        idColumn = slot[.id] ?? -1
        if !ignored.isEmpty {
            result.warnings.append("\(file): ignored column\(ignored.count > 1 ? "s" : "") \(ignored.joined(separator: ", ")) (events keep user, item, timestamp and rating)")
        }
    }

    static func byType(_ t: RecBoleFile.FieldType) -> Role {
        switch t {
        case .token: return .categorical
        case .float: return .numeric
        case .tokenSeq: return .tags
        case .floatSeq: return .numericSeq
        }
    }

    mutating func add(_ buf: UnsafeBufferPointer<UInt8>, _ fields: [Range<Int>], line: Int) {
        do throws(RowError) {
            guard fields.count == columns.count else {
                throw RowError("wrong number of fields: expected \(columns.count) (as in the header), found \(fields.count)")
            }
            switch kind {
            case .events: result.batch.events.append(try event(buf, fields))
            case .users, .items: try entity(buf, fields, line: line)
            }
        } catch {
            result.badRows.append(BadRow(file: file, line: line, reason: error.reason))
        }
    }

    private func text(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ column: Int) throws(RowError) -> String {
        guard !Bytes.isBlank(buf, r) else { throw RowError("missing \(columns[column].name)") }
        return Bytes.text(buf, Bytes.trimmed(buf, r))
    }

    private func number(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ column: Int) throws(RowError) -> Double {
        guard let v = Bytes.double(buf, r) else { throw RowError("unparseable number '\(Bytes.display(buf, r))' in column '\(columns[column].name)'") }
        guard v.isFinite else { throw RowError("non-finite number '\(Bytes.display(buf, r))' in column '\(columns[column].name)'") }
        return v
    }

    private func event(_ buf: UnsafeBufferPointer<UInt8>, _ f: [Range<Int>]) throws(RowError) -> Event {
        let u = try text(buf, f[userColumn], userColumn)
        let i = try text(buf, f[itemColumn], itemColumn)
        let tr = f[timestampColumn]
        guard !Bytes.isBlank(buf, tr) else { throw RowError("missing timestamp") }
        guard let ts = TimestampParser.parse(buf, tr) else {
            throw RowError("unparseable timestamp '\(Bytes.display(buf, tr))' (expected unix seconds, unix milliseconds or ISO 8601)")
        }
        var value: Double?
        let c = ratingColumn
        if c >= 0 && !Bytes.isBlank(buf, f[c]) { value = try number(buf, f[c], c) }
        let e = Event(user: Identifier.canonical(u), item: Identifier.canonical(i), type: .click, timestamp: ts, value: value)
        do { try e.validate() } catch { throw RowError(reason(error)) }
        return e
    }

    private mutating func entity(_ buf: UnsafeBufferPointer<UInt8>, _ f: [Range<Int>], line: Int) throws(RowError) {
        let id = try text(buf, f[idColumn], idColumn)
        let noun = kind == .users ? "user" : "item"
        if let first = firstLine[id] { throw RowError("duplicate \(noun) id '\(id)' (first seen on line \(first))") }
        var categorical: [String: String] = [:]
        var numeric: [String: Double] = [:]
        var tags: [String] = []
        var categories: [String] = []
        for (c, r) in f.enumerated() where !Bytes.isBlank(buf, r) {
            let name = columns[c].name
            switch roles[c] {
            case .numeric: numeric[name] = try number(buf, r, c)
            case .categorical: categorical[name] = Bytes.text(buf, Bytes.trimmed(buf, r))
            case .tags: tags += Self.tokens(buf, r)
            case .categories: categories += Self.tokens(buf, r)
            case .numericSeq:
                var parts: [Range<Int>] = []
                Bytes.split(buf, Bytes.trimmed(buf, r), on: 32, into: &parts)
                for (k, p) in parts.filter({ !$0.isEmpty }).enumerated() { numeric["\(name)_\(k)"] = try number(buf, p, c) }
            default: break
            }
        }
        do throws(CascadeError) {
            if kind == .users {
                let u = User(id: Identifier.canonical(id), categorical: categorical, numeric: numeric, tags: tags)
                try u.validate()
                result.batch.users.append(u)
            } else {
                let it = Item(id: Identifier.canonical(id), categories: categories, tags: tags, numeric: numeric, categorical: categorical)
                try it.validate()
                result.batch.items.append(it)
            }
        } catch {
            throw RowError(reason(error))
        }
        firstLine[id] = line
    }

    private static func tokens(_ buf: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> [String] {
        var parts: [Range<Int>] = []
        Bytes.split(buf, r, on: 32, into: &parts)
        return parts.filter { !$0.isEmpty }.map { Bytes.text(buf, $0) }
    }
}
