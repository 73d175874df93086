import Foundation

/// An item as a personal draw sees it: index, quality, publish time (seconds after the start).
struct PoolEntry {
    var item: Int32
    var quality: Float
    var published: Float
}

/// Which part of the logging policy chose an impression.
public enum ImpressionSource: UInt8, Sendable, CaseIterable, Codable {
    /// Best of a few items from the user's interests, by a noisy copy of the user's taste.
    case personal
    /// Drawn from the most clicked items (decayed counts).
    case popular
    /// Uniform over items published within the fresh window.
    case fresh
    /// Uniform over all published items.
    case explore
    /// A recent item of an author the user follows.
    case follow
    /// A local item of the user's home city.
    case local
}

/// The logging policy: the production system whose choices the log records. It fills each slot of
/// a page from one source, drawn with the shares of ``LoggingPolicyConfig``, so the log carries a
/// selection bias (popular and personal items are over-shown) and some random exploration.
///
/// Sources, at policy time `t` (the session's start):
/// - personal: pick one of the user's interests by weight (with chance `neighbourExploration` a
///   random sibling subcategory of it), draw `candidates` items from that subcategory, each with
///   even odds uniformly among items published within `recentWindow` or uniformly among all
///   published ones; keep the best unseen one by `3.5 (u~ . v) + 0.5 q - 0.3 log2(1 + age_days)`,
///   where `u~ = u + noise` (norm `tasteNoise`, fixed per user) is the policy's view of the taste.
/// - popular: the `popularPoolSize` items with the highest decayed click counts
///   (half-life `popularHalfLife`), refreshed every `popularRefresh` seconds, drawn with weight
///   `count^popularSharpness`. Exposure feeds clicks feeds exposure: this loop, with quality and
///   freshness, gives the heavy-tailed popularity. Before any clicks the pool holds the back
///   catalog's best items by a pseudo-count `0.05 e^q`.
/// - fresh: uniform over items published within `freshWindow`.
/// - explore: uniform over all published items.
/// - follow: a followed author uniformly, then uniformly one of their items of the recent window
///   (or of their last 20 when none is recent).
/// - local: the user's city's local items, uniformly among the recent ones (70%) or all published.
/// A source with nothing to offer falls back to explore. A user is never shown an item that is among
/// their last `exposureMemory` impressions, rounded up to a multiple of 8 (4 tries, then 8 explore
/// tries, then it is shown anyway).
///
/// Pools (subcategory, author, city) list items in index order, which is publish order, so the
/// items published by `t` are a prefix and the recent ones a suffix of that prefix; both ends only
/// move forward in time and are tracked per pool. A draw costs O(1) (popular: O(log pool size)).
struct LoggingPolicy {
    let truth: GroundTruth
    let config: LoggingPolicyConfig
    let d: Int
    let sourceCumulative: [Double]
    /// The policy's noisy view of each user's taste.
    let policyTaste: [Float]

    // Global publish-order boundaries at the current policy time.
    var published = 0, freshStart = 0, recentStart = 0

    // Pools: CSR item lists with per-pool moving ends.
    let bySub: (offsets: [Int], members: [Int32])
    /// Copies of what a personal draw reads, in subcategory-pool order, so a candidate costs one
    /// or two cache lines instead of four scattered reads.
    let poolTaste: [Float]
    let poolMeta: [PoolEntry]
    var subEnd: [Int], subRecent: [Int]
    let byAuthor: (offsets: [Int], members: [Int32])
    var authorEnd: [Int], authorRecent: [Int]
    let byCity: (offsets: [Int], members: [Int32])
    var cityEnd: [Int], cityRecent: [Int]

    var popular: PopularPool
    let periodStart: Double
    // Exposure memory: a ring of the last `memory` items per user.
    let memory: Int
    var seen: [Int32]
    var seenNext: [Int32]

    init(truth: GroundTruth, config: LoggingPolicyConfig, cities: Int, seed: UInt64, start: Double) {
        self.truth = truth
        self.config = config
        d = truth.dimension
        let shares = config.shares, total = shares.reduce(0, +)
        var acc = 0.0
        sourceCumulative = shares.map { acc += $0 / total; return acc }

        var r = Xoshiro256(seed: seed, stream: WorldBuilder.Stream.policy.rawValue)
        var view = truth.userTaste
        let d = truth.dimension
        view.withUnsafeMutableBufferPointer { v in
            var noise = [Float](repeating: 0, count: d)
            noise.withUnsafeMutableBufferPointer { nz in
                for u in 0..<truth.userCount {
                    Vec.randomDirection(nz.baseAddress!, d, scale: config.tasteNoise, &r)
                    Vec.add(v.baseAddress! + u * d, nz.baseAddress!, d)
                }
            }
        }
        policyTaste = view

        bySub = groupByKey(truth.itemSubcategory, groups: truth.subcategoryCount)
        var poolTaste = [Float](repeating: 0, count: truth.itemCount * d)
        var poolMeta = [PoolEntry]()
        poolMeta.reserveCapacity(truth.itemCount)
        for (pos, item) in bySub.members.enumerated() {
            let i = Int(item)
            for k in 0..<d { poolTaste[pos * d + k] = truth.itemTaste[i * d + k] }
            poolMeta.append(PoolEntry(item: item, quality: truth.itemQuality[i],
                                      published: Float(truth.itemPublishedAt[i] - start)))
        }
        self.poolTaste = poolTaste
        self.poolMeta = poolMeta
        self.periodStart = start
        subEnd = Array(bySub.offsets.dropLast()); subRecent = subEnd
        byAuthor = groupByKey(truth.itemAuthor, groups: truth.authorCount)
        authorEnd = Array(byAuthor.offsets.dropLast()); authorRecent = authorEnd
        // Local items by the city they are nearest to (items that are not local get key `cities`).
        var cityKey = [Int32](repeating: Int32(cities), count: truth.itemCount)
        for i in 0..<truth.itemCount where truth.isLocal(i) {
            var best = 0, bestD = Float.infinity
            for (c, p) in truth.cityCentres.enumerated() {
                let dist = GroundTruth.approximateKm(truth.itemLatitude[i], truth.itemLongitude[i], Float(p.latitude), Float(p.longitude))
                if dist < bestD { bestD = dist; best = c }
            }
            cityKey[i] = Int32(best)
        }
        byCity = groupByKey(cityKey, groups: cities + 1)
        cityEnd = Array(byCity.offsets.dropLast()); cityRecent = cityEnd

        popular = PopularPool(truth: truth, config: config, start: start)
        memory = (config.exposureMemory + 7) / 8 * 8
        seen = [Int32](repeating: -1, count: truth.userCount * max(1, memory))
        seenNext = [Int32](repeating: 0, count: truth.userCount)
    }

    /// Moves the policy's clock forward to `t` (never backward).
    mutating func advance(to t: Double) {
        let pub = truth.itemPublishedAt, m = pub.count
        while published < m && pub[published] <= t { published += 1 }
        while freshStart < published && pub[freshStart] < t - config.freshWindow { freshStart += 1 }
        while recentStart < published && pub[recentStart] < t - config.recentWindow { recentStart += 1 }
        popular.refreshIfDue(at: t)
    }

    /// Advances a pool's two moving ends to the boundaries `published` and `recentStart` (global
    /// item indices); returns the pool's (start, recent, end) positions.
    @inline(__always)
    static func poolBounds(_ g: (offsets: [Int], members: [Int32]), _ p: Int, published: Int, recentStart: Int,
                           end: inout [Int], recent: inout [Int]) -> (Int, Int, Int) {
        let hi = g.offsets[p + 1]
        var e = end[p]
        while e < hi && Int(g.members[e]) < published { e += 1 }
        var rc = max(recent[p], g.offsets[p])
        while rc < e && Int(g.members[rc]) < recentStart { rc += 1 }
        end[p] = e; recent[p] = rc
        return (g.offsets[p], rc, e)
    }

    @inline(__always)
    func hasSeen(user u: Int, item i: Int32) -> Bool {
        if memory == 0 { return false }
        return seen.withUnsafeBufferPointer { s in
            let row = UnsafeRawPointer(s.baseAddress! + u * memory)
            let target = SIMD8<Int32>(repeating: i)
            var hit = SIMDMask<SIMD8<Int32>>(repeating: false)
            var k = 0
            while k < memory {
                hit .|= row.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Int32>.self) .== target
                k += 8
            }
            return any(hit)
        }
    }

    @inline(__always)
    mutating func markSeen(user u: Int, item i: Int32) {
        if memory == 0 { return }
        let k = Int(seenNext[u])
        seen[u * memory + k] = i
        seenNext[u] = Int32((k + 1) % memory)
    }

    /// Chooses the item for one slot. Returns the item and the source that chose it, or nil when
    /// nothing is published yet.
    mutating func choose(user u: Int, time t: Double, _ r: inout Xoshiro256) -> (item: Int32, source: ImpressionSource)? {
        let x = r.uniform()
        var source = ImpressionSource.explore
        for (k, c) in sourceCumulative.enumerated() where x < c { source = ImpressionSource(rawValue: UInt8(k))!; break }
        for _ in 0..<4 {
            if let i = draw(source, user: u, time: t, &r), !hasSeen(user: u, item: i) { markSeen(user: u, item: i); return (i, source) }
        }
        var last: Int32 = -1
        for _ in 0..<8 {
            guard let i = draw(.explore, user: u, time: t, &r) else { return nil }
            last = i
            if !hasSeen(user: u, item: i) { break }
        }
        markSeen(user: u, item: last)
        return (last, .explore)
    }

    mutating func draw(_ source: ImpressionSource, user u: Int, time t: Double, _ r: inout Xoshiro256) -> Int32? {
        switch source {
        case .personal: return drawPersonal(user: u, time: t, &r) ?? drawUniform(from: 0, to: published, &r)
        case .popular: return popular.draw(&r) ?? drawUniform(from: 0, to: published, &r)
        case .fresh: return drawUniform(from: freshStart, to: published, &r) ?? drawUniform(from: 0, to: published, &r)
        case .explore: return drawUniform(from: 0, to: published, &r)
        case .follow: return drawFollowed(user: u, &r) ?? drawUniform(from: 0, to: published, &r)
        case .local: return drawLocal(user: u, &r) ?? drawUniform(from: 0, to: published, &r)
        }
    }

    @inline(__always)
    func drawUniform(from lo: Int, to hi: Int, _ r: inout Xoshiro256) -> Int32? {
        hi > lo ? Int32(lo + r.below(hi - lo)) : nil
    }

    mutating func drawPersonal(user u: Int, time t: Double, _ r: inout Xoshiro256) -> Int32? {
        let lo = truth.interestOffsets[u], hi = truth.interestOffsets[u + 1]
        guard hi > lo else { return nil }
        var x = r.uniformFloat(), j = lo
        while j < hi - 1 { x -= truth.interestWeights[j]; if x < 0 { break }; j += 1 }
        var s = Int(truth.interests[j])
        if r.uniform() < config.neighbourExploration {
            let per = truth.subcategoriesPerTop
            s = (s / per) * per + r.below(per)
        }
        let (start, recent, end) = Self.poolBounds(bySub, s, published: published, recentStart: recentStart, end: &subEnd, recent: &subRecent)
        guard end > start else { return nil }
        var best: Int32 = -1, bestScore = -Float.infinity
        let d = self.d, now = Float(t - periodStart)
        let candidates = config.candidates
        poolTaste.withUnsafeBufferPointer { taste in
            poolMeta.withUnsafeBufferPointer { meta in
                policyTaste.withUnsafeBufferPointer { pt in
                    let view = pt.baseAddress! + u * d
                    for _ in 0..<candidates {
                        let pos = end > recent && r.uniform() < 0.5 ? recent + r.below(end - recent) : start + r.below(end - start)
                        let e = meta[pos]
                        if hasSeen(user: u, item: e.item) { continue }
                        let ageDays = max(0, now - e.published) / 86_400
                        let score = 3.5 * Vec.dot(view, taste.baseAddress! + pos * d, d)
                            + 0.5 * e.quality - 0.3 * Foundation.log2(1 + ageDays)
                        if score > bestScore { bestScore = score; best = e.item }
                    }
                }
            }
        }
        return best >= 0 ? best : nil
    }

    /// The policy's estimate of item `i` for user `u` at time `t`: the personal draw's score,
    /// `3.5 (u~ . v) + 0.5 q - 0.3 log2(1 + age_days)` with the policy's noisy view of the taste.
    func score(user u: Int, item i: Int32, time t: Double) -> Float {
        let d = self.d, item = Int(i)
        let ageDays = Float(Swift.max(0, t - truth.itemPublishedAt[item]) / 86_400)
        let dot = policyTaste.withUnsafeBufferPointer { pt in
            truth.itemTaste.withUnsafeBufferPointer { it in Vec.dot(pt.baseAddress! + u * d, it.baseAddress! + item * d, d) }
        }
        return 3.5 * dot + 0.5 * truth.itemQuality[item] - 0.3 * Foundation.log2(1 + ageDays)
    }

    mutating func drawFollowed(user u: Int, _ r: inout Xoshiro256) -> Int32? {
        let lo = truth.followOffsets[u], hi = truth.followOffsets[u + 1]
        guard hi > lo else { return nil }
        let a = Int(truth.follows[lo + r.below(hi - lo)])
        let (start, recent, end) = Self.poolBounds(byAuthor, a, published: published, recentStart: recentStart, end: &authorEnd, recent: &authorRecent)
        guard end > start else { return nil }
        let from = end > recent ? recent : max(start, end - 20)
        return byAuthor.members[from + r.below(end - from)]
    }

    mutating func drawLocal(user u: Int, _ r: inout Xoshiro256) -> Int32? {
        let c = Int(truth.userCity[u])
        let (start, recent, end) = Self.poolBounds(byCity, c, published: published, recentStart: recentStart, end: &cityEnd, recent: &cityRecent)
        guard end > start else { return nil }
        let from = end > recent && r.uniform() < 0.7 ? recent : start
        return byCity.members[from + r.below(end - from)]
    }
}
