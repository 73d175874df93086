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
        var state = seed
        func uniform() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
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
