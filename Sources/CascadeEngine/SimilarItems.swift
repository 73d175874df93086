import CascadeCore
import CascadeRecall

extension Recommender {
    /// Items most similar to `item`: its item-CF neighbours when that channel is loaded, else the
    /// nearest items by cosine of the first vector channel's item vectors (two-tower, ALS,
    /// LightGCN, EGES; an exact scan, O(items x dim)). Unavailable items and the item itself are
    /// left out. Returns the method used (a channel name, or "none").
    public func similarItems(to item: Int32, n: Int) -> (method: String, items: [(item: Int32, score: Float)]) {
        let ok = { (j: Int32) in j != item && Int(j) < self.catalog.unavailable.count && !self.catalog.unavailable[Int(j)] }
        if let cf = funnel.channels.first(where: { $0 is ItemCF }) as? ItemCF {
            let list = cf.neighbours(of: item).filter { ok($0.item) }.prefix(n).map { (item: $0.item, score: $0.similarity) }
            if !list.isEmpty { return (ItemCFChannel.name, Array(list)) }
        }
        for ch in funnel.channels {
            let model: (any VectorRecallModel)? = (ch as? any VectorRecallModel) ?? (ch as? IndexedRecall)?.base
            guard let m = model, m.dimension > 0 else { continue }
            let d = m.dimension, v = m.itemVectors
            let count = v.count / d
            guard Int(item) < count else { continue }
            func norm(_ i: Int) -> Float {
                var s: Float = 0
                for k in 0..<d { s += v[i * d + k] * v[i * d + k] }
                return s.squareRoot()
            }
            let qn = norm(Int(item))
            guard qn > 0 else { continue }
            var top = TopK(n)
            v.withUnsafeBufferPointer { p in
                let q = Int(item) * d
                for j in 0..<count where ok(Int32(j)) {
                    var dot: Float = 0, s: Float = 0
                    for k in 0..<d { dot += p[q + k] * p[j * d + k]; s += p[j * d + k] * p[j * d + k] }
                    if s > 0 { top.push(Int32(j), dot / (qn * s.squareRoot())) }
                }
            }
            return (ch.name, top.sorted().map { (item: $0.id, score: $0.score) })
        }
        return ("none", [])
    }
}
