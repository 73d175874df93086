import CascadeCore
import Foundation

/// A generic CSV file of users, items or events (RFC 4180), read through a ``ColumnMapping``.
///
/// The first line is the header. Fields may be quoted with `"`; a quoted field may hold the
/// delimiter, line breaks and doubled quotes (`""`). Lines end with LF or CRLF; a UTF-8 byte
/// order mark is skipped; blank lines are skipped. Malformed quoting (an unterminated quote,
/// a quote inside an unquoted field, text after a closing quote) and a field count that
/// differs from the header make a bad row; after an unterminated quote reading resumes on the
/// line after the one where the row began. Text must be UTF-8.
public struct CSVFile: ImportSource {
    public var path: String
    public var mapping: ColumnMapping
    /// The field delimiter, an ASCII character (`,` by default; `;` and tab are common).
    public var delimiter: Unicode.Scalar

    public init(path: String, mapping: ColumnMapping, delimiter: Unicode.Scalar = ",") {
        self.path = path
        self.mapping = mapping
        self.delimiter = delimiter
    }

    public var description: String { path }

    public func parse(eventTypes: EventTypeRegistry) throws -> ParseResult {
        try Self.parse(FileLoader.load(path), file: path, mapping: mapping, delimiter: delimiter, eventTypes: eventTypes)
    }

    /// Parses CSV bytes; `file` names them in messages. Throws ``CascadeError`` for problems
    /// of the whole file (empty, bad header, unknown or missing columns).
    public static func parse(_ data: Data, file: String, mapping: ColumnMapping, delimiter: Unicode.Scalar = ",",
                             eventTypes: EventTypeRegistry) throws -> ParseResult {
        guard delimiter.isASCII, delimiter != "\"", delimiter != "\n", delimiter != "\r" else {
            throw CascadeError.invalid("CSV delimiter must be an ASCII character other than a quote or a line break")
        }
        var builder = try RecordBuilder(mapping: mapping, file: file, eventTypes: eventTypes)
        return try data.withBuffer { buf in
            var tokens = CSVTokenizer(buf, delimiter: UInt8(delimiter.value))
            let headerLine: Int
            switch tokens.next() {
            case .end:
                throw CascadeError.badInput(file: file, line: 0, reason: "file is empty (expected a header line with columns \(mapping.acceptedColumns.joined(separator: ", ")))")
            case .bad(let line, let why):
                throw CascadeError.badInput(file: file, line: line, reason: "bad header: \(why)")
            case .record(let line):
                headerLine = line
                let row = CSVRow(buf: buf, fields: tokens.fields)
                for slot in 0..<tokens.fields.count {
                    guard let name = try? row.text(slot) else {
                        throw CascadeError.badInput(file: file, line: line, reason: "bad header: column \(slot + 1) is not valid UTF-8")
                    }
                    builder.addColumn(name)
                }
            }
            try builder.checkColumns(line: headerLine, requireAll: true)
            builder.reserve(Bytes.lineCount(buf))
            let width = builder.columns.count
            var rows = 0
            while true {
                switch tokens.next() {
                case .end:
                    if rows == 0 { throw CascadeError.badInput(file: file, line: 0, reason: "file has a header but no rows") }
                    return builder.finish()
                case .bad(let line, let why):
                    rows += 1
                    builder.addBadRow(line: line, reason: why)
                case .record(let line):
                    rows += 1
                    if tokens.fields.count != width {
                        builder.addBadRow(line: line, reason: "wrong number of fields: expected \(width) (as in the header), found \(tokens.fields.count)")
                    } else {
                        builder.add(CSVRow(buf: buf, fields: tokens.fields), line: line)
                    }
                }
            }
        }
    }
}

/// One field of a CSV record: its bytes (without the surrounding quotes) and whether they
/// hold doubled quotes to undo.
struct CSVField {
    var range: Range<Int>
    var escaped: Bool
}

/// Splits CSV bytes into records of fields without copying them.
struct CSVTokenizer {
    enum Next {
        case record(line: Int)
        case bad(line: Int, reason: String)
        case end
    }

    let buf: UnsafeBufferPointer<UInt8>
    let delimiter: UInt8
    private var pos: Int
    /// The line number at `pos`.
    private var line = 1
    /// The fields of the record last returned.
    private(set) var fields: [CSVField] = []

    init(_ buf: UnsafeBufferPointer<UInt8>, delimiter: UInt8) {
        self.buf = buf
        self.delimiter = delimiter
        pos = Bytes.bomLength(buf)
        fields.reserveCapacity(16)
    }

    mutating func next() -> Next {
        let n = buf.count
        // Skip blank lines.
        while true {
            guard pos < n else { return .end }
            var j = pos
            while j < n && (buf[j] == 32 || buf[j] == 9 || buf[j] == 13) { j += 1 }
            if j >= n { pos = n; return .end }
            guard buf[j] == 10 else { break }
            pos = j + 1
            line += 1
        }
        let recordLine = line
        let recordStart = pos
        fields.removeAll(keepingCapacity: true)
        while true {
            if pos < n && buf[pos] == 34 {
                pos += 1
                let start = pos
                var escaped = false
                var closed = false
                while pos < n {
                    let c = buf[pos]
                    if c == 34 {
                        if pos + 1 < n && buf[pos + 1] == 34 { escaped = true; pos += 2; continue }
                        closed = true
                        break
                    }
                    if c == 10 { line += 1 }
                    pos += 1
                }
                guard closed else {
                    let reason = "malformed quoting: field \(fields.count + 1) opens a quote that is never closed"
                    pos = lineEnd(from: recordStart)
                    line = recordLine + 1
                    return .bad(line: recordLine, reason: reason)
                }
                fields.append(CSVField(range: start..<pos, escaped: escaped))
                pos += 1
                if pos >= n { return .record(line: recordLine) }
                let c = buf[pos]
                if c == delimiter { pos += 1; continue }
                if c == 10 { pos += 1; line += 1; return .record(line: recordLine) }
                if c == 13 && (pos + 1 >= n || buf[pos + 1] == 10) {
                    pos = min(n, pos + 2)
                    line += 1
                    return .record(line: recordLine)
                }
                let reason = "malformed quoting: text after the closing quote of field \(fields.count) (quotes inside a quoted field must be doubled)"
                skipLine()
                return .bad(line: recordLine, reason: reason)
            } else {
                let start = pos
                while pos < n {
                    let c = buf[pos]
                    if c == delimiter || c == 10 { break }
                    if c == 34 {
                        let reason = "malformed quoting: a quote inside unquoted field \(fields.count + 1) (quote the whole field and double the quotes inside)"
                        skipLine()
                        return .bad(line: recordLine, reason: reason)
                    }
                    pos += 1
                }
                var end = pos
                if end > start && buf[end - 1] == 13 && (pos >= n || buf[pos] == 10) { end -= 1 }
                fields.append(CSVField(range: start..<end, escaped: false))
                if pos >= n { return .record(line: recordLine) }
                if buf[pos] == delimiter { pos += 1; continue }
                pos += 1
                line += 1
                return .record(line: recordLine)
            }
        }
    }

    /// Moves past the end of the current line.
    private mutating func skipLine() {
        pos = lineEnd(from: pos)
        line += 1
    }

    /// The position after the first line break at or after `p` (the end when there is none).
    private func lineEnd(from p: Int) -> Int {
        guard p < buf.count, let hit = memchr(buf.baseAddress! + p, 10, buf.count - p) else { return buf.count }
        return buf.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + 1
    }
}

/// A CSV record seen through ``MappedRow``.
struct CSVRow: MappedRow {
    let buf: UnsafeBufferPointer<UInt8>
    let fields: [CSVField]

    func has(_ slot: Int) -> Bool { !Bytes.isBlank(buf, fields[slot].range) }

    /// Calls `body` with the field's bytes, doubled quotes undone.
    @inline(__always)
    private func withField<T>(_ slot: Int, _ body: (UnsafeBufferPointer<UInt8>, Range<Int>) -> T) -> T {
        let f = fields[slot]
        if !f.escaped { return body(buf, f.range) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(f.range.count)
        var i = f.range.lowerBound
        while i < f.range.upperBound {
            bytes.append(buf[i])
            i += buf[i] == 34 ? 2 : 1
        }
        return bytes.withUnsafeBufferPointer { body($0, 0..<$0.count) }
    }

    func text(_ slot: Int) throws(RowError) -> String {
        guard let s = withField(slot, { Bytes.utf8($0, $1) }) else {
            throw RowError("field \(slot + 1) is not valid UTF-8")
        }
        return s
    }

    func number(_ slot: Int) -> Double? { withField(slot) { Bytes.double($0, $1) } }

    func timestamp(_ slot: Int, unit: TimestampParser.Unit) -> (seconds: Double, milliseconds: Bool)? {
        withField(slot) { TimestampParser.parse($0, $1, unit: unit) }
    }

    func list(_ slot: Int, separator: String) throws(RowError) -> [String] {
        splitList(try text(slot), separator: separator)
    }

    func display(_ slot: Int) -> String { withField(slot) { Bytes.display($0, $1) } }

    func cell(_ slot: Int) throws(RowError) -> AttributeCell {
        let n = number(slot)
        return .scalar(try text(slot), n.flatMap { $0.isFinite ? $0 : nil })
    }
}

/// Splits a list value on `separator`, trimming spaces and dropping empty elements.
func splitList(_ text: String, separator: String) -> [String] {
    text.components(separatedBy: separator)
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
}
