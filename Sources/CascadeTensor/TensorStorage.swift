/// A fixed-size, 64-byte-aligned heap buffer owned by tensors. Several tensors (views,
/// reshapes) may refer to one storage; it is freed when the last of them goes away.
///
/// Marked `@unchecked Sendable`: the buffer may be read from several threads at once, but
/// concurrent writes to overlapping elements are the caller's responsibility, as with any
/// shared mutable memory.
public final class TensorStorage<Element: BitwiseCopyable>: @unchecked Sendable {
    /// First element. Valid for `count` elements while this object is alive.
    public let pointer: UnsafeMutablePointer<Element>
    /// Number of elements allocated.
    public let count: Int

    /// Allocates `count` elements, each set to `value`. O(count).
    public init(count: Int, repeating value: Element) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: Swift.max(count, 1) * MemoryLayout<Element>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Element.self, capacity: Swift.max(count, 1))
        pointer.initialize(repeating: value, count: count)
    }

    /// Allocates `count` elements without initializing them (the caller writes every element
    /// before reading). O(1).
    public init(uninitializedCount count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: Swift.max(count, 1) * MemoryLayout<Element>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Element.self, capacity: Swift.max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// Deterministic pseudo-random source (SplitMix64) for initializers and tests; not for
/// cryptography. Same seed, same sequence on every platform.
public struct TensorRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }
}
