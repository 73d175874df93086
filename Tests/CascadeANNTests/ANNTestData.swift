import CascadeANN
import CascadeCore
import Foundation

/// Seeded synthetic vectors shared by the ANN tests: a Gaussian mixture like learned item
/// embeddings (the same recipe as shared/bench/ann_peers.py, scaled down).
struct ClusteredData {
    let dimension: Int
    let base: [Float]
    let queries: [Float]
    var count: Int { base.count / dimension }
    var queryCount: Int { queries.count / dimension }
    var ids: [Int32] { (0..<count).map { Int32($0) } }

    init(count: Int, queries: Int, dimension: Int, clusters: Int = 50, seed: UInt64 = 7) {
        var rng = TestRandom(seed: seed)
        var centers = [Float](repeating: 0, count: clusters * dimension)
        for i in centers.indices { centers[i] = rng.normal() }
        let scales = (0..<clusters).map { _ in 0.2 + 0.4 * rng.uniform() }
        func draw(_ n: Int) -> [Float] {
            var out = [Float](repeating: 0, count: n * dimension)
            for r in 0..<n {
                let c = Int(rng.next() % UInt64(clusters))
                for j in 0..<dimension { out[r * dimension + j] = centers[c * dimension + j] + rng.normal() * scales[c] }
            }
            return out
        }
        self.dimension = dimension
        base = draw(count)
        self.queries = draw(queries)
    }

    func row(_ i: Int) -> [Float] { Array(base[(i * dimension)..<((i + 1) * dimension)]) }
}

struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * .pi * u2)
    }
}

/// Scalar brute force, the reference for FlatIndex: (id, score) best first, ties to smaller id.
func naiveSearch(_ base: [Float], ids: [Int32], query: [Float], k: Int, metric: VectorMetric) -> [VectorHit] {
    let d = query.count
    func norm(_ v: ArraySlice<Float>) -> [Float] {
        let s = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / s }
    }
    let q = metric == .cosine ? norm(query[...]) : query
    var scored: [VectorHit] = []
    for (r, id) in ids.enumerated() {
        let row = base[(r * d)..<((r + 1) * d)]
        let x = metric == .cosine ? norm(row) : Array(row)
        var s: Float = 0
        for j in 0..<d {
            if metric == .l2 { s += (q[j] - x[j]) * (q[j] - x[j]) } else { s += q[j] * x[j] }
        }
        scored.append((id: id, score: s))
    }
    scored.sort { a, b in
        if a.score != b.score { return metric == .l2 ? a.score < b.score : a.score > b.score }
        return a.id < b.id
    }
    return Array(scored.prefix(k))
}

/// Mean |approx top-k ∩ exact top-k| / k.
func recallAt(_ k: Int, approx: [[VectorHit]], exact: [[VectorHit]]) -> Double {
    var hits = 0
    for (a, e) in zip(approx, exact) {
        let truth = Set(e.prefix(k).map(\.id))
        hits += a.prefix(k).filter { truth.contains($0.id) }.count
    }
    return Double(hits) / Double(k * exact.count)
}
