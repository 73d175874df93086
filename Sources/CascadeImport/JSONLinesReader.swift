import CascadeCore
import Foundation

/// A JSON Lines file of users, items or events: one JSON object a line, keys named as in
/// the ``ColumnMapping`` (the same names as CSV columns).
///
/// Values may be strings, numbers, booleans or null (null and `""` mean absent); lists
/// (`categories`, `tags`, tag attributes) may be arrays of scalars or separated strings; ids may
/// be numbers (their text is kept, `7` is id "7"). Nested objects are not supported: such a row is
/// bad. Timestamps may be numbers or strings (see ``TimestampParser``). Blank lines are skipped.
/// A line that is not one valid JSON object is a bad row; a key that the mapping does not accept
/// is an error for the whole file naming the key and its line.
public struct JSONLinesFile: ImportSource {
    public var path: String
    public var mapping: ColumnMapping

    public init(path: String, mapping: ColumnMapping) {
        self.path = path
        self.mapping = mapping
    }

    public var description: String { path }

    public func parse(eventTypes: EventTypeRegistry) throws -> ParseResult {
        try Self.parse(FileLoader.load(path), file: path, mapping: mapping, eventTypes: eventTypes)
    }

    /// Parses JSON Lines bytes; `file` names them in messages.
    public static func parse(_ data: Data, file: String, mapping: ColumnMapping, eventTypes: EventTypeRegistry) throws -> ParseResult {
        var builder = try RecordBuilder(mapping: mapping, file: file, eventTypes: eventTypes)
        var slots: [String: Int] = [:]
        var values: [JSONValue?] = []
        var rows = 0
        try data.withBuffer { buf in
            builder.reserve(Bytes.lineCount(buf) + 1)
            var lines = LineCursor(buf)
            while let r = lines.next() {
                if Bytes.isBlank(buf, r) { continue }
                rows += 1
                let line = lines.line
                var parser = JSONParser(buf: buf, start: r.lowerBound, end: r.upperBound)
                let pairs: [(String, JSONValue)]
                do throws(RowError) { pairs = try parser.object() } catch {
                    builder.addBadRow(line: line, reason: "not a valid JSON object: \(error.reason)")
                    continue
                }
                for i in values.indices { values[i] = nil }
                var duplicate: String?
                for (key, value) in pairs {
                    let slot: Int
                    if let s = slots[key] {
                        slot = s
                    } else {
                        slot = builder.addColumn(key)
                        try builder.checkColumns(line: line, requireAll: false)
                        slots[key] = slot
                        values.append(nil)
                    }
                    if values[slot] != nil { duplicate = key }
                    values[slot] = value
                }
                if let d = duplicate {
                    builder.addBadRow(line: line, reason: "key '\(d)' appears twice in the object")
                    continue
                }
                builder.add(JSONRow(values: values, columns: builder.columns), line: line)
            }
        }
        if rows == 0 { throw CascadeError.badInput(file: file, line: 0, reason: "file is empty (expected one JSON object a line)") }
        return builder.finish()
    }
}

/// A JSON value of a flat object.
enum JSONValue {
    case string(String)
    /// The number and its text as written.
    case number(Double, String)
    case bool(Bool)
    case null
    case array([JSONValue])
}

/// Parses one JSON object whose values are scalars or arrays of scalars.
struct JSONParser {
    let buf: UnsafeBufferPointer<UInt8>
    /// Where the line starts, so messages can give columns within it.
    let start: Int
    var pos: Int
    let end: Int

    init(buf: UnsafeBufferPointer<UInt8>, start: Int, end: Int) {
        self.buf = buf
        self.start = start
        pos = start
        self.end = end
    }

    mutating func object() throws(RowError) -> [(String, JSONValue)] {
        skipSpace()
        guard pos < end, buf[pos] == 123 else { throw RowError("expected '{' at column \(column)") }
        pos += 1
        var pairs: [(String, JSONValue)] = []
        skipSpace()
        if pos < end && buf[pos] == 125 {
            pos += 1
        } else {
            while true {
                skipSpace()
                guard pos < end, buf[pos] == 34 else { throw RowError("expected a key in quotes at column \(column)") }
                let key = try string()
                skipSpace()
                guard pos < end, buf[pos] == 58 else { throw RowError("expected ':' after key '\(key)' at column \(column)") }
                pos += 1
                skipSpace()
                pairs.append((key, try value(key: key, depth: 0)))
                skipSpace()
                guard pos < end else { throw RowError("object is not closed (missing '}')") }
                if buf[pos] == 44 { pos += 1; continue }
                if buf[pos] == 125 { pos += 1; break }
                throw RowError("expected ',' or '}' at column \(column)")
            }
        }
        skipSpace()
        guard pos == end else { throw RowError("unexpected text after the object at column \(column)") }
        return pairs
    }

    private var column: Int { pos - start + 1 }

    private mutating func skipSpace() {
        while pos < end, buf[pos] == 32 || buf[pos] == 9 || buf[pos] == 13 { pos += 1 }
    }

    private mutating func value(key: String, depth: Int) throws(RowError) -> JSONValue {
        guard pos < end else { throw RowError("missing value for key '\(key)'") }
        switch buf[pos] {
        case 34: return .string(try string())
        case 123: throw RowError("nested objects are not supported (key '\(key)')")
        case 91:
            guard depth == 0 else { throw RowError("nested arrays are not supported (key '\(key)')") }
            pos += 1
            var items: [JSONValue] = []
            skipSpace()
            if pos < end && buf[pos] == 93 { pos += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(key: key, depth: depth + 1))
                skipSpace()
                guard pos < end else { throw RowError("array of key '\(key)' is not closed") }
                if buf[pos] == 44 { pos += 1; continue }
                if buf[pos] == 93 { pos += 1; return .array(items) }
                throw RowError("expected ',' or ']' in the array of key '\(key)' at column \(column)")
            }
        case 116: try word("true", key); return .bool(true)
        case 102: try word("false", key); return .bool(false)
        case 110: try word("null", key); return .null
        default:
            let first = pos
            while pos < end, let c = Optional(buf[pos]), (c &- 48 < 10) || c == 45 || c == 43 || c == 46 || c == 101 || c == 69 { pos += 1 }
            guard pos > first, let d = Bytes.double(buf, first..<pos) else {
                throw RowError("invalid value for key '\(key)' at column \(first - start + 1)")
            }
            return .number(d, String(decoding: UnsafeBufferPointer(rebasing: buf[first..<pos]), as: UTF8.self))
        }
    }

    private mutating func word(_ w: StaticString, _ key: String) throws(RowError) {
        let n = w.utf8CodeUnitCount
        guard pos + n <= end else { throw RowError("invalid value for key '\(key)' at column \(column)") }
        for k in 0..<n where buf[pos + k] != w.utf8Start[k] {
            throw RowError("invalid value for key '\(key)' at column \(column)")
        }
        pos += n
    }

    /// A quoted string starting at `pos` (on its opening quote), escapes decoded.
    private mutating func string() throws(RowError) -> String {
        pos += 1
        let opened = pos - start
        while pos < end, buf[pos] != 34, buf[pos] != 92, buf[pos] >= 0x20 { pos += 1 }
        if pos < end && buf[pos] == 34 {
            guard let s = Bytes.utf8(buf, (start + opened)..<pos) else { throw RowError("string at column \(opened) is not valid UTF-8") }
            pos += 1
            return s
        }
        var bytes = Array(UnsafeBufferPointer(rebasing: buf[(start + opened)..<pos]))
        while true {
            guard pos < end else { throw RowError("string at column \(opened) is not closed") }
            let c = buf[pos]
            if c == 34 { pos += 1; break }
            if c < 0x20 { throw RowError("control character in string at column \(column)") }
            if c != 92 { bytes.append(c); pos += 1; continue }
            pos += 1
            guard pos < end else { throw RowError("string at column \(opened) is not closed") }
            let e = buf[pos]
            pos += 1
            switch e {
            case 34, 92, 47: bytes.append(e)
            case 98: bytes.append(8)
            case 102: bytes.append(12)
            case 110: bytes.append(10)
            case 114: bytes.append(13)
            case 116: bytes.append(9)
            case 117:
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard pos + 1 < end, buf[pos] == 92, buf[pos + 1] == 117 else { throw RowError("unpaired surrogate in string at column \(column)") }
                    pos += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw RowError("unpaired surrogate in string at column \(column)") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw RowError("invalid \\u escape at column \(column)") }
                bytes.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw RowError("invalid escape '\\\(Character(Unicode.Scalar(e)))' at column \(column - 1)")
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw RowError("string at column \(opened) is not valid UTF-8") }
        return s
    }

    private mutating func hex4() throws(RowError) -> UInt32 {
        guard pos + 4 <= end else { throw RowError("short \\u escape at column \(column)") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = buf[pos]
            let d: UInt8
            switch c {
            case 48...57: d = c - 48
            case 97...102: d = c - 87
            case 65...70: d = c - 55
            default: throw RowError("invalid \\u escape at column \(column)")
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }
}

/// A parsed JSON object seen through ``MappedRow``; `values` are by column slot.
struct JSONRow: MappedRow {
    let values: [JSONValue?]
    let columns: [String]

    func has(_ slot: Int) -> Bool {
        guard slot < values.count, let v = values[slot] else { return false }
        switch v {
        case .null: return false
        case .string(let s): return !s.allSatisfy { $0 == " " || $0 == "\t" }
        case .array(let a): return !a.isEmpty
        default: return true
        }
    }

    func text(_ slot: Int) throws(RowError) -> String {
        switch values[slot] {
        case .string(let s): return s
        case .number(_, let raw): return raw
        case .bool(let b): return b ? "true" : "false"
        case .array: throw RowError("key '\(columns[slot])' holds a list, expected a single value")
        case .null, nil: return ""
        }
    }

    func number(_ slot: Int) -> Double? {
        switch values[slot] {
        case .number(let d, _): return d
        case .string(var s): return s.withUTF8 { Bytes.double($0, 0..<$0.count) }
        default: return nil
        }
    }

    func timestamp(_ slot: Int, unit: TimestampParser.Unit) -> (seconds: Double, milliseconds: Bool)? {
        switch values[slot] {
        case .number(let d, _): return TimestampParser.fromNumber(d, unit: unit)
        case .string(let s): return TimestampParser.parse(s, unit: unit)
        default: return nil
        }
    }

    func list(_ slot: Int, separator: String) throws(RowError) -> [String] {
        guard case .array(let elements) = values[slot] else { return splitList(try text(slot), separator: separator) }
        var out: [String] = []
        for e in elements {
            switch e {
            case .string(let s): if !s.isEmpty { out.append(s) }
            case .number(_, let raw): out.append(raw)
            case .bool(let b): out.append(b ? "true" : "false")
            case .null, .array: break
            }
        }
        return out
    }

    func display(_ slot: Int) -> String {
        let s: String
        switch values[slot] {
        case .string(let v): s = v
        case .number(_, let raw): s = raw
        case .bool(let b): s = b ? "true" : "false"
        case .array: s = "[...]"
        case .null, nil: s = "null"
        }
        return s.count > 40 ? String(s.prefix(40)) + "..." : s
    }

    func cell(_ slot: Int) throws(RowError) -> AttributeCell {
        if case .array = values[slot] { return .list(try list(slot, separator: "|")) }
        let n = number(slot)
        return .scalar(try text(slot), n.flatMap { $0.isFinite ? $0 : nil })
    }
}
