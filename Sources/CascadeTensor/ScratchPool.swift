import CascadeCore
import Foundation

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
