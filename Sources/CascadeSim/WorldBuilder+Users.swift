import Foundation
import CascadeCore

/// Profile attribute values and their shares in the population.
enum Profile {
    static let ageBands = ["18-24", "25-34", "35-44", "45-54", "55+"]
    static let ageShares = [0.22, 0.32, 0.22, 0.14, 0.10]
    static let ageRanges: [ClosedRange<Int>] = [18...24, 25...34, 35...44, 45...54, 55...75]
    static let genders = ["f", "m"]
    static let genderShares = [0.5, 0.5]
    static let platforms = ["ios", "android", "web"]
    static let platformShares = [0.4, 0.48, 0.12]

    static func draw(_ shares: [Double], _ r: inout Xoshiro256) -> Int {
        var x = r.uniform() * shares.reduce(0, +)
        for (i, s) in shares.enumerated() { x -= s; if x < 0 { return i } }
        return shares.count - 1
    }
}

/// Users' drawn profile attributes, kept for building ``User`` values.
struct UserProfiles {
    var ageBand: [UInt8] = []
    var age: [UInt8] = []
    var gender: [UInt8] = []
    var platform: [UInt8] = []
    /// Whether the user declares their strongest interest (a `interest:cN` tag).
    var declaresInterest: [Bool] = []
}

/// Users. Modelling choices:
/// - Age band, gender and platform are drawn from fixed shares, the city by population.
/// - Each attribute value tilts the top-category distribution: a log-weight per (value, top
///   category) drawn once per world, `N(0, 0.8^2)` for age bands, `N(0, 0.6^2)` for gender,
///   `N(0, 0.3^2)` for platform and `N(0, 0.5^2)` for city. A user's interests are drawn from
///   `popularity_c * exp(sum of the tilts of the user's attribute values)`, then a subcategory
///   within the top category by its within-top weight. So profiles predict tastes, imperfectly.
/// - One, two or three interests (``TasteParameters/interestCounts``), distinct subcategories,
///   weights `E_k / sum E` for unit exponentials `E_k`, strongest first. Taste is
///   `normalize(sum_k w_k centre_k + noise)`, noise of norm ``TasteParameters/userNoise``.
/// - Activity `Pareto(activityTail)` capped at `maxActivity`; click bias `N(0, userBiasSpread^2)`;
///   like bias `N(0, likeBiasSpread^2)`; home `N(0, 0.08 deg)` around the city centre.
/// - Follows: `Poisson(meanFollows)` authors (at most 30), each with 70% chance an author of one
///   of the user's interests (by interest weight, then uniformly), otherwise any author by
///   productivity. Half the users declare their strongest interest's top category as a tag.
extension WorldBuilder {
    mutating func buildUsers() -> UserProfiles {
        let n = config.users, d = self.d, tops = config.topCategories, subs = config.subcategoriesPerTop
        var dr = rng(.demographics)
        func tilt(_ rows: Int, _ spread: Double) -> [Double] {
            (0..<(rows * tops)).map { _ in Foundation.exp(spread * dr.normal()) }
        }
        let ageTilt = tilt(Profile.ageBands.count, 0.8), genderTilt = tilt(Profile.genders.count, 0.6)
        let platformTilt = tilt(Profile.platforms.count, 0.3), cityTilt = tilt(config.cities, 0.5)
        let withinTop = (0..<subs).map { 1 / Double($0 + 1).squareRoot() }
        let cityShares = cityPopulation, pop = topPopularity, cfg = config, t = truth
        let seed = config.seed

        var taste = [Float](repeating: 0, count: n * d)
        var clickBias = [Float](repeating: 0, count: n), likeBias = [Float](repeating: 0, count: n)
        var activity = [Float](repeating: 0, count: n), city = [Int32](repeating: 0, count: n)
        var lat = [Float](repeating: 0, count: n), lon = [Float](repeating: 0, count: n)
        var interestSlots = [Int32](repeating: -1, count: n * 3), weightSlots = [Float](repeating: 0, count: n * 3)
        var ageBand = [UInt8](repeating: 0, count: n), age = [UInt8](repeating: 0, count: n)
        var gender = [UInt8](repeating: 0, count: n), platform = [UInt8](repeating: 0, count: n)
        var declares = [Bool](repeating: false, count: n)

        taste.withUnsafeMutableBufferPointer { tb in
        clickBias.withUnsafeMutableBufferPointer { cbb in
        likeBias.withUnsafeMutableBufferPointer { lbb in
        activity.withUnsafeMutableBufferPointer { acb in
        city.withUnsafeMutableBufferPointer { cib in
        lat.withUnsafeMutableBufferPointer { latb in
        lon.withUnsafeMutableBufferPointer { lonb in
        interestSlots.withUnsafeMutableBufferPointer { isb in
        weightSlots.withUnsafeMutableBufferPointer { wsb in
        ageBand.withUnsafeMutableBufferPointer { abb in
        age.withUnsafeMutableBufferPointer { agb in
        gender.withUnsafeMutableBufferPointer { geb in
        platform.withUnsafeMutableBufferPointer { plb in
        declares.withUnsafeMutableBufferPointer { deb in
            let tv = SendablePointer(tb), cbv = SendablePointer(cbb), lbv = SendablePointer(lbb), acv = SendablePointer(acb)
            let civ = SendablePointer(cib), lav = SendablePointer(latb), lov = SendablePointer(lonb)
            let isv = SendablePointer(isb), wsv = SendablePointer(wsb), abv = SendablePointer(abb), agv = SendablePointer(agb)
            let gev = SendablePointer(geb), plv = SendablePointer(plb), dev = SendablePointer(deb)
            Parallel.forEachChunk(count: n, chunkSize: 4_096) { chunk, range in
                var r = Xoshiro256(seed: seed, stream: Stream.users.rawValue, index: UInt64(chunk))
                var weights = [Double](repeating: 0, count: tops)
                var scratch = [Float](repeating: 0, count: d)
                for u in range {
                    let a = Profile.draw(Profile.ageShares, &r), g = Profile.draw(Profile.genderShares, &r)
                    let p = Profile.draw(Profile.platformShares, &r), c = Profile.draw(cityShares, &r)
                    abv[u] = UInt8(a); gev[u] = UInt8(g); plv[u] = UInt8(p); civ[u] = Int32(c)
                    let ar = Profile.ageRanges[a]
                    agv[u] = UInt8(ar.lowerBound + r.below(ar.count))
                    var total = 0.0
                    for k in 0..<tops {
                        let w = pop[k] * ageTilt[a * tops + k] * genderTilt[g * tops + k]
                            * platformTilt[p * tops + k] * cityTilt[c * tops + k]
                        weights[k] = w
                        total += w
                    }
                    let want = 1 + Profile.draw(cfg.taste.interestCounts, &r)
                    var have = 0, attempts = 0
                    var sumE = 0.0
                    var es: (Double, Double, Double) = (0, 0, 0)
                    while have < want && attempts < 20 {
                        attempts += 1
                        var x = r.uniform() * total, top = tops - 1
                        for k in 0..<tops { x -= weights[k]; if x < 0 { top = k; break } }
                        let sub = Int32(top * subs + Profile.draw(withinTop, &r))
                        var dup = false
                        for q in 0..<have where isv[u * 3 + q] == sub { dup = true }
                        if dup { continue }
                        isv[u * 3 + have] = sub
                        let e = r.exponential()
                        if have == 0 { es.0 = e } else if have == 1 { es.1 = e } else { es.2 = e }
                        sumE += e
                        have += 1
                    }
                    // Weights, then order strongest first (at most three: a small sort by hand).
                    var ws = [Float(es.0 / sumE), Float(es.1 / sumE), Float(es.2 / sumE)]
                    for i in 0..<have { for j in (i + 1)..<max(i + 1, have) where ws[j] > ws[i] {
                        ws.swapAt(i, j)
                        let tmp = isv[u * 3 + i]; isv[u * 3 + i] = isv[u * 3 + j]; isv[u * 3 + j] = tmp
                    } }
                    let row = tv.base + u * d
                    for q in 0..<have {
                        let s = Int(isv[u * 3 + q])
                        wsv[u * 3 + q] = ws[q]
                        for k in 0..<d { row[k] += ws[q] * t.subcategoryCentres[s * d + k] }
                    }
                    scratch.withUnsafeMutableBufferPointer { sp in
                        Vec.randomDirection(sp.baseAddress!, d, scale: cfg.taste.userNoise, &r)
                        Vec.add(row, sp.baseAddress!, d)
                    }
                    Vec.normalize(row, d)
                    acv[u] = Float(min(cfg.maxActivity, r.pareto(alpha: cfg.activityTail)))
                    cbv[u] = cfg.response.userBiasSpread * r.normalFloat()
                    lbv[u] = cfg.response.likeBiasSpread * r.normalFloat()
                    let home = t.cityCentres[c]
                    lav[u] = Float(home.latitude + 0.08 * r.normal())
                    lov[u] = Float(home.longitude + 0.08 * r.normal())
                    dev[u] = r.uniform() < 0.5
                }
            }
        }}}}}}}}}}}}}}

        var offsets = [Int](repeating: 0, count: n + 1)
        var interests: [Int32] = [], interestWeights: [Float] = []
        interests.reserveCapacity(n * 2); interestWeights.reserveCapacity(n * 2)
        for u in 0..<n {
            for q in 0..<3 where interestSlots[u * 3 + q] >= 0 {
                interests.append(interestSlots[u * 3 + q]); interestWeights.append(weightSlots[u * 3 + q])
            }
            offsets[u + 1] = interests.count
        }
        truth.userTaste = taste
        truth.userClickBias = clickBias
        truth.userLikeBias = likeBias
        truth.userActivity = activity
        truth.userCity = city
        truth.userLatitude = lat
        truth.userLongitude = lon
        truth.interestOffsets = offsets
        truth.interests = interests
        truth.interestWeights = interestWeights
        buildFollows()
        return UserProfiles(ageBand: ageBand, age: age, gender: gender, platform: platform, declaresInterest: declares)
    }

    /// Followed authors (serial: a few per user).
    mutating func buildFollows() {
        var r = rng(.follows)
        let n = config.users
        var offsets = [Int](repeating: 0, count: n + 1)
        var follows: [Int32] = []
        follows.reserveCapacity(Int(Double(n) * config.meanFollows) + 16)
        var mine: [Int32] = []
        let bySub = authorsBySubcategory
        for u in 0..<n {
            mine.removeAll(keepingCapacity: true)
            let count = min(30, r.poisson(config.meanFollows))
            let lo = truth.interestOffsets[u], hi = truth.interestOffsets[u + 1]
            var attempts = 0
            while mine.count < count && attempts < 4 * count + 4 {
                attempts += 1
                var author: Int32 = -1
                if r.uniform() < 0.7 && hi > lo {
                    var x = r.uniformFloat(), j = lo
                    while j < hi - 1 { x -= truth.interestWeights[j]; if x < 0 { break }; j += 1 }
                    let s = Int(truth.interests[j])
                    let a0 = bySub.offsets[s], a1 = bySub.offsets[s + 1]
                    if a1 > a0 { author = bySub.members[a0 + r.below(a1 - a0)] }
                }
                if author < 0 { author = Int32(authorSampler!.sample(&r)) }
                if !mine.contains(author) { mine.append(author) }
            }
            mine.sort()
            follows.append(contentsOf: mine)
            offsets[u + 1] = follows.count
        }
        truth.followOffsets = offsets
        truth.follows = follows
    }
}
