/// Reusable per-thread memory for one graph search or insertion, so the hot loops allocate
/// nothing: a visited set as generation tags (a node is visited when its tag equals the current
/// one; bumping the tag clears the set in O(1), with a full reset every 65,535 uses), the two
/// heaps, and small buffers for neighbour ids, distances and sorted candidates.
final class HNSWScratch {
    private(set) var visited: UnsafeMutablePointer<UInt16>
    private(set) var visitedCapacity: Int
    private var tag: UInt16 = 0
    var candidates = SearchHeap(capacity: 256)
    var results = SearchHeap(capacity: 256)
    /// Neighbour ids gathered from one link row (at most `M0 + 1`).
    let ids: UnsafeMutablePointer<Int32>
    /// Distances matching `ids`.
    let distances: UnsafeMutablePointer<Float>
    /// Candidates in ascending distance, sized for `max(ef, M0 + 1)` entries.
    private(set) var sorted: UnsafeMutablePointer<HeapEntry>
    private(set) var sortedCapacity: Int
    /// Neighbours chosen by the selection heuristic.
    let selected: UnsafeMutablePointer<Int32>
    /// A padded query row.
    let query: UnsafeMutablePointer<Float>

    init(nodes: Int, M0: Int, dp: Int) {
        visitedCapacity = max(nodes, 16)
        visited = .allocate(capacity: visitedCapacity)
        visited.initialize(repeating: 0, count: visitedCapacity)
        ids = .allocate(capacity: M0 + 2)
        distances = .allocate(capacity: M0 + 2)
        selected = .allocate(capacity: M0 + 2)
        sortedCapacity = 256
        sorted = .allocate(capacity: sortedCapacity)
        query = .allocate(capacity: dp)
        query.initialize(repeating: 0, count: dp)
    }

    deinit {
        visited.deallocate()
        candidates.deallocate()
        results.deallocate()
        ids.deallocate()
        distances.deallocate()
        selected.deallocate()
        sorted.deallocate()
        query.deallocate()
    }

    /// Makes room for `nodes` visited flags and `entries` sorted candidates.
    func prepare(nodes: Int, entries: Int) {
        if nodes > visitedCapacity {
            visited.deallocate()
            visitedCapacity = max(nodes, visitedCapacity + visitedCapacity / 2)
            visited = .allocate(capacity: visitedCapacity)
            visited.initialize(repeating: 0, count: visitedCapacity)
            tag = 0
        }
        if entries > sortedCapacity {
            sorted.deallocate()
            sortedCapacity = entries
            sorted = .allocate(capacity: entries)
        }
    }

    /// Starts a new visited set and returns its tag. O(1) amortised.
    @inline(__always)
    func nextTag() -> UInt16 {
        tag &+= 1
        if tag == 0 {
            visited.update(repeating: 0, count: visitedCapacity)
            tag = 1
        }
        return tag
    }

    /// Moves the results heap into `sorted`, nearest first, and returns how many there are.
    func drainResultsSorted() -> Int {
        let n = results.count
        if n > sortedCapacity { prepare(nodes: 0, entries: n) }
        var i = n
        while !results.isEmpty {
            i -= 1
            sorted[i] = results.pop()
        }
        return n
    }
}

/// A stack of scratch areas shared by concurrent searches.
final class HNSWScratchPool: @unchecked Sendable {
    private let mutex = PlainMutex()
    private var free: [HNSWScratch] = []

    func take(nodes: Int, M0: Int, dp: Int, entries: Int) -> HNSWScratch {
        let s = mutex.withLock { free.popLast() } ?? HNSWScratch(nodes: nodes, M0: M0, dp: dp)
        s.prepare(nodes: nodes, entries: entries)
        return s
    }

    func give(_ s: HNSWScratch) { mutex.withLock { free.append(s) } }

    /// Drops every cached area (after the dimension or degree changed, or to release memory).
    func clear() { mutex.withLock { free.removeAll() } }
}
