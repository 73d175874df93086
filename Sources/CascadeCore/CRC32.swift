import Foundation

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib and PNG), table driven.
/// O(n) with one table lookup per byte.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Checksum of `bytes`, continuing from `crc` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    /// Checksum of `data`.
    public static func checksum(_ data: Data) -> UInt32 { data.withUnsafeBytes { checksum($0) } }
}
