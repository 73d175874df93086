import CascadeCore
import Foundation

/// Exact search by scanning every stored vector: the reference the approximate indexes are
/// measured against (as faiss's `IndexFlat`).
///
/// Vectors live in one contiguous padded buffer; search uses the blocked SIMD kernels of
/// `ExactScan`, threaded over query chunks (or over base ranges for a handful of queries).
/// Complexity: add O(n d); search O(nq N d / threads) time and O(nq k) memory; remove O(d) per id
/// (the last row moves into the hole, so row order is not preserved); memory 4 N d bytes.
public final class FlatIndex: VectorIndex, @unchecked Sendable {
    public let dimension: Int
    public let metric: VectorMetric
    let paddedDimension: Int
    private var rows: [Float] = []
    private var ids: [Int32] = []
    private var rowOf: [Int32: Int] = [:]
    private let rw = ReadWriteLock()

    /// An empty index for `dimension`-component vectors compared by `metric`.
    public init(dimension: Int, metric: VectorMetric) throws(CascadeError) {
        guard dimension > 0 else { throw .invalid("flat index: dimension must be positive, got \(dimension)") }
        self.dimension = dimension
        self.metric = metric
        paddedDimension = DistanceKernels.paddedDimension(dimension)
    }

    public var count: Int { rw.reading { ids.count } }
    public var supportsRemoval: Bool { true }

    /// Whether `id` is stored. O(1).
    public func contains(_ id: Int32) -> Bool { rw.reading { rowOf[id] != nil } }

    public func add(_ vectors: [Float], ids newIds: [Int32]) throws(CascadeError) {
        let (_, padded) = try VectorBatch.prepare(vectors, dimension: dimension, metric: metric, role: "add",
                                                  ids: newIds)
        try rw.writing { () throws(CascadeError) in
            try VectorBatch.checkNewIds(newIds, role: "add") { rowOf[$0] != nil }
            rows.append(contentsOf: padded)
            for (r, id) in newIds.enumerated() { rowOf[id] = ids.count + r }
            ids.append(contentsOf: newIds)
        }
    }

    public func search(_ queries: [Float], k: Int, threads: Int) throws(CascadeError) -> [[VectorHit]] {
        try VectorBatch.checkSearch(k: k, threads: threads)
        let (nq, q) = try VectorBatch.prepare(queries, dimension: dimension, metric: metric, role: "search")
        return rw.reading {
            q.withUnsafeBufferPointer { qb in
                rows.withUnsafeBufferPointer { rb in
                    ids.withUnsafeBufferPointer { ib in
                        guard let base = rb.baseAddress, let qbase = qb.baseAddress else {
                            return [[VectorHit]](repeating: [], count: nq)
                        }
                        return ExactScan.search(metric: metric, queries: qbase, nq: nq, base: base, nb: ib.count,
                                                ids: ib.baseAddress, dp: paddedDimension, k: k, threads: threads)
                    }
                }
            }
        }
    }

    @discardableResult
    public func remove(ids gone: [Int32]) throws(CascadeError) -> Int {
        rw.writing {
            var removed = 0
            let dp = paddedDimension
            for id in gone {
                guard let r = rowOf.removeValue(forKey: id) else { continue }
                let last = ids.count - 1
                if r != last {
                    let moved = ids[last]
                    ids[r] = moved
                    rowOf[moved] = r
                    for c in 0..<dp { rows[r * dp + c] = rows[last * dp + c] }
                }
                ids.removeLast()
                rows.removeLast(dp)
                removed += 1
            }
            return removed
        }
    }

    // MARK: artifact

    static let magic = "FLAT"
    static let version: UInt32 = 1

    /// Layout: dimension, metric, ids, then the (normalised for cosine) rows without padding.
    public func serialized() -> [UInt8] {
        rw.reading {
            var w = ByteWriter(magic: Self.magic, version: Self.version)
            w.write(UInt32(dimension))
            w.write(metric.code)
            w.write(array: ids)
            var flat = [Float]()
            flat.reserveCapacity(ids.count * dimension)
            for r in 0..<ids.count {
                flat.append(contentsOf: rows[r * paddedDimension ..< r * paddedDimension + dimension])
            }
            w.write(array: flat)
            return [UInt8](w.data)
        }
    }

    public static func load(_ bytes: [UInt8], what: String) throws(CascadeError) -> FlatIndex {
        var r = try ByteReader(Data(bytes), magic: magic, what: what)
        guard r.version == version else { throw .corrupt("\(what): unsupported flat index version \(r.version)") }
        let d = Int(try r.read(UInt32.self, "dimension"))
        guard d > 0, d <= 1 << 20 else { throw .corrupt("\(what): impossible dimension \(d)") }
        let metric = try VectorMetric(code: try r.read(UInt8.self, "metric"), what: what)
        let ids = try r.readArray(Int32.self, "ids")
        let flat = try r.readFloats("vectors")
        guard flat.count == ids.count * d else {
            throw .corrupt("\(what): \(flat.count) floats for \(ids.count) vectors of dimension \(d)")
        }
        guard r.isAtEnd else { throw .corrupt("\(what): unexpected bytes after the vectors") }
        let index = try FlatIndex(dimension: d, metric: metric)
        let dp = index.paddedDimension
        var rows = [Float](repeating: 0, count: ids.count * dp)
        for i in 0..<ids.count { for c in 0..<d { rows[i * dp + c] = flat[i * d + c] } }
        var rowOf = [Int32: Int](minimumCapacity: ids.count)
        for (i, id) in ids.enumerated() {
            guard rowOf.updateValue(i, forKey: id) == nil else { throw .corrupt("\(what): id \(id) stored twice") }
        }
        index.rows = rows
        index.ids = ids
        index.rowOf = rowOf
        return index
    }
}
