import CascadeCore
import Foundation

/// Exploration by sampling the page from the fused scores instead of sorting them: without
/// replacement, item i drawn with probability proportional to exp(score_i / temperature) among
/// those left (Plackett-Luce). Temperature -> 0 gives the sorted order; large temperatures
/// approach a uniform shuffle. Deterministic for a seed. O(n k).
public enum ExplorationSampling {
    public static func sample(_ items: [RerankItem], k: Int, temperature: Float, seed: UInt64) throws -> [RerankItem] {
        guard temperature >= 0, temperature.isFinite else {
            throw RerankError.invalid("sampling temperature must be finite and >= 0, got \(temperature)")
        }
        if temperature == 0 { return Array(items.sorted { $0.score > $1.score }.prefix(k)) }
        var left = items
        var out: [RerankItem] = []
        var rng = SplitMix64(seed: seed)
        func uniform() -> Double { rng.nextUnitDouble() }
        while out.count < k, !left.isEmpty {
            let m = left.map(\.score).max()!
            let w = left.map { Foundation.exp(Double(($0.score - m) / temperature)) }
            var r = uniform() * w.reduce(0, +)
            var pick = left.count - 1
            for (i, x) in w.enumerated() {
                r -= x
                if r <= 0 { pick = i; break }
            }
            out.append(left.remove(at: pick))
        }
        return out
    }
}
