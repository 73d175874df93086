import CascadeCore
import Foundation

/// xoshiro256** (Blackman and Vigna, 2018): 256 bits of state, period 2^256 - 1, fast and of
/// high statistical quality. Every random choice of the simulator comes from one of these, seeded
/// from the world seed, so a world is a pure function of its ``SimConfig``.
///
/// Distribution helpers are written out here (rather than taken from the standard library) so
/// their output is pinned: `uniform()` uses the top 53 bits, `below(n)` uses Lemire's
/// multiply-shift with rejection, `normal()` is Box-Muller with the spare value cached.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spare: Double = 0
    private var hasSpare = false

    /// Seeds the state with four SplitMix64 outputs (never all zero).
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// An independent stream for `(stream, index)` under `seed`: used to give each purpose and each
    /// chunk of entities its own generator, so work can be split across threads without changing
    /// the result.
    public init(seed: UInt64, stream: UInt64, index: UInt64 = 0) {
        let a = SplitMix64.mix(seed &+ 0x632B_E59B_D9B4_E019 &* (stream &+ 1))
        let b = SplitMix64.mix(a ^ (index &* 0xD1B5_4A32_D192_ED03 &+ 0x8CB9_2BA7_2F3D_8DD7))
        self.init(seed: b)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func uniformFloat() -> Float { Float(next() >> 40) * 0x1.0p-24 }

    /// Uniform in `0..<n` (n > 0), unbiased (Lemire, 2019).
    @inline(__always)
    public mutating func below(_ n: Int) -> Int {
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// True with probability `p`.
    @inline(__always)
    public mutating func chance(_ p: Float) -> Bool { uniformFloat() < p }

    /// True with probability `p`.
    @inline(__always)
    public mutating func chance(_ p: Double) -> Bool { uniform() < p }

    /// Standard normal, Box-Muller: `r = sqrt(-2 ln u1)`, values `r cos(2 pi u2)` and `r sin(2 pi u2)`.
    public mutating func normal() -> Double {
        if hasSpare { hasSpare = false; return spare }
        let u1 = 1.0 - uniform()           // (0, 1]
        let u2 = uniform()
        let r = (-2.0 * Foundation.log(u1)).squareRoot()
        let theta = 2.0 * Double.pi * u2
        spare = r * Foundation.sin(theta)
        hasSpare = true
        return r * Foundation.cos(theta)
    }

    /// Standard normal as a Float.
    @inline(__always)
    public mutating func normalFloat() -> Float { Float(normal()) }

    /// Exponential with mean 1.
    @inline(__always)
    public mutating func exponential() -> Double { -Foundation.log(1.0 - uniform()) }

    /// Pareto with minimum 1 and tail index `alpha`: `U^(-1/alpha)`.
    @inline(__always)
    public mutating func pareto(alpha: Double) -> Double { Foundation.pow(1.0 - uniform(), -1.0 / alpha) }

    /// Poisson with mean `lambda` (Knuth's product method; meant for small means, < 30).
    public mutating func poisson(_ lambda: Double) -> Int {
        let limit = Foundation.exp(-lambda)
        var k = 0
        var p = uniform()
        while p > limit && k < 1000 { k += 1; p *= uniform() }
        return k
    }
}
