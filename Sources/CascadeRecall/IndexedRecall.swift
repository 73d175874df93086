import CascadeANN
import CascadeCore
import Foundation

/// A vector model usable behind an index: a query vector per request and one vector per item.
public protocol VectorRecallModel: RecallChannel {
    /// Length of every vector.
    var dimension: Int { get }
    /// Item vectors, row-major [items, dimension].
    var itemVectors: [Float] { get }
    /// The request's query vector, nil when the model has nothing for this user.
    func queryVector(_ context: RecallContext) -> [Float]?
    /// The request's queries: one per interest for a multi-interest model (merged by
    /// ``InterestMerge``), else the one of ``queryVector(_:)``.
    func interestQueries(_ context: RecallContext) -> [InterestQuery]
}

extension VectorRecallModel {
    public func interestQueries(_ context: RecallContext) -> [InterestQuery] { queryVector(context).map { [InterestQuery(vector: $0)] } ?? [] }
}

extension ALS: VectorRecallModel { public var dimension: Int { factors } }
extension LightGCN: VectorRecallModel { public var dimension: Int { dim } }
extension TwoTower: VectorRecallModel {
    public var dimension: Int { dim }
    public func queryVector(_ context: RecallContext) -> [Float]? {
        var seen = Set<Int32>()
        let history = context.history.filter { positiveTypes.contains($0.type) && seen.insert($0.item).inserted }.map(\.item)
        return userVector(user: context.user, history: history)
    }
}

/// A vector channel (ALS, two-tower, LightGCN) whose item vectors are searched through an
/// approximate index instead of scored one by one: the query vector comes from the model, the
/// index (HNSW, inner product) returns the nearest items. A request costs O(ef log items)
/// distance computations instead of O(items x factors), which matters beyond ~10^5 items.
///
/// Filtered items (seen, exposed, hidden) are skipped after the search, so the search asks for
/// more than the quota and widens (x4 each time, up to 4 rounds) when too many were filtered.
public struct IndexedRecall: RecallChannel {
    public let base: any VectorRecallModel
    public let index: HNSWIndex
    public var name: String { base.name }

    public init(base: any VectorRecallModel, index: HNSWIndex) {
        self.base = base
        self.index = index
    }

    /// Indexes `model`'s item vectors (inner product), in parallel. Items with an all-zero vector
    /// (never seen in training) are left out.
    public static func build(_ model: any VectorRecallModel, parameters: HNSWIndex.Parameters = HNSWIndex.Parameters()) throws(CascadeError) -> IndexedRecall {
        let f = model.dimension
        let index = try HNSWIndex(dimension: f, metric: .innerProduct, parameters: parameters)
        var vectors: [Float] = []
        var ids: [Int32] = []
        vectors.reserveCapacity(model.itemVectors.count)
        for i in 0..<(model.itemVectors.count / max(1, f)) {
            let row = model.itemVectors[i * f..<(i + 1) * f]
            guard row.contains(where: { $0 != 0 }) else { continue }
            vectors.append(contentsOf: row)
            ids.append(Int32(i))
        }
        if !ids.isEmpty { try index.add(vectors, ids: ids) }
        return IndexedRecall(base: model, index: index)
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0 else { return [] }
        return InterestMerge.recall(base.interestQueries(context), quota: quota) { search($0, quota: $1, filter: filter) }
    }

    /// The `quota` nearest items to `v` that `filter` allows.
    func search(_ v: [Float], quota: Int, filter: CandidateFilter) -> [Candidate] {
        var k = min(index.count, quota + 32 + filter.seen.count)
        for _ in 0..<4 {
            guard k > 0, let hits = try? index.search(v, k: k, threads: 1).first else { return [] }
            let kept = hits.lazy.filter { filter.allows($0.id) }.prefix(quota).map { Candidate(item: $0.id, score: $0.score, channel: name) }
            if kept.count >= quota || k >= index.count { return Array(kept) }
            k = min(index.count, k * 4)
        }
        return []
    }

    static let magic = "CIXR"

    /// Whether `bytes` are an indexed artifact (rather than a bare model's).
    public static func isIndexed(_ bytes: [UInt8]) -> Bool { bytes.count >= 4 && bytes.prefix(4).elementsEqual(magic.utf8) }

    /// Version 2 names the base model's kind (informative: the channel's definition says which
    /// model reads it back); version 1 artifacts hold an ALS model.
    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 2)
        w.write(String(describing: type(of: base)))
        w.write(array: base.serialized())
        w.write(array: index.serialized())
        return [UInt8](w.data)
    }

    /// Reads an indexed artifact whose model `base` reads (the channel's own loader).
    public init(serialized bytes: [UInt8], base load: ([UInt8]) throws(CascadeError) -> any VectorRecallModel) throws(CascadeError) {
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: "indexed recall artifact")
        guard r.version == 1 || r.version == 2 else { throw .corrupt("indexed recall artifact: unknown version \(r.version)") }
        if r.version == 2 { _ = try r.readString("base kind") }
        let base = try load(try r.readArray(UInt8.self, "model"))
        let index = try HNSWIndex.load(try r.readArray(UInt8.self, "index"), what: "indexed recall artifact (index)")
        guard index.dimension == base.dimension else {
            throw .corrupt("indexed recall artifact: index of dimension \(index.dimension) for a model of dimension \(base.dimension)")
        }
        self.init(base: base, index: index)
    }
}
