import CascadeCore
import Foundation

/// Little-endian appends to a growing byte buffer (the archive writer).
struct ArchiveWriter {
    var data = Data()

    mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) }
    }

    mutating func append(_ bytes: Data) { data.append(bytes) }

    /// Appends the elements of `t` as little-endian Float32 and returns their CRC-32.
    mutating func append(_ t: Tensor) -> UInt32 {
        let start = data.count
        #if _endian(little)
        t.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        #else
        t.withUnsafeBufferPointer { for x in $0 { append(x.bitPattern) } }
        #endif
        return data.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }
}

/// Bounds-checked little-endian reads from archive bytes; every failure names the file.
struct ArchiveReader {
    let bytes: UnsafeRawBufferPointer
    let path: String

    func u32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func u64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    func corrupt(_ reason: String) -> TensorError { .corruptFile(path: path, reason: reason) }

    /// Copies `count` Float32 values starting at byte `offset` into a new tensor of `shape`.
    func tensor(at offset: Int, shape: Shape) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let src = UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + shape.count * 4])
        #if _endian(little)
        t.withUnsafeMutableBufferPointer { UnsafeMutableRawBufferPointer($0).copyMemory(from: src) }
        #else
        for i in 0..<shape.count {
            t.base[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
        }
        #endif
        return t
    }
}
