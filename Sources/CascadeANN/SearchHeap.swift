/// One heap slot: a key and a node.
struct HeapEntry {
    var key: Float
    var node: Int32
}

/// A binary max-heap on `key` over a manually managed buffer, so a search reuses the same
/// memory across calls. Used twice by graph search: results keyed by distance (the worst on top)
/// and candidates keyed by negated distance (the nearest on top). Push and pop are O(log n);
/// the buffer doubles when full, which happens only while a scratch area warms up.
struct SearchHeap {
    private(set) var base: UnsafeMutablePointer<HeapEntry>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    /// Frees the buffer; the owner calls this once.
    func deallocate() { base.deallocate() }

    @inline(__always) var isEmpty: Bool { count == 0 }
    @inline(__always) var top: HeapEntry { base[0] }
    @inline(__always) mutating func removeAll() { count = 0 }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<HeapEntry>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }

    @inline(__always)
    mutating func push(_ key: Float, _ node: Int32) {
        if count == capacity { grow() }
        var i = count
        count += 1
        while i > 0 {
            let p = (i - 1) >> 1
            if base[p].key >= key { break }
            base[i] = base[p]
            i = p
        }
        base[i] = HeapEntry(key: key, node: node)
    }

    /// Removes and returns the entry with the largest key.
    @inline(__always)
    @discardableResult
    mutating func pop() -> HeapEntry {
        let result = base[0]
        count -= 1
        if count > 0 {
            let last = base[count]
            var i = 0
            while true {
                let l = 2 * i + 1
                if l >= count { break }
                var c = l
                if l + 1 < count && base[l + 1].key > base[l].key { c = l + 1 }
                if base[c].key <= last.key { break }
                base[i] = base[c]
                i = c
            }
            base[i] = last
        }
        return result
    }
}
