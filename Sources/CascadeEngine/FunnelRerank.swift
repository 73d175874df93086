import CascadeRecall
import CascadeRerank
import Foundation

/// The re-rank stage of the funnel: diversity over the best `pool` merged candidates, using the
/// item vectors of a trained vector channel (two-tower, ALS or LightGCN) as the similarity.
public struct RerankConfig: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable { case none, dpp, mmr }
    public var mode: Mode = .none
    /// DPP quality exponent (higher keeps closer to the score order).
    public var theta: Float = 3
    /// MMR relevance weight.
    public var lambda: Float = 0.7
    /// Sliding window of DPP/MMR (nil: the whole page).
    public var window: Int? = 10
    /// Merged candidates considered.
    public var pool = 100
    /// Channels whose item vectors define similarity, in order of preference (nil: the first
    /// loaded channel that has item vectors, in registry order).
    public var vectorChannels: [String]?
    /// Business rules applied after DPP/MMR (nil: none): at most k items of one category or
    /// author in any window of w, spacing of near-duplicates, pinned (operator) slots.
    public var rules: DiversityRules?
    /// Exploration: the page is sampled from the scores at this temperature (Plackett-Luce)
    /// instead of sorted, before the rules (nil: off). Seeded per user and hour, so a page is
    /// stable within the hour.
    public var explorationTemperature: Float?
    /// Exploration with known propensities (``EpsilonExploration``): each slot of the page, with
    /// this probability, shows one of the next `explorePool` candidates of the final order
    /// instead; every shown item's inclusion propensity is served and logged, so the served-page
    /// log can estimate other arms offline (nil: off). Seeded per request. With
    /// `explorationTemperature` also set, the order it draws from is itself sampled, and the
    /// propensities are those given that order.
    public var exploreEpsilon: Double?
    /// Candidates after the page that an exploring slot draws from.
    public var explorePool = 40
    public init() {}
}

extension Funnel {
    /// Item vectors (unit length) of the first available vector channel, or nil.
    static func similarityVectors(channels: [any RecallChannel], config: RerankConfig) -> (dim: Int, vectors: [Float])? {
        let preferred = config.vectorChannels.map { names in names.compactMap { n in channels.first { $0.name == n } } }
        let ordered = preferred ?? ChannelRegistry.names.compactMap { n in channels.first { $0.name == n } }
        for ch in ordered {
            let model: (any VectorRecallModel)? = (ch as? any VectorRecallModel) ?? (ch as? IndexedRecall)?.base
            guard let m = model else { continue }
            let d = m.dimension
            var v = m.itemVectors
            for i in 0..<(v.count / Swift.max(d, 1)) {
                var s: Float = 0
                for k in 0..<d { s += v[i * d + k] * v[i * d + k] }
                let inv = s > 0 ? 1 / s.squareRoot() : 0
                for k in 0..<d { v[i * d + k] *= inv }
            }
            return (d, v)
        }
        return nil
    }

    /// Re-orders the head of `merged` for diversity; returns it unchanged when re-ranking is off
    /// or no vector channel is loaded.
    func rerank(_ merged: [MergedCandidate], n: Int, seed: UInt64 = 0) -> [MergedCandidate] {
        let r = config.rerank
        guard n > 1 else { return merged }
        var out = diversify(merged, n: n)
        guard r.rules != nil || r.explorationTemperature != nil, let catalog else { return out }
        let head = Array(out.prefix(Swift.max(r.pool, n)))
        let top = head.first?.score ?? 1
        var items = head.map { m -> RerankItem in
            let i = Int(m.item)
            let v: [Float]
            if let (d, vectors) = rerankVectors, i >= 0, (i + 1) * d <= vectors.count { v = Array(vectors[(i * d)..<((i + 1) * d)]) } else { v = [] }
            return RerankItem(id: m.item, score: top > 0 ? m.score / top : m.score, vector: v,
                              category: i < catalog.category.count ? catalog.category[i] : -1,
                              author: i < catalog.author.count ? catalog.author[i] : -1)
        }
        do {
            if let t = r.explorationTemperature { items = try ExplorationSampling.sample(items, k: items.count, temperature: t, seed: seed) }
            if let rules = r.rules { items = try rules.apply(items, k: Swift.min(n, items.count)).items }
        } catch {
            return out  // rules that cannot run leave the order as it was
        }
        let byItem = Dictionary(head.map { ($0.item, $0) }, uniquingKeysWith: { a, _ in a })
        let page = items.compactMap { byItem[$0.id] }
        let used = Set(page.map(\.item))
        out = page + out.filter { !used.contains($0.item) }
        return out
    }

    /// DPP or MMR over the head (unchanged when off or no vector channel is loaded).
    func diversify(_ merged: [MergedCandidate], n: Int) -> [MergedCandidate] {
        let r = config.rerank
        guard r.mode != .none, n > 1, let (d, vectors) = rerankVectors else { return merged }
        let head = Array(merged.prefix(Swift.max(r.pool, n)))
        let top = head.first?.score ?? 1
        let items = head.map { m -> RerankItem in
            let i = Int(m.item)
            let v = i >= 0 && (i + 1) * d <= vectors.count ? Array(vectors[(i * d)..<((i + 1) * d)]) : [Float](repeating: 0, count: d)
            return RerankItem(id: m.item, score: top > 0 ? m.score / top : m.score, vector: v)
        }
        let picked: [RerankItem]
        do {
            switch r.mode {
            case .dpp: picked = try DPP.rerank(items, k: n, theta: r.theta, window: r.window)
            case .mmr: picked = try MMR.rerank(items, k: n, lambda: r.lambda, window: r.window)
            case .none: return merged
            }
        } catch {
            return merged  // a re-rank that cannot run leaves the merged order
        }
        let byItem = Dictionary(head.map { ($0.item, $0) }, uniquingKeysWith: { a, _ in a })
        let page = picked.compactMap { byItem[$0.id] }
        let used = Set(page.map(\.item))
        return page + merged.filter { !used.contains($0.item) }
    }
}
