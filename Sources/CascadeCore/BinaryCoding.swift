import Foundation

/// Little-endian binary writer for model artifacts: a 4-byte magic, a format version, then
/// length-prefixed arrays of fixed-width numbers. Readers check every length against what is
/// left, so a truncated or foreign file is an error naming the artifact, never a crash.
public struct ByteWriter: Sendable {
    public private(set) var data = Data()

    public init(magic: String, version: UInt32) {
        precondition(magic.utf8.count == 4, "artifact magic must be 4 bytes")
        data.append(contentsOf: Array(magic.utf8))
        write(version)
    }

    public mutating func write<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) }
    }

    public mutating func write(_ v: Float) { write(v.bitPattern) }
    public mutating func write(_ v: Double) { write(v.bitPattern) }

    public mutating func write(_ s: String) {
        let bytes = Array(s.utf8)
        write(UInt64(bytes.count))
        data.append(contentsOf: bytes)
    }

    /// Writes a count then the raw little-endian elements (this code runs on little-endian CPUs only).
    public mutating func write<T: FixedWidthInteger>(array: [T]) {
        write(UInt64(array.count))
        array.withUnsafeBytes { data.append(contentsOf: $0) }
    }

    public mutating func write(array: [Float]) {
        write(UInt64(array.count))
        array.withUnsafeBytes { data.append(contentsOf: $0) }
    }

    public mutating func write(array: [Double]) {
        write(UInt64(array.count))
        array.withUnsafeBytes { data.append(contentsOf: $0) }
    }

    public mutating func write(strings: [String]) {
        write(UInt64(strings.count))
        for s in strings { write(s) }
    }
}

/// Reads what ``ByteWriter`` wrote; see there.
public struct ByteReader: Sendable {
    let data: Data
    var offset: Int
    let what: String
    public let version: UInt32

    /// Checks the magic and reads the version. `what` names the artifact in error messages.
    public init(_ data: Data, magic: String, what: String) throws(CascadeError) {
        self.data = data
        self.what = what
        offset = data.startIndex
        guard data.count >= 8 else { throw .corrupt("\(what): \(data.count) bytes is too short to be an artifact") }
        let head = String(decoding: data[offset..<offset + 4], as: UTF8.self)
        guard head == magic else { throw .corrupt("\(what): expected format '\(magic)', found '\(head)'") }
        offset += 4
        var v: UInt32 = 0
        let start = offset
        withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: data[start..<start + 4]) }
        offset += 4
        version = UInt32(littleEndian: v)
    }

    public var isAtEnd: Bool { offset == data.endIndex }

    mutating func take(_ n: Int, _ field: String) throws(CascadeError) -> Range<Int> {
        guard n >= 0, data.endIndex - offset >= n else {
            throw .corrupt("\(what): truncated while reading \(field) (needs \(n) bytes, \(data.endIndex - offset) left)")
        }
        defer { offset += n }
        return offset..<offset + n
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(CascadeError) -> T {
        let r = try take(MemoryLayout<T>.size, field)
        var v = T.zero
        withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: data[r]) }
        return T(littleEndian: v)
    }

    public mutating func readFloat(_ field: String) throws(CascadeError) -> Float { Float(bitPattern: try read(UInt32.self, field)) }
    public mutating func readDouble(_ field: String) throws(CascadeError) -> Double { Double(bitPattern: try read(UInt64.self, field)) }

    public mutating func readString(_ field: String) throws(CascadeError) -> String {
        let n = try read(UInt64.self, field)
        guard n <= UInt64(Int.max) else { throw .corrupt("\(what): impossible length \(n) for \(field)") }
        return String(decoding: data[try take(Int(n), field)], as: UTF8.self)
    }

    private mutating func readCount(_ field: String, size: Int) throws(CascadeError) -> Int {
        let n = try read(UInt64.self, field)
        guard n <= UInt64(data.endIndex - offset) / UInt64(max(1, size)) else {
            throw .corrupt("\(what): truncated while reading \(field) (\(n) elements announced)")
        }
        return Int(n)
    }

    public mutating func readArray<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(CascadeError) -> [T] {
        let n = try readCount(field, size: MemoryLayout<T>.size)
        let r = try take(n * MemoryLayout<T>.size, field)
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            _ = data[r].withUnsafeBytes { UnsafeMutableRawBufferPointer(buf).copyMemory(from: $0) }
            count = n
        }
    }

    public mutating func readFloats(_ field: String) throws(CascadeError) -> [Float] {
        try readArray(UInt32.self, field).map { Float(bitPattern: $0) }
    }

    public mutating func readDoubles(_ field: String) throws(CascadeError) -> [Double] {
        try readArray(UInt64.self, field).map { Double(bitPattern: $0) }
    }

    public mutating func readStrings(_ field: String) throws(CascadeError) -> [String] {
        let n = try readCount(field, size: 8)
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try readString(field)) }
        return out
    }
}
