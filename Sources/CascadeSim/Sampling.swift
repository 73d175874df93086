/// Walker's alias method (Vose's construction, 1991): draws index `i` with probability
/// `weights[i] / sum(weights)` in O(1) after an O(n) build. Used for heavy-tailed choices made
/// millions of times: which user starts a session, which author publishes an item.
public struct AliasTable: Sendable {
    /// Probability of keeping column `i` (else take `alias[i]`).
    public let keep: [Float]
    public let alias: [Int32]

    public var count: Int { keep.count }

    /// - Precondition: at least one weight, all finite and non-negative, some positive.
    public init(weights: [Double]) {
        let n = weights.count
        precondition(n > 0, "AliasTable needs at least one weight")
        let total = weights.reduce(0, +)
        precondition(total > 0 && total.isFinite, "AliasTable weights must have a positive finite sum")
        var scaled = weights.map { $0 * Double(n) / total }
        var keep = [Float](repeating: 1, count: n)
        var alias = [Int32](repeating: 0, count: n)
        var small: [Int] = [], large: [Int] = []
        small.reserveCapacity(n); large.reserveCapacity(n)
        for i in 0..<n {
            alias[i] = Int32(i)
            if scaled[i] < 1 { small.append(i) } else { large.append(i) }
        }
        while let s = small.popLast() {
            guard let l = large.last else { keep[s] = 1; continue }
            keep[s] = Float(scaled[s])
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { large.removeLast(); small.append(l) }
        }
        // Whatever is left in `large` keeps probability 1 (already set).
        self.keep = keep
        self.alias = alias
    }

    @inline(__always)
    public func sample(_ rng: inout Xoshiro256) -> Int {
        let i = rng.below(keep.count)
        return rng.uniformFloat() < keep[i] ? i : Int(alias[i])
    }
}

/// Weighted draws by binary search over running sums: `cumulative[j]` is the sum of the weights
/// of positions `start...j`. Drawing among the first `k` positions from `start` takes O(log k),
/// and any prefix can be drawn from without rebuilding anything.
enum PrefixSampler {
    /// A position in `start..<(start + k)` drawn with probability proportional to its weight.
    /// - Precondition: k > 0.
    @inline(__always)
    static func sample(_ cumulative: UnsafeBufferPointer<Double>, start: Int, k: Int,
                       _ rng: inout Xoshiro256) -> Int {
        let target = rng.uniform() * cumulative[start + k - 1]
        var lo = start, hi = start + k - 1
        while lo < hi {
            let mid = (lo + hi) >> 1
            if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

/// Counting-sort grouping: entries `0..<keys.count` grouped by key, each group in ascending entry
/// order. Returns CSR offsets (`groups + 1` of them) and the grouped entry indices. O(n + groups).
func groupByKey(_ keys: [Int32], groups: Int) -> (offsets: [Int], members: [Int32]) {
    var offsets = [Int](repeating: 0, count: groups + 1)
    for k in keys { offsets[Int(k) + 1] += 1 }
    for g in 0..<groups { offsets[g + 1] += offsets[g] }
    var fill = offsets
    var members = [Int32](repeating: 0, count: keys.count)
    for (i, k) in keys.enumerated() {
        members[fill[Int(k)]] = Int32(i)
        fill[Int(k)] += 1
    }
    return (offsets, members)
}
