/// Selects the `k` highest-scoring entries from a stream with a bounded min-heap:
/// O(n log k) time, O(k) memory. Ties break toward the smaller id so results are deterministic.
public struct TopK: Sendable {
    public let k: Int
    private var heap: [(score: Float, id: Int32)] = []

    public init(_ k: Int) {
        self.k = max(0, k)
        heap.reserveCapacity(self.k)
    }

    /// a ranks below b: lower score, or equal score and larger id.
    @inline(__always) static func below(_ a: (score: Float, id: Int32), _ b: (score: Float, id: Int32)) -> Bool {
        a.score < b.score || (a.score == b.score && a.id > b.id)
    }

    /// The lowest score kept, or -infinity while fewer than k are held.
    public var threshold: Float { heap.count < k ? -.infinity : heap[0].score }

    public mutating func push(_ id: Int32, _ score: Float) {
        guard k > 0, !score.isNaN else { return }
        let e = (score: score, id: id)
        if heap.count < k {
            heap.append(e)
            var i = heap.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                if Self.below(heap[i], heap[p]) { heap.swapAt(i, p); i = p } else { break }
            }
        } else if Self.below(heap[0], e) {
            heap[0] = e
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && Self.below(heap[l], heap[m]) { m = l }
                if r < heap.count && Self.below(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
    }

    /// The kept entries, best first.
    public func sorted() -> [(id: Int32, score: Float)] {
        heap.sorted { Self.below($1, $0) }.map { (id: $0.id, score: $0.score) }
    }
}
