import CascadeCore
import Foundation

/// Inverted-file index with exact vectors ("IVF-Flat"; J. Sivic and A. Zisserman, "Video Google",
/// ICCV 2003, for inverted files; H. Jegou, M. Douze and C. Schmid, IEEE TPAMI 33(1), 2011, for the
/// coarse quantizer over vectors).
///
/// A k-means coarse quantizer (`KMeans`, trained on a sample) splits space into `nlist` cells;
/// every vector is stored in the list of its nearest centroid. A query ranks the centroids and
/// scans the `nprobe` nearest lists exactly. Centroids are compared with the index metric for both
/// assignment and probing (negated dot product for inner product and cosine, spherical k-means for
/// cosine).
///
/// Parameters:
/// - `nlist` (default `sqrt(N)` of the first training batch, at least 1): more lists make each
///   probe cheaper but need more probes for the same recall.
/// - `nprobe` (default 16): lists scanned per query, the recall/speed knob; override per call.
/// - `trainingPointsPerList` (default 64) and `iterations` (default 10, as faiss's IVF quantizer) size the k-means run.
///
/// Training happens on the first `add` (or an explicit `train`) and needs at least `nlist` rows.
/// Complexity: train O(iterations * sample * nlist * d); add O(n nlist d); search
/// O(nlist d + nprobe (N / nlist) d) per query; remove O(d) per id; memory 4 N d + 4 nlist d bytes.
public final class IVFIndex: VectorIndex, @unchecked Sendable {
    public struct Parameters: Sendable, Equatable {
        public var nlist: Int?
        public var nprobe: Int
        public var trainingPointsPerList: Int
        public var iterations: Int
        public var seed: UInt64

        public init(nlist: Int? = nil, nprobe: Int = 16, trainingPointsPerList: Int = 64, iterations: Int = 10,
                    seed: UInt64 = 1234)
        {
            self.nlist = nlist
            self.nprobe = nprobe
            self.trainingPointsPerList = trainingPointsPerList
            self.iterations = iterations
            self.seed = seed
        }
    }

    /// One inverted list: ids and padded rows in the same order.
    struct List {
        var ids: [Int32] = []
        var rows: [Float] = []
    }

    public let dimension: Int
    public let metric: VectorMetric
    public let parameters: Parameters
    let dp: Int
    var centroids: [Float] = []
    var lists: [List] = []
    /// id -> (list << 32 | position).
    var location: [Int32: UInt64] = [:]
    let rw = ReadWriteLock()

    public init(dimension: Int, metric: VectorMetric, parameters: Parameters = Parameters()) throws(CascadeError) {
        guard dimension > 0 else { throw .invalid("IVF: dimension must be positive, got \(dimension)") }
        if let nl = parameters.nlist, nl < 1 { throw .invalid("IVF: nlist must be positive, got \(nl)") }
        guard parameters.nprobe >= 1 else { throw .invalid("IVF: nprobe must be positive") }
        guard parameters.trainingPointsPerList >= 1, parameters.iterations >= 0 else {
            throw .invalid("IVF: trainingPointsPerList must be positive and iterations non-negative")
        }
        self.dimension = dimension
        self.metric = metric
        self.parameters = parameters
        dp = DistanceKernels.paddedDimension(dimension)
    }

    public var count: Int { rw.reading { location.count } }
    public var supportsRemoval: Bool { true }
    public var isTrained: Bool { rw.reading { !lists.isEmpty } }
    /// Number of inverted lists (0 before training).
    public var listCount: Int { rw.reading { lists.count } }

    /// Trains the coarse quantizer on (a sample of) `vectors`; replaces nothing once trained.
    public func train(_ vectors: [Float], threads: Int = Parallel.coreCount) throws(CascadeError) {
        let (n, padded) = try VectorBatch.prepare(vectors, dimension: dimension, metric: metric, role: "train")
        try rw.writing { () throws(CascadeError) in try trainLocked(padded, rows: n, threads: threads) }
    }

    private func trainLocked(_ padded: [Float], rows n: Int, threads: Int) throws(CascadeError) {
        guard lists.isEmpty else { throw .invalid("train: the IVF index is already trained") }
        let nlist = parameters.nlist ?? max(1, Int(Double(n).squareRoot()))
        guard n >= nlist else { throw .invalid("train: \(n) rows cannot train \(nlist) lists; give at least \(nlist)") }
        let sampleSize = min(n, max(nlist, nlist * parameters.trainingPointsPerList))
        var sample = [Float]()
        if sampleSize == n {
            sample = padded
        } else {
            var rng = SplitMix(seed: parameters.seed ^ 0x5EED)
            var order = Array(0..<n)
            for i in 0..<sampleSize { order.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
            sample.reserveCapacity(sampleSize * dp)
            for i in 0..<sampleSize { sample.append(contentsOf: padded[(order[i] * dp)..<((order[i] + 1) * dp)]) }
        }
        centroids = sample.withUnsafeBufferPointer {
            KMeans.train(points: $0.baseAddress!, count: sampleSize, dp: dp, k: nlist, iterations: parameters.iterations,
                         seed: parameters.seed, spherical: metric == .cosine, threads: threads)
        }
        lists = [List](repeating: List(), count: nlist)
    }

    public func add(_ vectors: [Float], ids: [Int32]) throws(CascadeError) {
        try add(vectors, ids: ids, threads: Parallel.coreCount)
    }

    /// Adds a batch, training first when untrained; assignment runs over `threads` workers.
    public func add(_ vectors: [Float], ids: [Int32], threads: Int) throws(CascadeError) {
        guard threads > 0 else { throw .invalid("add: threads must be positive, got \(threads)") }
        let (n, padded) = try VectorBatch.prepare(vectors, dimension: dimension, metric: metric, role: "add", ids: ids)
        try rw.writing { () throws(CascadeError) in
            try VectorBatch.checkNewIds(ids, role: "add") { location[$0] != nil }
            if lists.isEmpty { try trainLocked(padded, rows: n, threads: threads) }
            let assignment = padded.withUnsafeBufferPointer { p in
                centroids.withUnsafeBufferPointer { c in
                    assign(p.baseAddress!, count: n, centroids: c.baseAddress!, threads: threads)
                }
            }
            for r in 0..<n {
                let l = Int(assignment[r])
                location[ids[r]] = UInt64(l) << 32 | UInt64(lists[l].ids.count)
                lists[l].ids.append(ids[r])
                lists[l].rows.append(contentsOf: padded[(r * dp)..<((r + 1) * dp)])
            }
        }
    }

    private func assign(_ p: UnsafePointer<Float>, count n: Int, centroids c: UnsafePointer<Float>, threads: Int) -> [Int32] {
        switch metric {
        case .l2: return KMeans.nearest(L2Space.self, queries: p, count: n, centroids: c, k: lists.count, dp: dp, threads: threads)
        case .innerProduct, .cosine:
            return KMeans.nearest(NegativeDotSpace.self, queries: p, count: n, centroids: c, k: lists.count, dp: dp,
                                  threads: threads)
        }
    }

    public func search(_ queries: [Float], k: Int, threads: Int) throws(CascadeError) -> [[VectorHit]] {
        try search(queries, k: k, nprobe: parameters.nprobe, threads: threads)
    }

    /// Searches the `nprobe` nearest lists of each query.
    public func search(_ queries: [Float], k: Int, nprobe: Int, threads: Int = 1) throws(CascadeError) -> [[VectorHit]] {
        try VectorBatch.checkSearch(k: k, threads: threads)
        guard nprobe > 0 else { throw .invalid("search: nprobe must be positive, got \(nprobe)") }
        let (nq, q) = try VectorBatch.prepare(queries, dimension: dimension, metric: metric, role: "search")
        return rw.reading {
            var out = [[VectorHit]](repeating: [], count: nq)
            guard !lists.isEmpty, nq > 0 else { return out }
            out.withUnsafeMutableBufferPointer { ob in
                let op = SendablePointer(ob.baseAddress!)
                q.withUnsafeBufferPointer { qb in
                    let qp = SendablePointer(UnsafeMutablePointer(mutating: qb.baseAddress!))
                    let workers = min(threads, nq)
                    let per = (nq + workers - 1) / workers
                    Parallel.forEach(chunks: workers) { w in
                        for i in (w * per)..<min(nq, (w + 1) * per) {
                            op[i] = self.searchOne(qp.base + i * self.dp, k: k, nprobe: nprobe)
                        }
                    }
                }
            }
            return out
        }
    }

    private func searchOne(_ q: UnsafePointer<Float>, k: Int, nprobe: Int) -> [VectorHit] {
        switch metric {
        case .l2: return searchOne(L2Space.self, q, k: k, nprobe: nprobe).map { (id: $0.id, score: -$0.score) }
        case .innerProduct, .cosine: return searchOne(NegativeDotSpace.self, q, k: k, nprobe: nprobe)
        }
    }

    /// Results as (id, -distance), best first.
    private func searchOne<S: DistanceSpace>(_: S.Type, _ q: UnsafePointer<Float>, k: Int, nprobe: Int) -> [VectorHit] {
        var probe = TopK(min(nprobe, lists.count))
        centroids.withUnsafeBufferPointer { c in
            for l in 0..<lists.count { probe.push(Int32(l), -S.distance(q, c.baseAddress! + l * dp, dp)) }
        }
        var heap = TopK(k)
        for p in probe.sorted() {
            let list = lists[Int(p.id)]
            guard !list.ids.isEmpty else { continue }
            list.rows.withUnsafeBufferPointer { rb in
                list.ids.withUnsafeBufferPointer { ib in
                    ExactScan.scan(S.self, queries: q, q0: 0, q1: 1, base: rb.baseAddress!, rows: 0..<ib.count,
                                   ids: ib.baseAddress, dp: dp, heaps: &heap)
                }
            }
        }
        return heap.sorted()
    }

    @discardableResult
    public func remove(ids: [Int32]) throws(CascadeError) -> Int {
        rw.writing {
            var removed = 0
            for id in ids {
                guard let loc = location.removeValue(forKey: id) else { continue }
                let l = Int(loc >> 32), pos = Int(loc & 0xFFFF_FFFF)
                let last = lists[l].ids.count - 1
                if pos != last {
                    let moved = lists[l].ids[last]
                    lists[l].ids[pos] = moved
                    location[moved] = UInt64(l) << 32 | UInt64(pos)
                    for c in 0..<dp { lists[l].rows[pos * dp + c] = lists[l].rows[last * dp + c] }
                }
                lists[l].ids.removeLast()
                lists[l].rows.removeLast(dp)
                removed += 1
            }
            return removed
        }
    }
}
