import CascadeCore
import Foundation

/// Geo recall: good items near the user. Items with a location are indexed by the GeoHash of
/// their location at `precision` characters (5: cells of about 4.9 km x 4.9 km); each cell keeps
/// only its best `perCell` items by quality. At request time the user's cell and its eight
/// neighbours (``GeoHash/neighbours(_:)``) are looked up and their lists merged by score; which
/// of the nearby items the user likes is left to the ranking stages. Users without a (valid)
/// location get nothing.
///
/// Quality is either popularity (the type-weighted count of positive events, optionally decayed
/// with a half-life) or the Bayesian-smoothed positive rate of ``RuleEngagement``; either way an
/// item needs `minPositives` (at least one) positive events to be indexed at all, and with the smoothed rate it
/// must also reach `floorRatio` times the prior rate. A `maxAge` keeps only recent items
/// (checked again at request time); items published after the request time are never returned.
///
/// Build: O(events + located items x precision + items log items).
/// Recall: O(9 x perCell x log quota) plus nine GeoHash encodings.
public struct GeoRecall: RecallChannel {
    public enum Quality: UInt8, Sendable, Equatable, CaseIterable {
        /// Type-weighted positive events (decayed when `halfLife` is set).
        case popularity = 0
        /// Smoothed positive rate over exposures.
        case smoothedRate = 1
    }

    public struct Parameters: Sendable, Equatable {
        /// GeoHash characters of a cell, 1-12.
        public var precision = 5
        /// Items kept per cell, best first.
        public var perCell = 200
        public var quality: Quality = .popularity
        /// Seconds after which an event counts half in popularity; nil for all-time counts.
        public var halfLife: Double? = nil
        /// Positive events an item needs to be indexed (at least 1).
        public var minPositives = 1
        /// Event-type code of impressions (for the smoothed rate).
        public var impressionType: UInt8 = 0
        /// Pseudo-exposures of the rate prior.
        public var priorStrength: Double = 50
        /// Prior positive rate; nil estimates it from the log, falling back to 0.1.
        public var priorRate: Double? = nil
        /// With the smoothed rate, items below `floorRatio * priorRate` are left out.
        public var floorRatio: Double = 1
        /// Only items published at most this many seconds before the request; nil for any age.
        /// Items without a publish time pass only when this is nil.
        public var maxAge: Double? = nil
        /// Score multiplier for items of the eight neighbouring cells (1: merge by score alone).
        public var neighbourWeight: Float = 1
        public init() {}
    }

    public let name: String
    public let precision: Int
    public let maxAge: Double?
    public let neighbourWeight: Float
    /// Cell hashes, sorted; cell `c` holds `items[offsets[c]..<offsets[c+1]]`, best first.
    public let cells: [String]
    public let offsets: [Int]
    public let items: [Int32]
    public let scores: [Float]
    /// Publish times of `items`, `.nan` when unknown.
    public let published: [Double]
    let cellIndex: [String: Int]

    public init(name: String = "geo", precision: Int, maxAge: Double?, neighbourWeight: Float, cells: [String],
                offsets: [Int], items: [Int32], scores: [Float], published: [Double]) {
        self.name = name
        self.precision = precision
        self.maxAge = maxAge
        self.neighbourWeight = neighbourWeight
        self.cells = cells
        self.offsets = offsets
        self.items = items
        self.scores = scores
        self.published = published
        cellIndex = Dictionary(uniqueKeysWithValues: cells.enumerated().map { ($1, $0) })
    }

    /// The indexed items of the cell `hash` (at this channel's precision), best first.
    public func items(inCell hash: String) -> [(item: Int32, score: Float)] {
        guard let c = cellIndex[hash] else { return [] }
        return (offsets[c]..<offsets[c + 1]).map { (items[$0], scores[$0]) }
    }

    /// Builds the cell index.
    /// - Parameters:
    ///   - items: the catalog in dense index order; hidden items and items without a valid
    ///     location are left out.
    ///   - log: events with dense ids; only events at or before `now` count.
    ///   - typeWeights: weight per event-type code; a positive weight marks a positive event.
    ///   - now: the build time; nil takes the latest event or publish time.
    public static func build(items: [Item], log: EventLog, typeWeights: [Float], parameters: Parameters = Parameters(),
                             now: Double? = nil, name: String = "geo") -> GeoRecall {
        precondition((1...12).contains(parameters.precision), "GeoRecall precision must be 1...12")
        let ref = now ?? max(log.maxTimestamp, items.compactMap(\.publishedAt).max() ?? 0)
        let stats = RuleEngagement(log: log, itemCount: items.count, typeWeights: typeWeights,
                                   impressionType: parameters.impressionType, halfLife: parameters.halfLife, now: ref)
        let prior = parameters.priorRate ?? stats.globalRate ?? 0.1
        var byCell: [String: [(item: Int32, score: Float)]] = [:]
        for (i, item) in items.enumerated() {
            guard !item.hidden, let loc = item.location, loc.isValid else { continue }
            guard stats.positives[i] >= Float(max(1, parameters.minPositives)) else { continue }
            if let a = parameters.maxAge {
                guard let p = item.publishedAt, p <= ref, ref - p <= a else { continue }
            }
            let score: Float
            switch parameters.quality {
            case .popularity: score = Float(stats.weighted[i])
            case .smoothedRate:
                let r = stats.smoothedRate(i, priorRate: prior, priorStrength: parameters.priorStrength)
                guard r >= parameters.floorRatio * prior else { continue }
                score = Float(r)
            }
            byCell[GeoHash.encode(loc, precision: parameters.precision), default: []].append((Int32(i), score))
        }
        let cells = byCell.keys.sorted()
        var offsets = [0], kept: [Int32] = [], scores: [Float] = [], published: [Double] = []
        for c in cells {
            var top = TopK(max(0, parameters.perCell))
            for e in byCell[c]! { top.push(e.item, e.score) }
            for e in top.sorted() {
                kept.append(e.id)
                scores.append(e.score)
                published.append(items[Int(e.id)].publishedAt ?? .nan)
            }
            offsets.append(kept.count)
        }
        return GeoRecall(name: name, precision: parameters.precision, maxAge: parameters.maxAge,
                         neighbourWeight: parameters.neighbourWeight, cells: cells, offsets: offsets,
                         items: kept, scores: scores, published: published)
    }

    /// The user's cell followed by its neighbours, each once.
    func searchCells(_ location: GeoPoint) -> [String] {
        let own = GeoHash.encode(location, precision: precision)
        var out = [own]
        for n in (try? GeoHash.neighbours(own)) ?? [] where !out.contains(n) { out.append(n) }
        return out
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0, let loc = context.location, loc.isValid, !cells.isEmpty else { return [] }
        var top = TopK(quota)
        for (k, hash) in searchCells(loc).enumerated() {
            guard let c = cellIndex[hash] else { continue }
            let factor: Float = k == 0 ? 1 : neighbourWeight
            for p in offsets[c]..<offsets[c + 1] {
                let t = published[p]
                if !t.isNaN && t > context.now { continue }
                if let a = maxAge { guard !t.isNaN, context.now - t <= a else { continue } }
                let it = items[p]
                if filter.allows(it) { top.push(it, scores[p] * factor) }
            }
        }
        return top.sorted().map { Candidate(item: $0.id, score: $0.score, channel: name) }
    }

    static let magic = "CGEO"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        w.write(UInt8(precision))
        w.write(maxAge ?? -1)
        w.write(neighbourWeight)
        w.write(strings: cells)
        w.write(array: offsets.map { Int64($0) })
        w.write(array: items)
        w.write(array: scores)
        w.write(array: published)
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        let what = "geo artifact"
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: what)
        guard r.version == 1 else { throw .corrupt("\(what): unknown version \(r.version)") }
        let name = try r.readString("name")
        let precision = Int(try r.read(UInt8.self, "precision"))
        let age = try r.readDouble("maxAge")
        let neighbourWeight = try r.readFloat("neighbourWeight")
        let cells = try r.readStrings("cells")
        let offsets = try r.readArray(Int64.self, "offsets").map { Int($0) }
        let items = try r.readArray(Int32.self, "items")
        let scores = try r.readFloats("scores")
        let published = try r.readDoubles("published")
        guard r.isAtEnd else { throw .corrupt("\(what): trailing bytes") }
        guard (1...12).contains(precision) else { throw .corrupt("\(what): precision \(precision) is outside 1...12") }
        guard age.isFinite, neighbourWeight.isFinite else { throw .corrupt("\(what): non-finite maxAge or neighbour weight") }
        guard zip(cells, cells.dropFirst()).allSatisfy({ $0 < $1 }) else { throw .corrupt("\(what): cells are not sorted and unique") }
        for c in cells {
            guard c.count == precision, (try? GeoHash.decode(c)) != nil else {
                throw .corrupt("\(what): '\(c)' is not a geohash of precision \(precision)")
            }
        }
        guard offsets.count == cells.count + 1, offsets.first == 0, offsets.last == items.count,
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else { throw .corrupt("\(what): cell offsets are inconsistent") }
        guard items.count == scores.count, items.count == published.count else {
            throw .corrupt("\(what): \(items.count) items, \(scores.count) scores, \(published.count) publish times")
        }
        guard items.allSatisfy({ $0 >= 0 }), Set(items).count == items.count else { throw .corrupt("\(what): negative or repeated item") }
        guard scores.allSatisfy(\.isFinite), published.allSatisfy({ $0.isNaN || $0.isFinite }) else {
            throw .corrupt("\(what): non-finite score or publish time")
        }
        self.init(name: name, precision: precision, maxAge: age < 0 ? nil : age, neighbourWeight: neighbourWeight,
                  cells: cells, offsets: offsets, items: items, scores: scores, published: published)
    }
}

/// The geo channel ("geo"): the best items of the request's GeoHash cell and its neighbours.
public enum GeoChannel: ChannelDefinition {
    public static let name = "geo"
    public static let summary = "items near the request's location (GeoHash cells)"
    public static let defaultParameters = GeoRecall.Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (50, 0.4)
    public static let settings: [Setting<GeoRecall.Parameters>] = [
        .int("precision", "GeoHash characters of a cell.", \.precision, 1...12),
        .int("perCell", "Items kept per cell, best first.", \.perCell, 1...Int.max),
        .float("neighbourWeight", "Score multiplier for items of the eight neighbouring cells.", \.neighbourWeight, ">= 0") { $0 >= 0 },
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: GeoRecall.Parameters) throws -> any RecallChannel {
        var p = parameters
        p.impressionType = input.registry.code(of: .impression) ?? 0
        return GeoRecall.build(items: input.items, log: input.log, typeWeights: input.typeWeights, parameters: p, name: name)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel { try GeoRecall(serialized: bytes) }
}
