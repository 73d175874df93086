import CascadeCore

/// Exploration by insertion, with exact propensities: the page is the ranking's top `pageSize`,
/// and each of its slots, independently with probability `epsilon`, instead shows an item drawn
/// uniformly (without replacement) from the next `pool` candidates of the ranking. Every item of
/// the top and of the pool can then appear, and the probability that it does (its inclusion
/// propensity, what counterfactual estimates divide by) is known in closed form:
/// - an item of the top: `1 - epsilon` (it keeps its slot unless that slot explores);
/// - an item of the pool: `pageSize epsilon / pool` (the expected number of exploring slots,
///   shared evenly among the pool by symmetry).
/// Exact only when the pool holds at least `pageSize` items, so that every exploring slot finds
/// one; a ranking too short for that is served without exploration (every top item at
/// propensity 1). An explored item lands at a uniformly random slot, which also makes the
/// position effect identifiable from the explored impressions. O(pageSize) per page.
public enum EpsilonExploration {
    public struct Page: Sendable, Equatable {
        public var items: [Int32]
        /// Inclusion propensity of each shown item.
        public var inclusion: [Double]
        /// Whether each slot explored (shows a pool item).
        public var explored: [Bool]

        /// `items` shown without exploration (each at propensity 1).
        public init(unexplored items: [Int32]) {
            self.items = items
            inclusion = Array(repeating: 1, count: items.count)
            explored = Array(repeating: false, count: items.count)
        }

        init(items: [Int32], inclusion: [Double], explored: [Bool]) {
            self.items = items
            self.inclusion = inclusion
            self.explored = explored
        }
    }

    /// The page drawn from `ranked` (best first) with `seed`'s randomness.
    public static func page(ranked: [Int32], pageSize: Int, pool: Int, epsilon: Double, seed: UInt64) throws(CascadeError) -> Page {
        guard epsilon >= 0, epsilon <= 1 else { throw .invalid("exploration share must be in [0, 1], got \(epsilon)") }
        guard pageSize >= 1, pool >= 0 else { throw .invalid("exploration: page size must be >= 1 and the pool >= 0") }
        let k = Swift.min(pageSize, ranked.count)
        let m = Swift.min(pool, ranked.count - k)
        guard epsilon > 0, m >= pageSize else {
            return Page(unexplored: Array(ranked.prefix(k)))
        }
        var rng = SplitMix64(seed: seed)
        var left = Array(ranked[k..<(k + m)])
        var items = Array(ranked.prefix(k)), explored = [Bool](repeating: false, count: k)
        for s in 0..<k where rng.nextUnitDouble() < epsilon {
            let j = Int(rng.next() % UInt64(left.count))
            left.swapAt(j, left.count - 1)
            items[s] = left.removeLast()
            explored[s] = true
        }
        let top = 1 - epsilon, inPool = Double(pageSize) * epsilon / Double(m)
        return Page(items: items, inclusion: explored.map { $0 ? inPool : top }, explored: explored)
    }

    /// The inclusion propensity of the item at 0-based `rank` of a ranking of `count` candidates
    /// (0 when it cannot appear): what a target page's item is weighed by.
    public static func inclusion(rank: Int, count: Int, pageSize: Int, pool: Int, epsilon: Double) -> Double {
        let k = Swift.min(pageSize, count), m = Swift.min(pool, count - k)
        guard epsilon > 0, m >= pageSize else { return rank < k ? 1 : 0 }
        if rank < k { return 1 - epsilon }
        return rank < k + m ? Double(pageSize) * epsilon / Double(m) : 0
    }
}
