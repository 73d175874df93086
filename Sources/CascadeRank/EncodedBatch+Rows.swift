import CascadeTensor

extension EncodedBatch {
    /// The rows at `indices` (in that order) as a new batch: mini-batches and shuffles.
    /// O(selected rows x features).
    public func rows(_ indices: some Collection<Int>) -> EncodedBatch {
        let n = indices.count
        let w = sparseIds.shape.last, dw = dense.shape.last
        let ids = IndexTensor(shape: Shape(n, w))
        let d = Tensor(uninitializedShape: Shape(n, dw))
        let l = labels.map { Tensor(uninitializedShape: Shape(n, $0.shape.last)) }
        var newBags: [[Int32]] = Array(repeating: [], count: bags.count)
        var newOffsets: [[Int]] = Array(repeating: [0], count: bags.count)
        for (k, r) in indices.enumerated() {
            (ids.base + k * w).update(from: sparseIds.base + r * w, count: w)
            (d.base + k * dw).update(from: dense.base + r * dw, count: dw)
            if let l, let src = labels {
                let lw = src.shape.last
                (l.base + k * lw).update(from: src.base + r * lw, count: lw)
            }
            for (b, bag) in bags.enumerated() {
                for i in bag.offsets[r]..<bag.offsets[r + 1] { newBags[b].append(bag.ids.base[i]) }
                newOffsets[b].append(newBags[b].count)
            }
        }
        let outBags = (0..<bags.count).map { Bag(ids: IndexTensor(newBags[$0]), offsets: newOffsets[$0]) }
        return EncodedBatch(rows: n, sparseIds: ids, bags: outBags, dense: d, labels: l,
                            histories: histories.map { $0.rows(indices) }, positions: positions.map { p in indices.map { p[$0] } })
    }

    /// Labels of task `task` as a flat array (0/1), or nil without labels.
    public func labelColumn(_ task: Int = 0) -> [Float]? {
        guard let l = labels else { return nil }
        let w = l.shape.last
        return (0..<rows).map { l.base[$0 * w + task] }
    }
}

extension EncodedBatch.History {
    /// The rows at `indices` (in that order). O(selected rows x length).
    public func rows(_ indices: some Collection<Int>) -> EncodedBatch.History {
        let n = indices.count, len = length
        func pick(_ t: IndexTensor, width: Int) -> IndexTensor {
            let out = IndexTensor(shape: width == 0 ? Shape(n) : Shape(n, width))
            let w = Swift.max(width, 1)
            for (k, r) in indices.enumerated() { (out.base + k * w).update(from: t.base + r * w, count: w) }
            return out
        }
        let m = Tensor(uninitializedShape: Shape(n, len))
        for (k, r) in indices.enumerated() { (m.base + k * len).update(from: mask.base + r * len, count: len) }
        return EncodedBatch.History(name: name, ids: pick(ids, width: len), mask: m, timeBuckets: pick(timeBuckets, width: len),
                                    candidate: pick(candidate, width: 0), side: side.map { pick($0, width: len) },
                                    candidateSide: candidateSide.map { pick($0, width: 0) })
    }
}
