import CascadeCore
import Foundation

/// Online scoring shared by the item-to-item channels (``ItemCF``, ``Swing``): the user's recent
/// items are triggers, and each trigger's neighbours collect its weight times their similarity.
enum Triggers {
    /// The `lastN` most recent distinct items with a positive type weight, newest first. An item's
    /// weight sums its events' type weights, each times `2^(-age / halfLife)` (no decay when nil);
    /// the k-th trigger (k = 0 newest) is then scaled by `positionDecay^k`. O(h) for h events.
    static func weighted(_ context: RecallContext, typeWeights: [Float], itemCount: Int, lastN: Int,
                         halfLife: Double?, positionDecay: Float) -> [(item: Int32, weight: Float)] {
        var weight: [Int32: Float] = [:]
        var order: [Int32] = []
        for e in context.history {
            let w = Int(e.type) < typeWeights.count ? typeWeights[Int(e.type)] : 0
            guard w > 0, e.item >= 0, Int(e.item) < itemCount else { continue }
            var d: Float = 1
            if let h = halfLife, h > 0 { d = Float(exp2(-max(0, context.now - e.timestamp) / h)) }
            if weight[e.item] == nil {
                if order.count >= lastN { continue }
                order.append(e.item)
            }
            weight[e.item, default: 0] += w * d
        }
        var factor: Float = 1
        return order.map { item in
            defer { factor *= positionDecay }
            return (item, weight[item]! * factor)
        }
    }

    /// `score(j) = sum_t weight_t sim(t, j)` over a CSR neighbour table, the best `quota` items
    /// the filter allows. O(triggers x neighbours + candidates log quota).
    static func score(_ triggers: [(item: Int32, weight: Float)], offsets: [Int], neighbours: [Int32], similarities: [Float],
                      quota: Int, filter: CandidateFilter, channel: String) -> [Candidate] {
        var acc: [Int32: Float] = [:]
        for (t, w) in triggers {
            for p in offsets[Int(t)]..<offsets[Int(t) + 1] {
                acc[neighbours[p], default: 0] += w * similarities[p]
            }
        }
        var top = TopK(quota)
        for (j, s) in acc where filter.allows(j) { top.push(j, s) }
        return top.sorted().map { Candidate(item: $0.id, score: $0.score, channel: channel) }
    }
}
