import Dispatch
import Foundation

/// The project's one parallel-for: loop bodies over the machine's cores with
/// `DispatchQueue.concurrentPerform` (about 0.5 us of overhead a call on two cores, far below
/// task groups). Bodies run concurrently for distinct indices and must only write memory no other
/// index writes. ``forEach(chunks:_:)`` and ``forRanges(_:minimumChunk:_:)`` take `@Sendable`
/// bodies; ``for(_:_:)`` and ``ranges(_:threads:grain:_:)`` take any body (raw pointers captured
/// freely), handed to Dispatch through an unchecked box: race freedom is the caller's contract.
public enum Parallel {
    /// Active processor count, read once.
    public static let processorCount: Int = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
    public static var coreCount: Int { processorCount }

    /// `threads` clamped to 1...processorCount*4; nil means all processors.
    public static func resolve(_ threads: Int?) -> Int {
        Swift.max(1, Swift.min(threads ?? processorCount, processorCount * 4))
    }

    /// Calls `body(i)` for every i in 0..<iterations, concurrently when `iterations > 1`.
    /// Runs inline (no dispatch) for a single iteration. O(iterations) calls.
    public static func `for`(_ iterations: Int, _ body: (Int) -> Void) {
        if iterations <= 0 { return }
        if iterations == 1 { body(0); return }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedBox(escapable)
            DispatchQueue.concurrentPerform(iterations: iterations) { box.value($0) }
        }
    }

    /// Splits 0..<total into at most `threads` contiguous ranges, each a multiple of `grain`
    /// long (except the last), and calls `body` on each concurrently. Uses fewer ranges when
    /// `total` is small, and runs inline when only one range results.
    public static func ranges(_ total: Int, threads: Int?, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        if total <= 0 { return }
        let g = Swift.max(1, grain)
        let units = (total + g - 1) / g
        let parts = Swift.min(resolve(threads), units)
        if parts <= 1 { body(0..<total); return }
        let per = units / parts, extra = units % parts
        self.for(parts) { p in
            let startUnit = p * per + Swift.min(p, extra)
            let endUnit = startUnit + per + (p < extra ? 1 : 0)
            body((startUnit * g)..<Swift.min(endUnit * g, total))
        }
    }

    public static func forEach(chunks: Int, _ body: @Sendable (Int) -> Void) {
        if chunks <= 1 {
            if chunks == 1 { body(0) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks, execute: body)
    }

    /// Runs `body(chunk, range)` for consecutive chunks of `chunkSize` of `0..<count` on all
    /// cores. Each chunk has its own index, so work that seeds a generator from the chunk index
    /// gives the same result whatever the number of threads or the order they run in.
    public static func forEachChunk(count: Int, chunkSize: Int, _ body: @Sendable (Int, Range<Int>) -> Void) {
        let size = Swift.max(1, chunkSize)
        let chunks = (count + size - 1) / size
        forEach(chunks: chunks) { c in body(c, (c * size)..<Swift.min(count, (c + 1) * size)) }
    }

    /// Splits `0..<count` into about `coreCount * 4` contiguous ranges (load balance for skewed
    /// work) and runs them in parallel.
    public static func forRanges(_ count: Int, minimumChunk: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let pieces = max(1, min(coreCount * 4, count / max(1, minimumChunk)))
        let size = (count + pieces - 1) / pieces
        forEach(chunks: pieces) { p in
            let lo = p * size, hi = min(count, lo + size)
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Carries a non-Sendable value (a closure, a raw pointer) across a concurrency boundary.
/// The holder promises that concurrent use is race-free.
public struct UncheckedBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// A raw pointer that may cross into concurrent chunks; each chunk writes a disjoint part.
public struct SendablePointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    public init(_ buffer: UnsafeMutableBufferPointer<T>) { base = buffer.baseAddress! }
    @inlinable public subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}

/// Fixed slots written by concurrent chunks, each chunk its own slot.
public final class ConcurrentSlots<T: Sendable>: @unchecked Sendable {
    private let base: UnsafeMutablePointer<T>
    private let count: Int
    public init(count: Int, initial: T) {
        self.count = count
        base = .allocate(capacity: max(1, count))
        base.initialize(repeating: initial, count: count)
    }
    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }
    public func set(_ i: Int, _ v: T) { base[i] = v }
    public var values: [T] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
