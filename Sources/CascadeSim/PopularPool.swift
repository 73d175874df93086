import Foundation

/// The logging policy's "popular" list: the items with the most decayed clicks.
///
/// A click at time `t` adds `2^((t - base) / halfLife)` to the item's score. Every score is the
/// decayed count times the same factor `2^((now - base) / halfLife)`, so scores rank items exactly
/// as decayed counts do, and a score never falls. Hence the new top-N is within the old top-N plus
/// the items clicked since the last refresh: a refresh costs O((N + touched) log) rather than
/// O(items). When the factor grows past 2^400 all scores are rescaled (O(items), rare).
///
/// Items are drawn with weight `score^sharpness` (normalised by the top score first) by binary
/// search over running sums: O(log N).
struct PopularPool {
    let halfLife: Double
    let capacity: Int
    let sharpness: Double
    let refreshEvery: Double
    var base: Double
    var nextRefresh: Double
    var score: [Double]
    var stamp: [UInt32]
    var epoch: UInt32 = 1
    var touched: [Int32] = []
    var list: [Int32] = []
    var cumulative: [Double] = []

    init(truth: GroundTruth, config: LoggingPolicyConfig, start: Double) {
        halfLife = config.popularHalfLife
        capacity = min(config.popularPoolSize, truth.itemCount)
        sharpness = config.popularSharpness
        refreshEvery = config.popularRefresh
        base = start
        nextRefresh = start
        let m = truth.itemCount
        score = [Double](repeating: 0, count: m)
        stamp = [UInt32](repeating: 0, count: m)
        // Warm start: pseudo-counts for the back catalog, so the pool is not empty at first.
        for i in 0..<m where truth.itemPublishedAt[i] < start {
            score[i] = 0.05 * Double(Foundation.exp(truth.itemQuality[i]))
            touched.append(Int32(i))
            stamp[i] = epoch
        }
    }

    /// Counts a click on item `i` at time `t`.
    @inline(__always)
    mutating func recordClick(_ i: Int32, at t: Double) {
        let k = Int(i)
        score[k] += Foundation.exp2((t - base) / halfLife)
        if stamp[k] != epoch { stamp[k] = epoch; touched.append(i) }
    }

    mutating func refreshIfDue(at t: Double) {
        guard t >= nextRefresh else { return }
        nextRefresh = t + refreshEvery
        if (t - base) / halfLife > 400 {
            let f = Foundation.exp2(-(t - base) / halfLife)
            for k in score.indices { score[k] *= f }
            base = t
        }
        var candidates = list
        for i in touched where stamp[Int(i)] == epoch { candidates.append(i) }
        // The list's members are never in `touched` twice, but a touched member is in both: dedupe.
        candidates.sort()
        var unique: [Int32] = []
        unique.reserveCapacity(candidates.count)
        for i in candidates where unique.last != i { unique.append(i) }
        unique.sort { score[Int($0)] != score[Int($1)] ? score[Int($0)] > score[Int($1)] : $0 < $1 }
        list = Array(unique.prefix(capacity))
        touched.removeAll(keepingCapacity: true)
        epoch &+= 1
        if epoch == 0 { for k in stamp.indices { stamp[k] = 0 }; epoch = 1 }
        let top = list.first.map { score[Int($0)] } ?? 0
        var sum = 0.0
        cumulative = list.map { i in
            sum += top > 0 ? Foundation.pow(score[Int(i)] / top, sharpness) : 1
            return sum
        }
    }

    /// An item drawn with weight `score^sharpness`, or nil while the list is empty.
    @inline(__always)
    func draw(_ r: inout Xoshiro256) -> Int32? {
        guard !list.isEmpty else { return nil }
        let j = cumulative.withUnsafeBufferPointer { PrefixSampler.sample($0, start: 0, k: list.count, &r) }
        return list[j]
    }
}
