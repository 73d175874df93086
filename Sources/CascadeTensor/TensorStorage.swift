import CascadeCore
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

/// The deterministic pseudo-random source of initializers and tests: ``SplitMix64``.
public typealias TensorRandom = SplitMix64
