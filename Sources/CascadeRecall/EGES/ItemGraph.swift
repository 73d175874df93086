import CascadeCore

/// The directed, weighted item graph of EGES (Wang et al., KDD 2018, section 2.1): each user's
/// positive events (type weight > 0) in time order are cut into sessions wherever two
/// consecutive events are more than `sessionGap` seconds apart, and every pair of consecutive
/// distinct items i, j in a session adds 1 to the weight of edge i -> j.
///
/// Stored as CSR by source, targets ascending, with running sums of the weights so a random walk
/// picks an out-neighbour proportionally to weight by one binary search.
public struct ItemGraph: Sendable, Equatable {
    public let nodeCount: Int
    /// Out-edges of i are `targets[offsets[i]..<offsets[i + 1]]`, with `weights` alongside.
    public let offsets: [Int]
    public let targets: [Int32]
    public let weights: [Float]
    /// Per edge, the sum of the weights of its row up to and including it.
    let cumulative: [Float]

    public init(nodeCount: Int, offsets: [Int], targets: [Int32], weights: [Float]) {
        self.nodeCount = nodeCount
        self.offsets = offsets
        self.targets = targets
        self.weights = weights
        var c = [Float](repeating: 0, count: weights.count)
        for i in 0..<nodeCount {
            var s: Float = 0
            for e in offsets[i]..<offsets[i + 1] { s += weights[e]; c[e] = s }
        }
        cumulative = c
    }

    public var edgeCount: Int { targets.count }

    public func outDegree(_ i: Int32) -> Int { offsets[Int(i) + 1] - offsets[Int(i)] }

    /// The weight of edge i -> j, 0 when absent. O(log degree).
    public func weight(from i: Int32, to j: Int32) -> Float {
        guard i >= 0, Int(i) < nodeCount else { return 0 }
        var lo = offsets[Int(i)], hi = offsets[Int(i) + 1]
        while lo < hi {
            let mid = (lo + hi) / 2
            if targets[mid] < j { lo = mid + 1 } else { hi = mid }
        }
        return lo < offsets[Int(i) + 1] && targets[lo] == j ? weights[lo] : 0
    }

    /// Builds the graph from `log` (users' events are ordered by timestamp, ties by position).
    /// O(n log n) for n events.
    public static func build(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float],
                             sessionGap: Double) -> ItemGraph {
        let (userOffsets, order) = log.indexByUser(userCount: userCount)
        var counts: [UInt64: Float] = [:]
        for u in 0..<userCount {
            var previous: Int32 = -1
            var previousTime = -Double.infinity
            for p in userOffsets[u]..<userOffsets[u + 1] {
                let e = order[p]
                let t = Int(log.types[e])
                guard t < typeWeights.count, typeWeights[t] > 0 else { continue }
                let item = log.items[e]
                guard item >= 0, Int(item) < itemCount else { continue }
                let time = log.timestamps[e]
                if time - previousTime > sessionGap { previous = -1 }
                if previous >= 0 && previous != item {
                    counts[UInt64(UInt32(previous)) << 32 | UInt64(UInt32(item)), default: 0] += 1
                }
                previous = item
                previousTime = time
            }
        }
        let keys = counts.keys.sorted()
        var offsets = [Int](repeating: 0, count: itemCount + 1)
        for k in keys { offsets[Int(k >> 32) + 1] += 1 }
        for i in 0..<itemCount { offsets[i + 1] += offsets[i] }
        return ItemGraph(nodeCount: itemCount, offsets: offsets, targets: keys.map { Int32(truncatingIfNeeded: $0 & 0xFFFF_FFFF) },
                         weights: keys.map { counts[$0]! })
    }

    /// An out-neighbour of `i` drawn proportionally to edge weight from `u` uniform in [0, 1);
    /// nil when `i` has no out-edges. O(log degree).
    @inline(__always) func step(from i: Int32, _ u: Float) -> Int32? {
        let lo0 = offsets[Int(i)], hi0 = offsets[Int(i) + 1]
        guard hi0 > lo0 else { return nil }
        let x = u * cumulative[hi0 - 1]
        var lo = lo0, hi = hi0 - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > x { hi = mid } else { lo = mid + 1 }
        }
        return targets[lo]
    }

    /// A weighted random walk of at most `length` nodes from `start` into `out` (it stops early
    /// at a node without out-edges); returns the number of nodes written.
    func walk(from start: Int32, length: Int, into out: UnsafeMutablePointer<Int32>, rng: inout FactorRandom) -> Int {
        guard length > 0 else { return 0 }
        out[0] = start
        var n = 1
        var current = start
        while n < length, let next = step(from: current, rng.nextUnitFloat()) {
            out[n] = next
            current = next
            n += 1
        }
        return n
    }

    /// `walk(from:length:into:rng:)` into an array (tests and tools).
    func walk(from start: Int32, length: Int, rng: inout FactorRandom) -> [Int32] {
        var buffer = [Int32](repeating: 0, count: Swift.max(length, 0))
        let n = buffer.withUnsafeMutableBufferPointer { b in
            b.count == 0 ? 0 : walk(from: start, length: length, into: b.baseAddress!, rng: &rng)
        }
        return Array(buffer.prefix(n))
    }
}
