import CascadeCore
import Foundation

/// A whole CSV file as text columns: the header and, per column, one string per row. For
/// feature tables (ranking training data, the CTR judge's files) whose columns are not users,
/// items or events. Same dialect and errors as ``CSVFile`` (RFC 4180, quoted fields, BOM, CRLF);
/// a malformed row or a row with a different field count is a FILE:LINE error.
public struct CSVTable: Sendable {
    public let header: [String]
    /// `columns[c][r]`: the text of column c in row r (empty string for an empty field).
    public let columns: [[String]]
    /// 1-based source line of each row, for messages.
    public let lines: [Int]

    public var rowCount: Int { lines.count }

    /// Column `name`, or a clear error listing the columns the file has.
    public func column(_ name: String, file: String = "table") throws -> [String] {
        guard let i = header.firstIndex(of: name) else {
            throw CascadeError.invalid("\(file): no column '\(name)' (columns: \(header.joined(separator: ", ")))")
        }
        return columns[i]
    }

    /// Reads and parses `path`. O(bytes).
    public static func read(_ path: String, delimiter: Unicode.Scalar = ",") throws -> CSVTable {
        try parse(FileLoader.load(path), file: path, delimiter: delimiter)
    }

    /// Parses CSV bytes; `file` names them in messages.
    public static func parse(_ data: Data, file: String, delimiter: Unicode.Scalar = ",") throws -> CSVTable {
        guard delimiter.isASCII, delimiter != "\"", delimiter != "\n", delimiter != "\r" else {
            throw CascadeError.invalid("CSV delimiter must be an ASCII character other than a quote or a line break")
        }
        return try data.withBuffer { buf in
            var tokens = CSVTokenizer(buf, delimiter: UInt8(delimiter.value))
            var header: [String] = []
            switch tokens.next() {
            case .end: throw CascadeError.badInput(file: file, line: 0, reason: "file is empty (expected a header line)")
            case .bad(let line, let why): throw CascadeError.badInput(file: file, line: line, reason: "bad header: \(why)")
            case .record(let line):
                let row = CSVRow(buf: buf, fields: tokens.fields)
                for slot in 0..<tokens.fields.count {
                    guard let name = try? row.text(slot) else {
                        throw CascadeError.badInput(file: file, line: line, reason: "bad header: column \(slot + 1) is not valid UTF-8")
                    }
                    header.append(name.trimmingCharacters(in: .whitespaces))
                }
            }
            if let dup = Dictionary(grouping: header, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
                throw CascadeError.badInput(file: file, line: 1, reason: "column '\(dup)' appears twice in the header")
            }
            var columns = [[String]](repeating: [], count: header.count)
            var lines: [Int] = []
            loop: while true {
                switch tokens.next() {
                case .end: break loop
                case .bad(let line, let why): throw CascadeError.badInput(file: file, line: line, reason: why)
                case .record(let line):
                    guard tokens.fields.count == header.count else {
                        throw CascadeError.badInput(file: file, line: line,
                                                    reason: "\(tokens.fields.count) fields, the header has \(header.count)")
                    }
                    let row = CSVRow(buf: buf, fields: tokens.fields)
                    for c in 0..<header.count {
                        do { columns[c].append(try row.text(c)) } catch {
                            throw CascadeError.badInput(file: file, line: line, reason: (error as? RowError)?.reason ?? "\(error)")
                        }
                    }
                    lines.append(line)
                }
            }
            return CSVTable(header: header, columns: columns, lines: lines)
        }
    }
}
