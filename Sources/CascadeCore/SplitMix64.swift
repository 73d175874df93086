/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA
/// 2014): a 64-bit counter passed through a strong mixer. The one small seeded generator of the
/// project (initialisers, sampling, HNSW levels, simulated worlds' seeds): its output for a state
/// is fixed by the algorithm, so results are identical on every machine. Not for cryptography.
/// O(1) per draw; `@inlinable` so hot loops of other modules inline it.
@frozen
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The whole generator state (saved where a stream must continue, e.g. HNSW graphs).
    public var state: UInt64

    @inlinable public init(seed: UInt64) { state = seed }

    /// An independent stream of `seed` (e.g. one per thread or request).
    @inlinable public init(seed: UInt64, stream: UInt64) {
        state = Self.mix(seed ^ Self.mix(stream &+ 0x9E37_79B9_7F4A_7C15))
    }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finaliser: a bijection on 64-bit words with full avalanche.
    @inlinable @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inlinable @inline(__always)
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable @inline(__always)
    public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in 0..<n (n > 0), by multiply-shift (bias below 2^-32 for n < 2^32).
    @inlinable @inline(__always)
    public mutating func below(_ n: Int) -> Int { Int(((next() >> 32) &* UInt64(n)) >> 32) }
}
