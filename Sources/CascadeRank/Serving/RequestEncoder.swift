import CascadeTensor
import Foundation

/// Encodes one request's candidate rows without re-encoding what does not change: the
/// item-side fields of every item are encoded once (at load) into a table; per request, the
/// user and context fields are encoded from one row and copied to every candidate, and only
/// the fields that depend on both the item and the request time (e.g. item age) are encoded per
/// candidate. The result equals ``FeaturePipeline/encode(_:history:labels:)`` of the full frame
/// (tested against it). O(candidates x fields) copies per request instead of a string lookup
/// per field and candidate.
///
/// Applies to pipelines without numeric or sequence features (``init(pipeline:items:perCandidateColumns:)``
/// returns nil otherwise; the full encode is then the path).
public final class RequestEncoder: @unchecked Sendable {
    public let pipeline: FeaturePipeline
    let sparse: [FeatureSpec]
    let bagSpecs: [FeatureSpec]
    /// Per sparse field: 0 = from the request row, 1 = from the item table, 2 = per candidate.
    let sparseSource: [UInt8]
    let bagFromItem: [Bool]
    /// Item table: the item-side sparse ids [items, sparse.count] (other columns unused).
    let itemSparse: [Int32]
    /// Item-side bags per bag field: flat ids and offsets (items + 1).
    let itemBags: [(ids: [Int32], offsets: [Int])]
    public let itemCount: Int

    /// - Parameters:
    ///   - items: one row per item, in item index order, with every item-side column.
    ///   - perCandidateColumns: source columns that depend on the item and the request (encoded
    ///     per candidate from the request's frame).
    public init?(pipeline: FeaturePipeline, items: FeatureFrame, perCandidateColumns: Set<String>) throws {
        guard pipeline.denseFeatures.isEmpty, pipeline.sequenceFeatures.isEmpty,
              !pipeline.bagFeatures.contains(where: { perCandidateColumns.contains($0.column) }) else { return nil }
        self.pipeline = pipeline
        sparse = pipeline.sparseFeatures
        bagSpecs = pipeline.bagFeatures
        sparseSource = sparse.map { f in
            perCandidateColumns.contains(f.column) ? 2 : (f.resolvedSide == .item ? 1 : 0)
        }
        bagFromItem = bagSpecs.map { $0.resolvedSide == .item && !perCandidateColumns.contains($0.column) }
        itemCount = items.rowCount
        let encoded = try pipeline.encode(items, labels: "\u{0}none")
        itemSparse = Array(UnsafeBufferPointer(start: encoded.sparseIds.base, count: items.rowCount * sparse.count))
        itemBags = encoded.bags.map { b in (Array(UnsafeBufferPointer(start: b.ids.base, count: b.offsets.last ?? 0)), b.offsets) }
    }

    /// The encoded rows of `items` for one request.
    /// - Parameters:
    ///   - request: a one-row frame with the user and context columns (any item).
    ///   - perCandidate: a frame of `items.count` rows with the per-candidate columns.
    ///   - numeric: per-candidate columns of `.buckets` features given as numbers (`items.count`
    ///     each), bucketed without a round trip through text; they take precedence over
    ///     `perCandidate`. A number gives the id its shortest decimal text would.
    public func encode(request: FeatureFrame, items: [Int32], perCandidate: FeatureFrame,
                       numeric: [String: [Double]] = [:]) throws -> EncodedBatch {
        let n = items.count, s = sparse.count
        guard request.rowCount == 1, perCandidate.rowCount == n else {
            throw RankError.data("request encoder: one request row and \(n) candidate rows expected")
        }
        if let bad = items.first(where: { $0 < 0 || Int($0) >= itemCount }) {
            throw RankError.data("request encoder: item index \(bad) outside the table of \(itemCount) items")
        }
        let row = try pipeline.encode(request, labels: "\u{0}none")
        let ids = IndexTensor(shape: Shape(n, s))
        for (j, f) in sparse.enumerated() {
            switch sparseSource[j] {
            case 0:
                let v = row.sparseIds.base[j]
                for r in 0..<n { ids.base[r * s + j] = v }
            case 1:
                for r in 0..<n { ids.base[r * s + j] = itemSparse[Int(items[r]) * s + j] }
            default:
                let base = pipeline.bases[f.name]!, col = perCandidate.columns[f.column]
                if f.kind == .buckets, f.derive == nil, let xs = numeric[f.column], xs.count == n {
                    for r in 0..<n { ids.base[r * s + j] = base + pipeline.bucketLocalId(f, xs[r]) }
                    continue
                }
                guard let col else {
                    // Absent for this request (a column another stage reads): one id for all.
                    let id = base + pipeline.localId(f, f.defaultValue ?? "")
                    for r in 0..<n { ids.base[r * s + j] = id }
                    continue
                }
                for r in 0..<n {
                    var v = col[r]
                    if v.isEmpty, let d = f.defaultValue { v = d }
                    ids.base[r * s + j] = base + pipeline.localId(f, v)
                }
            }
        }
        var bags: [EncodedBatch.Bag] = []
        for (k, _) in bagSpecs.enumerated() {
            var flat: [Int32] = [], offsets = [0]
            if bagFromItem[k] {
                let t = itemBags[k]
                for r in 0..<n {
                    let i = Int(items[r])
                    flat.append(contentsOf: t.ids[t.offsets[i]..<t.offsets[i + 1]])
                    offsets.append(flat.count)
                }
            } else {
                let b = row.bags[k]
                let one = Array(UnsafeBufferPointer(start: b.ids.base, count: b.offsets[1]))
                for _ in 0..<n { flat.append(contentsOf: one); offsets.append(flat.count) }
            }
            bags.append(EncodedBatch.Bag(ids: IndexTensor(flat), offsets: offsets))
        }
        return EncodedBatch(rows: n, sparseIds: ids, bags: bags, dense: Tensor(shape: [n, 0]), labels: nil, histories: [])
    }
}
