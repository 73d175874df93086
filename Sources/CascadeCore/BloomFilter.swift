import Foundation

/// A Bloom filter (Bloom, 1970) over 64-bit keys: no false negatives, false positives at a rate
/// set at construction. Used for exposure filtering: "has this user been shown this item?".
///
/// Sizing, for `n` expected keys and false-positive rate `p`:
/// - bits `m = ceil(-n ln p / (ln 2)^2)`
/// - hash functions `k = round((m / n) ln 2)`, at least 1
/// - the rate after inserting `x` keys is `(1 - e^(-k x / m))^k`.
/// For n = 10,000 and p = 1%: m = 95,851 bits (11.7 KiB), k = 7.
/// Probes use double hashing `h1 + i h2` (Kirsch and Mitzenmacher, 2006) from one 64-bit
/// SplitMix64 mix. Insert and lookup are O(k).
public struct BloomFilter: Sendable, Equatable {
    public let bitCount: Int
    public let hashCount: Int
    public private(set) var words: [UInt64]
    /// Keys inserted (counting repeats), used for the current false-positive estimate.
    public private(set) var insertedCount: Int = 0

    /// Bits needed for `n` keys at false-positive rate `p`.
    public static func optimalBitCount(expected n: Int, falsePositiveRate p: Double) -> Int {
        Int((-Double(max(1, n)) * Foundation.log(p) / (Foundation.log(2.0) * Foundation.log(2.0))).rounded(.up))
    }

    /// Hash functions minimising the false-positive rate for `m` bits and `n` keys.
    public static func optimalHashCount(bits m: Int, expected n: Int) -> Int {
        max(1, Int((Double(m) / Double(max(1, n)) * Foundation.log(2.0)).rounded()))
    }

    /// The false-positive rate after `n` insertions into `m` bits with `k` hashes.
    public static func falsePositiveRate(bits m: Int, hashes k: Int, inserted n: Int) -> Double {
        Foundation.pow(1 - Foundation.exp(-Double(k) * Double(n) / Double(m)), Double(k))
    }

    public init(expected n: Int, falsePositiveRate p: Double) throws(CascadeError) {
        guard n > 0 else { throw .invalid("Bloom filter: expected key count must be positive, got \(n)") }
        guard p > 0, p < 1 else { throw .invalid("Bloom filter: false-positive rate must be in (0, 1), got \(p)") }
        let m = Self.optimalBitCount(expected: n, falsePositiveRate: p)
        self.init(bits: m, hashes: Self.optimalHashCount(bits: m, expected: n))
    }

    public init(bits: Int, hashes: Int) {
        precondition(bits > 0 && hashes > 0, "Bloom filter needs positive bits and hashes")
        bitCount = bits
        hashCount = hashes
        words = [UInt64](repeating: 0, count: (bits + 63) / 64)
    }

    /// Restores a filter from its parts (see ``serialized()``).
    public init(bits: Int, hashes: Int, words: [UInt64], inserted: Int) throws(CascadeError) {
        guard bits > 0, hashes > 0, words.count == (bits + 63) / 64 else {
            throw .corrupt("Bloom filter: \(words.count) words do not hold \(bits) bits")
        }
        bitCount = bits
        hashCount = hashes
        self.words = words
        insertedCount = inserted
    }

    @inline(__always) static func mix(_ key: UInt64) -> UInt64 {
        var z = key &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func insert(_ key: UInt64) {
        let h = Self.mix(key)
        let h1 = h & 0xFFFF_FFFF, h2 = (h >> 32) | 1
        let m = UInt64(bitCount)
        for i in 0..<UInt64(hashCount) {
            let bit = Int((h1 &+ i &* h2) % m)
            words[bit >> 6] |= 1 << UInt64(bit & 63)
        }
        insertedCount += 1
    }

    public func contains(_ key: UInt64) -> Bool {
        let h = Self.mix(key)
        let h1 = h & 0xFFFF_FFFF, h2 = (h >> 32) | 1
        let m = UInt64(bitCount)
        for i in 0..<UInt64(hashCount) {
            let bit = Int((h1 &+ i &* h2) % m)
            if words[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
        }
        return true
    }

    public mutating func insert(_ key: Int32) { insert(UInt64(UInt32(bitPattern: key))) }
    public func contains(_ key: Int32) -> Bool { contains(UInt64(UInt32(bitPattern: key))) }

    /// Keys given as text (external ids) hash with FNV-1a first.
    public mutating func insert(_ key: String) { insert(Self.fnv1a(key)) }
    public func contains(_ key: String) -> Bool { contains(Self.fnv1a(key)) }

    /// FNV-1a, 64-bit: the hash of text keys.
    public static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// The expected false-positive rate at the current fill.
    public var currentFalsePositiveRate: Double {
        Self.falsePositiveRate(bits: bitCount, hashes: hashCount, inserted: insertedCount)
    }
}
