import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory of an HNSW graph: fixed-size node blocks in one aligned allocation, plus small
/// per-node arrays for the upper layers.
///
/// Block of node `i` (`blockBytes`, a multiple of 64 so every block starts on a cache line):
/// ```
/// [ vector: dp Float32 (zero padded) | layer-0 links: count, then M0 Int32 slots | padding ]
/// ```
/// The links follow the vector so the hardware's next-line prefetch, triggered by the distance
/// computation, tends to bring a node's links in before the node is expanded. Upper-layer links
/// of a node with level `L > 0` are `L` rows of `1 + M` Int32 (`count`, then the slots) in their own
/// allocation. Labels (caller ids), levels, tombstones and one spin lock per node sit in parallel
/// arrays. Memory: N * blockBytes + ~N * (M + 1) * 4 / ln(M) for the upper layers + 13 N bytes.
final class HNSWGraph: @unchecked Sendable {
    let dp: Int
    let M: Int
    let M0: Int
    let blockBytes: Int
    private(set) var capacity = 0
    /// Slots in use (live and tombstoned nodes).
    var count = 0
    private(set) var blocks: UnsafeMutableRawPointer
    private(set) var upper: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    private(set) var levels: UnsafeMutablePointer<Int32>
    private(set) var labels: UnsafeMutablePointer<Int32>
    private(set) var deleted: UnsafeMutablePointer<UInt8>
    private(set) var locks: UnsafeMutablePointer<Atomic<UInt32>>

    init(dp: Int, M: Int, capacity: Int = 0) {
        self.dp = dp
        self.M = M
        M0 = 2 * M
        blockBytes = (dp * 4 + (1 + 2 * M) * 4 + 63) & ~63
        blocks = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        upper = .allocate(capacity: 1)
        levels = .allocate(capacity: 1)
        labels = .allocate(capacity: 1)
        deleted = .allocate(capacity: 1)
        locks = .allocate(capacity: 1)
        reserve(max(capacity, 1))
    }

    deinit {
        for i in 0..<count { upper[i]?.deallocate() }
        blocks.deallocate()
        upper.deallocate()
        levels.deallocate()
        labels.deallocate()
        deleted.deallocate()
        locks.deinitialize(count: capacity)
        locks.deallocate()
    }

    /// Grows the arrays to hold `n` nodes. Must not run concurrently with anything. O(count).
    func reserve(_ n: Int) {
        guard n > capacity else { return }
        let nb = UnsafeMutableRawPointer.allocate(byteCount: n * blockBytes, alignment: 64)
        nb.copyMemory(from: blocks, byteCount: count * blockBytes)
        (nb + count * blockBytes).initializeMemory(as: UInt8.self, repeating: 0, count: (n - count) * blockBytes)
        blocks.deallocate()
        blocks = nb
        func grow<T>(_ p: UnsafeMutablePointer<T>, _ zero: T) -> UnsafeMutablePointer<T> {
            let q = UnsafeMutablePointer<T>.allocate(capacity: n)
            q.moveInitialize(from: p, count: count)
            (q + count).initialize(repeating: zero, count: n - count)
            p.deallocate()
            return q
        }
        upper = grow(upper, nil)
        levels = grow(levels, 0)
        labels = grow(labels, -1)
        deleted = grow(deleted, 0)
        let nl = UnsafeMutablePointer<Atomic<UInt32>>.allocate(capacity: n)
        for i in 0..<n { (nl + i).initialize(to: Atomic(0)) }
        locks.deinitialize(count: capacity)
        locks.deallocate()
        locks = nl
        capacity = n
    }

    /// Claims slot `count` for a node: copies its padded vector, sets label and level, and gives it
    /// empty link lists on every layer. Must not run concurrently with anything. O(dp + level M).
    func append(vector: UnsafePointer<Float>, label: Int32, level: Int) {
        if count == capacity { reserve(max(16, capacity + capacity / 2)) }
        let i = count
        let block = blocks + i * blockBytes
        block.initializeMemory(as: UInt8.self, repeating: 0, count: blockBytes)
        block.assumingMemoryBound(to: Float.self).update(from: vector, count: dp)
        labels[i] = label
        levels[i] = Int32(level)
        deleted[i] = 0
        if level > 0 {
            let rows = UnsafeMutablePointer<Int32>.allocate(capacity: level * (M + 1))
            rows.initialize(repeating: 0, count: level * (M + 1))
            upper[i] = rows
        } else {
            upper[i] = nil
        }
        count += 1
    }

    /// A copy of the pointers for hot loops (no class access inside them).
    var view: HNSWView {
        HNSWView(blocks: blocks, blockBytes: blockBytes, dp: dp, M: M, M0: M0, upper: upper, levels: levels,
                 deleted: deleted, locks: locks)
    }
}

/// Plain pointers into an `HNSWGraph`, valid while the graph is not resized.
struct HNSWView: @unchecked Sendable {
    let blocks: UnsafeMutableRawPointer
    let blockBytes: Int
    let dp: Int
    let M: Int
    let M0: Int
    let upper: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    let levels: UnsafeMutablePointer<Int32>
    let deleted: UnsafeMutablePointer<UInt8>
    let locks: UnsafeMutablePointer<Atomic<UInt32>>

    @inline(__always)
    func vector(_ i: Int32) -> UnsafeMutablePointer<Float> {
        (blocks + Int(i) * blockBytes).assumingMemoryBound(to: Float.self)
    }

    /// The link row of node `i` on `level`: element 0 is the count, then the neighbour slots.
    @inline(__always)
    func links(_ i: Int32, _ level: Int) -> UnsafeMutablePointer<Int32> {
        if level == 0 {
            return (blocks + Int(i) * blockBytes + dp * 4).assumingMemoryBound(to: Int32.self)
        }
        return upper[Int(i)].unsafelyUnwrapped + (level - 1) * (M + 1)
    }

    @inline(__always)
    func maxDegree(_ level: Int) -> Int { level == 0 ? M0 : M }

    /// Spin lock of node `i`, guarding its link rows during a parallel build.
    @inline(__always)
    func lock(_ i: Int32) {
        let l = Int(i)
        while !locks[l].compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            var spins = 0
            while locks[l].load(ordering: .relaxed) != 0 {
                spins += 1
                if spins == 256 {
                    sched_yield()
                    spins = 0
                }
            }
        }
    }

    @inline(__always)
    func unlock(_ i: Int32) { locks[Int(i)].store(0, ordering: .releasing) }
}
