import Foundation
import Testing
@testable import CascadeRerank

@Suite struct RerankTests {
    static func items(_ n: Int, dim: Int, seed: UInt64) -> [RerankItem] {
        var state = seed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        return (0..<n).map { i in
            var v = (0..<dim).map { _ in next() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            v = v.map { $0 / norm }
            return RerankItem(id: Int32(i), score: (next() + 1) / 2, vector: v, category: Int32(i % 3), author: Int32(i % 4))
        }
    }

    /// Greedy MAP by brute force: each step adds the item maximizing log det of the chosen set
    /// (the last w - 1 picks with a window) plus the item.
    func bruteGreedy(_ items: [RerankItem], k: Int, theta: Float, window: Int?) -> [Int32] {
        var chosen: [RerankItem] = []
        var left = items
        while chosen.count < k {
            let base = window.map { Array(chosen.suffix($0 - 1)) } ?? chosen
            var best = 0
            var bestValue = -Double.infinity
            for (i, c) in left.enumerated() {
                let v = DPP.logDet(base + [c], theta: theta)
                if v > bestValue { bestValue = v; best = i }
            }
            chosen.append(left.remove(at: best))
        }
        return chosen.map(\.id)
    }

    @Test func dppGreedyMatchesBruteForce() throws {
        let items = Self.items(14, dim: 5, seed: 3)
        for theta: Float in [0.5, 2] {
            let fast = try DPP.rerank(items, k: 5, theta: theta).map(\.id)
            #expect(fast == bruteGreedy(items, k: 5, theta: theta, window: nil), "theta \(theta)")
            let windowed = try DPP.rerank(items, k: 8, theta: theta, window: 3).map(\.id)
            #expect(windowed == bruteGreedy(items, k: 8, theta: theta, window: 3), "theta \(theta) window 3")
        }
    }

    @Test func dppSpreadsNearDuplicates() throws {
        let a = RerankItem(id: 1, score: 1.0, vector: [1, 0]), b = RerankItem(id: 2, score: 0.99, vector: [1, 0.001])
        let c = RerankItem(id: 3, score: 0.6, vector: [0, 1])
        let page = try DPP.rerank([a, b, c], k: 3, theta: 1).map(\.id)
        #expect(page == [1, 3, 2])
        #expect(throws: RerankError.self) { try DPP.rerank([a, RerankItem(id: 9, score: 1, vector: [1])], k: 2) }
    }

    @Test func mmrTradesScoreForNovelty() throws {
        let a = RerankItem(id: 1, score: 1.0, vector: [1, 0]), b = RerankItem(id: 2, score: 0.9, vector: [1, 0])
        let c = RerankItem(id: 3, score: 0.5, vector: [0, 1])
        #expect(try MMR.rerank([a, b, c], k: 3, lambda: 1).map(\.id) == [1, 2, 3])
        // lambda 0.5: b scores 0.45 - 0.5 = -0.05, c scores 0.25 - 0 = 0.25.
        #expect(try MMR.rerank([a, b, c], k: 3, lambda: 0.5).map(\.id) == [1, 3, 2])
        #expect(throws: RerankError.self) { try MMR.rerank([a], k: 1, lambda: 2) }
    }

    @Test func rulesBoundEveryWindowAndKeepPins() throws {
        let items = Self.items(40, dim: 3, seed: 9).sorted { $0.score > $1.score }
        var rules = DiversityRules()
        rules.window = 4
        rules.maxPerCategory = 2
        rules.maxPerAuthor = 1
        rules.duplicateGap = 0
        rules.pinned = [2: 39]
        let r = try rules.apply(items, k: 15)
        #expect(r.items.count == 15 && r.violations == 0)
        #expect(r.items[2].id == 39)
        #expect(Set(r.items.map(\.id)).count == 15)
        for start in 0..<(15 - 3) {
            let w = Array(r.items[start..<(start + 4)]).filter { $0.id != 39 }
            #expect(Dictionary(grouping: w, by: \.category).values.allSatisfy { $0.count <= 2 })
        }
        // One category only: the rule cannot hold, the page still fills and counts it.
        let same = (0..<5).map { RerankItem(id: Int32($0), score: 1, category: 7) }
        var strict = DiversityRules()
        strict.maxPerAuthor = 5
        let s = try strict.apply(same, k: 5)
        #expect(s.items.count == 5 && s.violations == 3)
        strict.pinned = [9: 1]
        #expect(throws: RerankError.self) { try strict.apply(same, k: 5) }
    }

    @Test func samplingIsDeterministicAndTemperatureControlsIt() throws {
        let items = Self.items(20, dim: 2, seed: 4)
        let sorted = items.sorted { $0.score > $1.score }.prefix(10).map(\.id)
        #expect(try ExplorationSampling.sample(items, k: 10, temperature: 0, seed: 1).map(\.id) == Array(sorted))
        #expect(try ExplorationSampling.sample(items, k: 10, temperature: 1e-4, seed: 1).map(\.id) == Array(sorted))
        let a = try ExplorationSampling.sample(items, k: 10, temperature: 5, seed: 1).map(\.id)
        #expect(a == (try ExplorationSampling.sample(items, k: 10, temperature: 5, seed: 1).map(\.id)))
        #expect(Set(a).count == 10)
        let orders = Set(try (0..<8).map { try ExplorationSampling.sample(items, k: 10, temperature: 5, seed: UInt64($0)).map(\.id) })
        #expect(orders.count > 1)
        #expect(throws: RerankError.self) { try ExplorationSampling.sample(items, k: 3, temperature: -1, seed: 0) }
    }
}
