import CascadeCore
import Foundation

/// TEXMEX vector files (the format of the SIFT/GIST benchmark sets, http://corpus-texmex.irisa.fr):
/// every row is a little-endian Int32 dimension `d` followed by `d` 4-byte components, Float32 in
/// `.fvecs` and Int32 in `.ivecs`. All rows of a file share one dimension. Reading checks every
/// row header and the file length, so a truncated or mixed file is a
/// ``CascadeError/badInput(file:line:reason:)`` naming the file and the row (1-based in `line`).
/// O(file size) time and memory.
public enum VectorFiles {
    /// A matrix read from a vector file: `count x dimension`, row-major.
    public struct Matrix<Element: Sendable>: Sendable {
        public var dimension: Int
        public var count: Int
        public var values: [Element]

        public init(dimension: Int, count: Int, values: [Element]) {
            self.dimension = dimension
            self.count = count
            self.values = values
        }
    }

    public static func readFvecs(_ path: String, limit: Int? = nil) throws(CascadeError) -> Matrix<Float> {
        let m = try read(path, limit: limit)
        return Matrix(dimension: m.dimension, count: m.count, values: m.values.map { Float(bitPattern: $0) })
    }

    public static func readIvecs(_ path: String, limit: Int? = nil) throws(CascadeError) -> Matrix<Int32> {
        let m = try read(path, limit: limit)
        return Matrix(dimension: m.dimension, count: m.count, values: m.values.map { Int32(bitPattern: $0) })
    }

    public static func writeFvecs(_ path: String, _ values: [Float], dimension: Int) throws(CascadeError) {
        try write(path, values.map(\.bitPattern), dimension: dimension)
    }

    public static func writeIvecs(_ path: String, _ values: [Int32], dimension: Int) throws(CascadeError) {
        try write(path, values.map { UInt32(bitPattern: $0) }, dimension: dimension)
    }

    /// Reads raw 4-byte words; `limit` stops after that many rows.
    private static func read(_ path: String, limit: Int?) throws(CascadeError) -> Matrix<UInt32> {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .badInput(file: path, line: 0, reason: "cannot read vector file: \(error.localizedDescription)")
        }
        if data.isEmpty { return Matrix(dimension: 0, count: 0, values: []) }
        var failure: CascadeError?
        let result: Matrix<UInt32> = data.withUnsafeBytes { raw in
            let size = raw.count
            guard size >= 4 else {
                failure = .badInput(file: path, line: 1, reason: "truncated: \(size) bytes, a row header needs 4")
                return Matrix(dimension: 0, count: 0, values: [])
            }
            let d = Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: Int32.self)))
            guard d > 0, d <= 1 << 24 else {
                failure = .badInput(file: path, line: 1, reason: "row 1 announces dimension \(d); expected a positive dimension")
                return Matrix(dimension: 0, count: 0, values: [])
            }
            let rowBytes = 4 * (d + 1)
            var rows = size / rowBytes
            if size % rowBytes != 0 {
                failure = .badInput(file: path, line: rows + 1,
                                    reason: "truncated: row \(rows + 1) has \(size % rowBytes) of its \(rowBytes) bytes (dimension \(d))")
                return Matrix(dimension: 0, count: 0, values: [])
            }
            if let limit { rows = min(rows, max(0, limit)) }
            var values = [UInt32](repeating: 0, count: rows * d)
            values.withUnsafeMutableBytes { out in
                for r in 0..<rows {
                    let header = Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: r * rowBytes, as: Int32.self)))
                    if header != d {
                        failure = .badInput(file: path, line: r + 1, reason: "row \(r + 1) announces dimension \(header), but row 1 has \(d)")
                        return
                    }
                    out.baseAddress!.advanced(by: r * d * 4)
                        .copyMemory(from: raw.baseAddress!.advanced(by: r * rowBytes + 4), byteCount: d * 4)
                }
            }
            return Matrix(dimension: d, count: rows, values: values)
        }
        if let failure { throw failure }
        return result
    }

    private static func write(_ path: String, _ words: [UInt32], dimension d: Int) throws(CascadeError) {
        guard d > 0, words.count % d == 0 else {
            throw .invalid("write \(path): \(words.count) values are not a whole number of \(d)-component rows")
        }
        let rows = words.count / d
        var bytes = [UInt8](repeating: 0, count: rows * 4 * (d + 1))
        bytes.withUnsafeMutableBytes { out in
            words.withUnsafeBytes { src in
                for r in 0..<rows {
                    out.storeBytes(of: UInt32(d).littleEndian, toByteOffset: r * 4 * (d + 1), as: UInt32.self)
                    out.baseAddress!.advanced(by: r * 4 * (d + 1) + 4)
                        .copyMemory(from: src.baseAddress!.advanced(by: r * d * 4), byteCount: d * 4)
                }
            }
        }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .badInput(file: path, line: 0, reason: "cannot write vector file: \(error.localizedDescription)")
        }
    }
}
