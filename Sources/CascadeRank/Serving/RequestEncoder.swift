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
/// Behaviour sequences are built from the request's steps (``Step``, the user's interactions
/// newest first) through a per-item table of fused ids, the same for every candidate.
///
/// Applies to pipelines without numeric features (``init(pipeline:items:perCandidateColumns:)``
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
    /// Per sequence feature: fused item id and side id of every item (the side is the sequence
    /// base id when the feature has no side).
    let sequenceTables: [(spec: FeatureSpec, item: [Int32], side: [Int32]?, oov: Int32, sideOOV: Int32)]

    /// One step of a user's behaviour: an item index and the time of the interaction.
    public struct Step: Sendable, Equatable {
        public var item: Int32
        public var time: Double
        public init(item: Int32, time: Double) {
            self.item = item
            self.time = time
        }
    }

    /// - Parameters:
    ///   - items: one row per item, in item index order, with every item-side column.
    ///   - perCandidateColumns: source columns that depend on the item and the request (encoded
    ///     per candidate from the request's frame).
    public init?(pipeline: FeaturePipeline, items: FeatureFrame, perCandidateColumns: Set<String>) throws {
        guard pipeline.denseFeatures.isEmpty,
              !pipeline.bagFeatures.contains(where: { perCandidateColumns.contains($0.column) }) else { return nil }
        self.pipeline = pipeline
        sparse = pipeline.sparseFeatures
        bagSpecs = pipeline.bagFeatures
        sparseSource = sparse.map { f in
            perCandidateColumns.contains(f.column) ? 2 : (f.resolvedSide == .item ? 1 : 0)
        }
        bagFromItem = bagSpecs.map { $0.resolvedSide == .item && !perCandidateColumns.contains($0.column) }
        itemCount = items.rowCount
        let encoded = try pipeline.encodeInputs(items)
        itemSparse = Array(UnsafeBufferPointer(start: encoded.sparseIds.base, count: items.rowCount * sparse.count))
        itemBags = encoded.bags.map { b in (Array(UnsafeBufferPointer(start: b.ids.base, count: b.offsets.last ?? 0)), b.offsets) }
        sequenceTables = pipeline.sequenceFeatures.map { f in
            let item = pipeline.config.itemFeature(forSequence: f)!, side = pipeline.config.sideFeature(forSequence: f)
            let base = pipeline.bases[item.name]!
            let values = items.columns[f.column] ?? [String](repeating: "", count: items.rowCount)
            let sides = f.sideColumn.flatMap { items.columns[$0] } ?? [String](repeating: "", count: items.rowCount)
            return (f, values.map { base + pipeline.localId(item, $0) }, side.map { s in sides.map { pipeline.sideId(s, $0) } },
                    base, side.map { pipeline.bases[$0.name]! } ?? 0)
        }
    }

    /// The behaviour sequences of one request for `items`: each feature's last `length` distinct
    /// steps strictly before `now` (newest first), the same for every candidate row.
    func histories(items: [Int32], steps: [Step], now: Double) -> [EncodedBatch.History] {
        let n = items.count
        return sequenceTables.map { table in
            let len = table.spec.length!
            var chosen: [(id: Int32, side: Int32, bucket: Int32)] = []
            var seen = Set<Int32>()
            for s in steps where chosen.count < len && s.time < now && seen.insert(s.item).inserted {
                let known = s.item >= 0 && Int(s.item) < itemCount
                chosen.append((known ? table.item[Int(s.item)] : table.oov, known ? table.side?[Int(s.item)] ?? 0 : table.sideOOV,
                               EncodedBatch.History.timeBucket(gapSeconds: now - s.time)))
            }
            let ids = IndexTensor(shape: Shape(n, len)), times = IndexTensor(shape: Shape(n, len))
            let mask = Tensor(shape: [n, len]), candidate = IndexTensor(shape: Shape(n))
            let side = table.side.map { _ in IndexTensor(shape: Shape(n, len)) }
            let candidateSide = table.side.map { _ in IndexTensor(shape: Shape(n)) }
            for r in 0..<n {
                let i = Int(items[r])
                candidate.base[r] = table.item[i]
                candidateSide?.base[r] = table.side![i]
                for k in 0..<len {
                    let o = r * len + k
                    if k < chosen.count {
                        ids.base[o] = chosen[k].id
                        mask.base[o] = 1
                        times.base[o] = chosen[k].bucket
                        side?.base[o] = chosen[k].side
                    } else {
                        ids.base[o] = table.oov
                        side?.base[o] = table.sideOOV
                    }
                }
            }
            return EncodedBatch.History(name: table.spec.name, ids: ids, mask: mask, timeBuckets: times, candidate: candidate,
                                        side: side, candidateSide: candidateSide)
        }
    }

    /// The encoded rows of `items` for one request.
    /// - Parameters:
    ///   - request: a one-row frame with the user and context columns (any item).
    ///   - perCandidate: a frame of `items.count` rows with the per-candidate columns.
    ///   - numeric: per-candidate columns of `.buckets` features given as numbers (`items.count`
    ///     each), bucketed without a round trip through text; they take precedence over
    ///     `perCandidate`. A number gives the id its shortest decimal text would.
    ///   - steps, now: the user's behaviour (newest first) and the request time, for the
    ///     sequence features.
    public func encode(request: FeatureFrame, items: [Int32], perCandidate: FeatureFrame,
                       numeric: [String: [Double]] = [:], steps: [Step] = [], now: Double = 0) throws -> EncodedBatch {
        let n = items.count, s = sparse.count
        guard request.rowCount == 1, perCandidate.rowCount == n else {
            throw RankError.data("request encoder: one request row and \(n) candidate rows expected")
        }
        if let bad = items.first(where: { $0 < 0 || Int($0) >= itemCount }) {
            throw RankError.data("request encoder: item index \(bad) outside the table of \(itemCount) items")
        }
        let row = try pipeline.encodeInputs(request)
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
                    guard let cuts = pipeline.bucketCuts(f) else {
                        for r in 0..<n { ids.base[r * s + j] = base }
                        continue
                    }
                    for r in 0..<n { ids.base[r * s + j] = base + FeaturePipeline.bucketLocalId(cuts: cuts, xs[r]) }
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
        return EncodedBatch(rows: n, sparseIds: ids, bags: bags, dense: Tensor(shape: [n, 0]), labels: nil,
                            histories: histories(items: items, steps: steps, now: now))
    }
}
