import CascadeCore
import Foundation
import Synchronization

/// Hierarchical Navigable Small World graph (Yu. A. Malkov and D. A. Yashunin, "Efficient and
/// robust approximate nearest neighbor search using Hierarchical Navigable Small World graphs",
/// IEEE TPAMI 42(4), 2018).
///
/// Every vector is a node on layer 0 and, with probability `exp(-l / mL)` (`mL = 1 / ln M`), on
/// layers `1...l` too. A search descends greedily from the entry point through the sparse upper
/// layers, then runs a beam search of width `ef` on layer 0. Insertion searches the same way
/// with width `efConstruction` and links the new node to neighbours picked by the paper's
/// heuristic (Algorithm 4: keep a candidate only if it is closer to the new node than to every
/// neighbour kept so far), which keeps links pointing in diverse directions and the graph
/// navigable on clustered data; a neighbour whose list overflows is pruned by the same heuristic.
///
/// Parameters:
/// - `M` (default 16): links per node on upper layers; layer 0 allows `M0 = 2 M`. Higher M gives
///   better recall on hard (high intrinsic dimension) data at the cost of memory and build time;
///   8 to 48 is the useful range.
/// - `efConstruction` (default 200): beam width while inserting. Larger builds a better graph,
///   linearly slower. Recall at a given `ef` stops improving beyond a few hundred.
/// - `efSearch` (default 64): beam width of a query (at least `k`), the recall/speed knob; it can
///   be overridden per call.
///
/// Complexity: search about O(ef M0 d log N); insert about O(efConstruction M0 d log N), done in
/// parallel over `threads` with a spin lock per node guarding its link rows; memory about
/// N (4 d + 8 M + 20) bytes. Removal is a tombstone: the node keeps routing searches but is never
/// returned. Adding an id again after removing it stores a new node.
public final class HNSWIndex: VectorIndex, @unchecked Sendable {
    /// Construction and default search parameters (see the type's documentation).
    public struct Parameters: Sendable, Equatable {
        public var M: Int
        public var efConstruction: Int
        public var efSearch: Int
        /// Seed of the level draws, so a single-threaded build is reproducible.
        public var seed: UInt64

        public init(M: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 100) {
            self.M = M
            self.efConstruction = efConstruction
            self.efSearch = efSearch
            self.seed = seed
        }
    }

    public let dimension: Int
    public let metric: VectorMetric
    public let parameters: Parameters
    let dp: Int
    let graph: HNSWGraph
    /// Entry node (-1 while empty) and its level; guarded by `entryMutex` during a build.
    var entryPoint: Int32 = -1
    var maxLevel = -1
    var slotOf: [Int32: Int32] = [:]
    var tombstones = 0
    var levelRNG: SplitMix
    let rw = ReadWriteLock()
    let entryMutex = PlainMutex()
    let scratchPool = HNSWScratchPool()

    /// An empty index. Throws when a parameter is out of range.
    public init(dimension: Int, metric: VectorMetric, parameters: Parameters = Parameters()) throws(CascadeError) {
        guard dimension > 0 else { throw .invalid("HNSW: dimension must be positive, got \(dimension)") }
        guard (2...1024).contains(parameters.M) else { throw .invalid("HNSW: M must be in 2...1024, got \(parameters.M)") }
        guard parameters.efConstruction >= 1 else { throw .invalid("HNSW: efConstruction must be positive") }
        guard parameters.efSearch >= 1 else { throw .invalid("HNSW: efSearch must be positive") }
        self.dimension = dimension
        self.metric = metric
        self.parameters = parameters
        dp = DistanceKernels.paddedDimension(dimension)
        graph = HNSWGraph(dp: dp, M: parameters.M)
        levelRNG = SplitMix(seed: parameters.seed)
    }

    public var count: Int { rw.reading { slotOf.count } }
    public var supportsRemoval: Bool { true }

    /// Whether `id` is stored and not removed. O(1).
    public func contains(_ id: Int32) -> Bool { rw.reading { slotOf[id] != nil } }

    public func add(_ vectors: [Float], ids: [Int32]) throws(CascadeError) {
        try add(vectors, ids: ids, threads: Parallel.coreCount)
    }

    /// Adds a batch, inserting in parallel over `threads` workers. O(n efConstruction M0 d log N / threads).
    public func add(_ vectors: [Float], ids: [Int32], threads: Int) throws(CascadeError) {
        guard threads > 0 else { throw .invalid("add: threads must be positive, got \(threads)") }
        let (n, padded) = try VectorBatch.prepare(vectors, dimension: dimension, metric: metric, role: "add", ids: ids)
        try rw.writing { () throws(CascadeError) in
            try VectorBatch.checkNewIds(ids, role: "add") { slotOf[$0] != nil }
            guard graph.count + n <= Int(Int32.max) else { throw .invalid("add: index would exceed \(Int32.max) nodes") }
            let first = graph.count
            graph.reserve(first + n)
            padded.withUnsafeBufferPointer { p in
                for r in 0..<n {
                    graph.append(vector: p.baseAddress! + r * dp, label: ids[r], level: drawLevel())
                    slotOf[ids[r]] = Int32(first + r)
                }
            }
            switch metric {
            case .l2: build(L2Space.self, from: first, threads: threads)
            case .innerProduct, .cosine: build(NegativeDotSpace.self, from: first, threads: threads)
            }
        }
    }

    /// Level of a new node: floor(-ln(U) / ln(M)) for U uniform in (0, 1], drawn from a seeded
    /// SplitMix64 stream so levels depend only on the seed and insertion order.
    private func drawLevel() -> Int {
        let u = (Double(levelRNG.next() >> 11) + 1) / 9_007_199_254_740_992.0
        return min(30, Int(-Foundation.log(u) / Foundation.log(Double(parameters.M))))
    }

    /// Links the nodes `from..<graph.count`, already stored, into the graph.
    private func build<S: DistanceSpace>(_: S.Type, from first: Int, threads: Int) {
        var next = first
        if entryPoint < 0, next < graph.count {
            let s = takeScratch(entries: parameters.efConstruction)
            insert(S.self, node: Int32(next), scratch: s)
            scratchPool.give(s)
            next += 1
        }
        let total = graph.count - next
        guard total > 0 else {
            repairConnectivity(S.self)
            return
        }
        let workers = min(threads, total)
        let counter = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
        counter.initialize(to: Atomic(next))
        defer {
            counter.deinitialize(count: 1)
            counter.deallocate()
        }
        let shared = CounterPointer(base: counter)
        let end = graph.count
        Parallel.forEach(chunks: workers) { _ in
            let s = self.takeScratch(entries: self.parameters.efConstruction)
            while true {
                let i = shared.base.pointee.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= end { break }
                self.insert(S.self, node: Int32(i), scratch: s)
            }
            self.scratchPool.give(s)
        }
        repairConnectivity(S.self)
    }

    func takeScratch(entries: Int) -> HNSWScratch {
        scratchPool.take(nodes: graph.count, M0: graph.M0, dp: dp, entries: max(entries, graph.M0 + 2))
    }

    public func search(_ queries: [Float], k: Int, threads: Int) throws(CascadeError) -> [[VectorHit]] {
        try search(queries, k: k, ef: parameters.efSearch, threads: threads)
    }

    /// Searches with beam width `max(ef, k)` on layer 0.
    public func search(_ queries: [Float], k: Int, ef: Int, threads: Int = 1) throws(CascadeError) -> [[VectorHit]] {
        try VectorBatch.checkSearch(k: k, threads: threads)
        guard ef > 0 else { throw .invalid("search: ef must be positive, got \(ef)") }
        let (nq, q) = try VectorBatch.prepare(queries, dimension: dimension, metric: metric, role: "search")
        return rw.reading {
            var out = [[VectorHit]](repeating: [], count: nq)
            guard entryPoint >= 0, nq > 0 else { return out }
            let width = max(ef, k)
            out.withUnsafeMutableBufferPointer { ob in
                let optr = SendablePointer(ob.baseAddress!)
                q.withUnsafeBufferPointer { qb in
                    let qptr = SendablePointer(UnsafeMutablePointer(mutating: qb.baseAddress!))
                    let workers = min(threads, nq)
                    let per = (nq + workers - 1) / workers
                    Parallel.forEach(chunks: workers) { w in
                        let s = self.takeScratch(entries: width)
                        for i in (w * per)..<min(nq, (w + 1) * per) {
                            optr[i] = self.searchOne(qptr.base + i * self.dp, k: k, ef: width, scratch: s)
                        }
                        self.scratchPool.give(s)
                    }
                }
            }
            return out
        }
    }

    @discardableResult
    public func remove(ids: [Int32]) throws(CascadeError) -> Int {
        rw.writing {
            var removed = 0
            for id in ids {
                guard let slot = slotOf.removeValue(forKey: id) else { continue }
                graph.deleted[Int(slot)] = 1
                tombstones += 1
                removed += 1
            }
            return removed
        }
    }

    /// Number of removed nodes still in the graph.
    public var tombstoneCount: Int { rw.reading { tombstones } }
}

/// A shared atomic counter handed to the build workers.
private struct CounterPointer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Atomic<Int>>
}
