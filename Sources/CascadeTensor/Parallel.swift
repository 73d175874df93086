import Dispatch
import Foundation

/// Runs loop bodies over the machine's cores with `DispatchQueue.concurrentPerform`
/// (about 0.5 us of overhead per call on two cores, far less than task groups).
///
/// Bodies are called concurrently for distinct indices; they must not write the same memory.
/// Raw pointers may be captured freely: the closures are handed to Dispatch through an
/// unchecked box, so data-race freedom is the caller's contract rather than the compiler's.
public enum Parallel {
    /// Active processor count, read once.
    public static let processorCount: Int = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)

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
}

/// Carries a non-Sendable value (a closure, a raw pointer) across a concurrency boundary.
/// The holder promises that concurrent use is race-free.
public struct UncheckedBox<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// Reusable 64-byte-aligned scratch buffers (GEMM packing, temporaries), so hot calls do not
/// allocate and fault in fresh pages every time. Thread-safe; keeps at most a few buffers.
final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()
    private let lock = NSLock()
    private var free: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []
    private let keep = 8

    /// Lends a buffer of at least `count` floats (contents unspecified) for the duration of `body`.
    func with<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let buffer = take(Swift.max(count, 16))
        defer { give(buffer) }
        return try body(buffer.pointer)
    }

    private func take(_ count: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        lock.lock()
        if let i = free.firstIndex(where: { $0.capacity >= count }) {
            let b = free.remove(at: i)
            lock.unlock()
            return b
        }
        lock.unlock()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        return (raw.bindMemory(to: Float.self, capacity: count), count)
    }

    private func give(_ b: (pointer: UnsafeMutablePointer<Float>, capacity: Int)) {
        lock.lock()
        free.append(b)
        var dropped: UnsafeMutablePointer<Float>?
        if free.count > keep {
            // Drop the smallest so the pool converges on buffers big enough for the workload.
            let i = free.indices.min(by: { free[$0].capacity < free[$1].capacity })!
            dropped = free.remove(at: i).pointer
        }
        lock.unlock()
        if let d = dropped { UnsafeMutableRawPointer(d).deallocate() }
    }
}
