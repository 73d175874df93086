import Foundation
import CascadeCore

/// Draws the hidden structure of a world: categories, tags, cities, authors and items. Users are
/// drawn in `WorldBuilder+Users.swift`, entities (``User``, ``Item``) in `WorldBuilder+Entities.swift`.
///
/// Every part draws from its own stream (`Xoshiro256(seed:stream:index:)`), and items are drawn in
/// chunks of 4,096 with a stream per chunk, so the world does not depend on thread scheduling.
///
/// Modelling choices:
/// - Top category `c` has popularity `1 / (c + 1)^categoryZipf`; subcategory `j` within it
///   `1 / (j + 1)^0.5`. These weights decide how many authors (hence items) and users each gets.
/// - Each top category has a peak hour (uniform over the day), a freshness decay rate (uniform over
///   ``ResponseParameters/freshnessDecay``) and a median item length `60 * e^N(0,1)` seconds, clamped
///   to 10...1800.
/// - Cities sit at uniform random points in latitude 22...45, longitude 100...122; city `k` has
///   population weight `1 / (k + 1)`.
/// - Authors: a subcategory drawn by popularity, a city by population, a style direction, and a
///   productivity `Pareto(1.5)` capped at 200 (a few authors publish much of the catalog).
/// - Items: index order is publish order. Item `j` of `M` is published at the `(j + U)/M` quantile
///   of the publish distribution: a share `catalogShare` uniform over the `catalogDays` before
///   the start, the rest uniform over the period. Its author is drawn by productivity; its
///   subcategory is the author's (75%), a sibling in the same top category (15%) or any by
///   popularity (10%); it carries 2-4 distinct tags of its subcategory; length is the top
///   category's median times `e^(0.5 N)`, rounded to whole seconds, within 3...7200; a share
///   `localItemShare` of items is local, placed `N(0, 0.08 deg)` around the author's city.
struct WorldBuilder {
    let config: SimConfig
    let d: Int
    var truth: GroundTruth
    /// Subcategory popularity (product of top and within-top weights).
    var subcategoryPopularity: [Double] = []
    var subcategorySampler: AliasTable? = nil
    var topPopularity: [Double] = []
    var cityPopulation: [Double] = []
    /// Authors of each subcategory (CSR), for drawing followed authors.
    var authorsBySubcategory: (offsets: [Int], members: [Int32]) = ([0], [])
    var authorSampler: AliasTable? = nil

    enum Stream: UInt64 {
        case categories = 1, cities, authors, items, users, demographics, follows, policy, sessions, responses
    }

    init(_ config: SimConfig) {
        self.config = config
        d = config.dimension
        truth = GroundTruth(dimension: config.dimension, response: config.response,
                            subcategoriesPerTop: config.subcategoriesPerTop)
        truth.tagsPerSubcategory = config.tagsPerSubcategory
    }

    func rng(_ s: Stream, _ index: UInt64 = 0) -> Xoshiro256 {
        Xoshiro256(seed: config.seed, stream: s.rawValue, index: index)
    }

    mutating func buildCategories() {
        var r = rng(.categories)
        let tops = config.topCategories, subs = config.subcategoriesPerTop, nSub = config.subcategoryCount
        topPopularity = (0..<tops).map { 1 / Foundation.pow(Double($0 + 1), config.taste.categoryZipf) }
        subcategoryPopularity = (0..<nSub).map { s in topPopularity[s / subs] / Double(s % subs + 1).squareRoot() }
        subcategorySampler = AliasTable(weights: subcategoryPopularity)

        var topCentres = [Float](repeating: 0, count: tops * d)
        var subCentres = [Float](repeating: 0, count: nSub * d)
        var scratch = [Float](repeating: 0, count: d)
        topCentres.withUnsafeMutableBufferPointer { tc in
            subCentres.withUnsafeMutableBufferPointer { sc in
                scratch.withUnsafeMutableBufferPointer { tmp in
                    for c in 0..<tops { Vec.randomDirection(tc.baseAddress! + c * d, d, scale: 1, &r) }
                    for s in 0..<nSub {
                        let out = sc.baseAddress! + s * d
                        Vec.randomDirection(tmp.baseAddress!, d, scale: config.taste.subSpread, &r)
                        for k in 0..<d { out[k] = tc[(s / subs) * d + k] + tmp[k] }
                        Vec.normalize(out, d)
                    }
                }
            }
        }
        truth.topCentres = topCentres
        truth.subcategoryCentres = subCentres
        let decay = config.response.freshnessDecay
        truth.topPeakHour = (0..<tops).map { _ in 24 * r.uniformFloat() }
        truth.topDecay = (0..<tops).map { _ in decay.lowerBound + (decay.upperBound - decay.lowerBound) * r.uniformFloat() }
        truth.topMedianLength = (0..<tops).map { _ in Float(min(1_800, max(10, 60 * Foundation.exp(r.normal())))) }

        let nTags = nSub * config.tagsPerSubcategory
        var tags = [Float](repeating: 0, count: nTags * d)
        tags.withUnsafeMutableBufferPointer { t in
            for j in 0..<nTags { Vec.randomDirection(t.baseAddress! + j * d, d, scale: config.taste.tagStrength, &r) }
        }
        truth.tagDirections = tags
    }

    mutating func buildCities() {
        var r = rng(.cities)
        truth.cityCentres = (0..<config.cities).map { _ in
            GeoPoint(latitude: 22 + 23 * r.uniform(), longitude: 100 + 22 * r.uniform())
        }
        cityPopulation = (0..<config.cities).map { 1 / Double($0 + 1) }
    }

    mutating func buildAuthors() {
        var r = rng(.authors)
        let n = config.authors
        let cities = AliasTable(weights: cityPopulation)
        var sub = [Int32](repeating: 0, count: n), city = [Int32](repeating: 0, count: n)
        var productivity = [Float](repeating: 0, count: n)
        var style = [Float](repeating: 0, count: n * d)
        style.withUnsafeMutableBufferPointer { st in
            for a in 0..<n {
                sub[a] = Int32(subcategorySampler!.sample(&r))
                city[a] = Int32(cities.sample(&r))
                productivity[a] = Float(min(200, r.pareto(alpha: 1.5)))
                Vec.randomDirection(st.baseAddress! + a * d, d, scale: config.taste.authorStyle, &r)
            }
        }
        truth.authorSubcategory = sub
        truth.authorCity = city
        truth.authorProductivity = productivity
        truth.authorStyle = style
        authorSampler = AliasTable(weights: productivity.map(Double.init))
        authorsBySubcategory = groupByKey(sub, groups: config.subcategoryCount)
    }

    mutating func buildItems() {
        let m = config.items, d = self.d
        let subs = config.subcategoriesPerTop, tagsPer = config.tagsPerSubcategory
        var taste = [Float](repeating: 0, count: m * d)
        var quality = [Float](repeating: 0, count: m), length = [Float](repeating: 0, count: m)
        var published = [Double](repeating: 0, count: m)
        var subOf = [Int32](repeating: 0, count: m), authorOf = [Int32](repeating: 0, count: m)
        var lat = [Float](repeating: .nan, count: m), lon = [Float](repeating: .nan, count: m)
        var tagSlots = [Int32](repeating: -1, count: m * 4)
        let t = truth, cfg = config, authors = authorSampler!, subSampler = subcategorySampler!
        let seed = config.seed
        taste.withUnsafeMutableBufferPointer { tb in
        quality.withUnsafeMutableBufferPointer { qb in
        length.withUnsafeMutableBufferPointer { lb in
        published.withUnsafeMutableBufferPointer { pb in
        subOf.withUnsafeMutableBufferPointer { sb in
        authorOf.withUnsafeMutableBufferPointer { ab in
        lat.withUnsafeMutableBufferPointer { latb in
        lon.withUnsafeMutableBufferPointer { lonb in
        tagSlots.withUnsafeMutableBufferPointer { tgb in
            let tv = SendablePointer(tb), qv = SendablePointer(qb), lv = SendablePointer(lb), pv = SendablePointer(pb)
            let sv = SendablePointer(sb), av = SendablePointer(ab), lav = SendablePointer(latb), lov = SendablePointer(lonb)
            let tgv = SendablePointer(tgb)
            Parallel.forEachChunk(count: m, chunkSize: 4_096) { chunk, range in
                var r = Xoshiro256(seed: seed, stream: Stream.items.rawValue, index: UInt64(chunk))
                var noise = [Float](repeating: 0, count: d)
                noise.withUnsafeMutableBufferPointer { nb in
                    let nz = nb.baseAddress!
                    for j in range {
                        pv[j] = Self.publishTime(cfg, quantile: (Double(j) + r.uniform()) / Double(m))
                        let a = authors.sample(&r)
                        av[j] = Int32(a)
                        let own = Int(t.authorSubcategory[a])
                        let roll = r.uniform()
                        let s: Int
                        if roll < 0.75 { s = own } else if roll < 0.9 { s = (own / subs) * subs + r.below(subs) } else { s = subSampler.sample(&r) }
                        sv[j] = Int32(s)
                        let row = tv.base + j * d
                        for k in 0..<d { row[k] = t.subcategoryCentres[s * d + k] + t.authorStyle[a * d + k] }
                        let nTags = min(tagsPer, 2 + r.below(3))
                        var chosen = 0
                        while chosen < nTags {
                            let tag = Int32(s * tagsPer + r.below(tagsPer))
                            var dup = false
                            for q in 0..<chosen where tgv[j * 4 + q] == tag { dup = true }
                            if dup { continue }
                            tgv[j * 4 + chosen] = tag
                            chosen += 1
                            for k in 0..<d { row[k] += t.tagDirections[Int(tag) * d + k] }
                        }
                        Vec.randomDirection(nz, d, scale: cfg.taste.itemNoise, &r)
                        Vec.add(row, nz, d)
                        qv[j] = cfg.taste.qualitySpread * r.normalFloat()
                        let median = t.topMedianLength[s / subs]
                        lv[j] = min(7_200, max(3, (median * Foundation.exp(0.5 * r.normalFloat())).rounded()))
                        if r.uniform() < cfg.localItemShare {
                            let c = t.cityCentres[Int(t.authorCity[a])]
                            lav[j] = Float(c.latitude + 0.08 * r.normal())
                            lov[j] = Float(c.longitude + 0.08 * r.normal())
                        }
                    }
                }
            }
        }}}}}}}}}
        var tagOffsets = [Int](repeating: 0, count: m + 1)
        var tags: [Int32] = []
        tags.reserveCapacity(m * 3)
        for j in 0..<m {
            for q in 0..<4 where tagSlots[j * 4 + q] >= 0 { tags.append(tagSlots[j * 4 + q]) }
            tagOffsets[j + 1] = tags.count
        }
        truth.itemTaste = taste
        truth.itemQuality = quality
        truth.itemLength = length
        truth.itemPublishedAt = published
        truth.itemSubcategory = subOf
        truth.itemAuthor = authorOf
        truth.itemLatitude = lat
        truth.itemLongitude = lon
        truth.itemTagOffsets = tagOffsets
        truth.itemTags = tags
    }

    /// Publish time of the item at quantile `x` in [0, 1) of the publish distribution.
    static func publishTime(_ config: SimConfig, quantile x: Double) -> Double {
        let share = config.catalogShare
        if x < share {
            let span = config.catalogDays * 86_400
            return config.start - span + span * (x / share)
        }
        return config.start + config.duration * ((x - share) / max(1e-12, 1 - share))
    }
}
