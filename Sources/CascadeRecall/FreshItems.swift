import CascadeCore
import Foundation

/// Early-engagement counts per item, shared by the rule channels that judge item quality
/// (``FreshItems``, ``GeoRecall``).
///
/// For item `i`: `impressions` counts events of the impression type, `positives` counts events
/// whose type weight is positive, `weighted` sums those weights (times `2^(-age / halfLife)`
/// when a half-life is given). Events after `now` are ignored, so a channel built at a split
/// time never sees the future. Exposures are `max(impressions, positives)`: a click implies an
/// impression even when impressions are not logged, which keeps rates within [0, 1].
///
/// The smoothed positive rate is the posterior mean of a beta prior with mean `priorRate` and
/// weight `priorStrength` pseudo-exposures:
///
///     rate(i) = (positives_i + priorRate * priorStrength) / (exposures_i + priorStrength)
///
/// An item with no exposures scores the prior; evidence pulls it up or down. O(events + items).
struct RuleEngagement: Sendable {
    var impressions: [Float]
    var positives: [Float]
    var weighted: [Double]
    /// Positives over exposures across all items, or nil when nothing was exposed.
    var globalRate: Double?

    init(log: EventLog, itemCount: Int, typeWeights: [Float], impressionType: UInt8, halfLife: Double?, now: Double) {
        impressions = [Float](repeating: 0, count: itemCount)
        positives = [Float](repeating: 0, count: itemCount)
        weighted = [Double](repeating: 0, count: itemCount)
        let lambda = halfLife.map { 0.6931471805599453 / max($0, 1e-9) } ?? 0
        for e in 0..<log.count {
            let it = Int(log.items[e])
            let t = log.timestamps[e]
            guard it >= 0, it < itemCount, t <= now else { continue }
            let type = log.types[e]
            if type == impressionType { impressions[it] += 1; continue }
            let w = Int(type) < typeWeights.count ? typeWeights[Int(type)] : 0
            guard w > 0 else { continue }
            positives[it] += 1
            weighted[it] += Double(w) * (lambda > 0 ? exp(-lambda * max(0, now - t)) : 1)
        }
        var pos = 0.0, exposed = 0.0
        for i in 0..<itemCount {
            pos += Double(positives[i])
            exposed += Double(max(impressions[i], positives[i]))
        }
        globalRate = exposed > 0 ? pos / exposed : nil
    }

    func exposures(_ i: Int) -> Double { Double(max(impressions[i], positives[i])) }

    func smoothedRate(_ i: Int, priorRate: Double, priorStrength: Double) -> Double {
        (Double(positives[i]) + priorRate * priorStrength) / (exposures(i) + priorStrength)
    }
}

/// Fresh items, the cold-start exploration channel: items published within `window` seconds
/// before the request, so new items get exposure before any collaborative channel knows them,
/// while a quality floor stops the ones early viewers ignore.
///
/// Quality is the Bayesian-smoothed positive rate of ``RuleEngagement`` (positives over
/// impressions with a beta prior). An item stays in the pool while its smoothed rate is at least
/// `floorRatio` times the prior rate; with no exposures it scores the prior, so every new item
/// gets its first impressions, and a bad one falls below the floor as impressions accumulate
/// without positives. Optionally an item graduates (leaves the pool) after enough impressions,
/// when it can compete in the other channels.
///
/// Order ``Order/newest``: newest first, score `1 - age / window` in [0, 1].
/// Order ``Order/quality``: best smoothed rate first, score the rate.
/// The window is checked again at request time against `context.now`; items published after
/// `now` are never returned. Rebuild the artifact often (hourly): items published after the
/// build are unknown to it.
///
/// Build: O(events + items log items). Recall: newest O(skipped + quota), quality O(pool size).
public struct FreshItems: RecallChannel {
    public enum Order: UInt8, Sendable, Equatable, CaseIterable {
        case newest = 0
        case quality = 1
    }

    public struct Parameters: Sendable, Equatable {
        /// Seconds before `now` within which an item counts as fresh.
        public var window: Double = 3 * 86_400
        public var order: Order = .newest
        /// Event-type code of impressions (the built-in registry's is 0).
        public var impressionType: UInt8 = 0
        /// Pseudo-exposures of the prior: how much evidence it takes to move an item's rate.
        public var priorStrength: Double = 50
        /// Prior positive rate; nil estimates it from the log (all items), falling back to 0.1.
        public var priorRate: Double? = nil
        /// Items whose smoothed rate falls below `floorRatio * priorRate` are dropped.
        public var floorRatio: Double = 0.5
        /// Items with at least this many impressions leave the pool; nil keeps them.
        public var graduateAfter: Double? = nil
        /// The largest pool kept (newest, or best, items).
        public var keep: Int = 5000
        public init() {}
    }

    public let name: String
    public let window: Double
    public let order: Order
    /// The pool in recall order: newest first (``Order/newest``) or best rate first (``Order/quality``), ties by index.
    public let items: [Int32]
    /// Publish times of `items`, seconds since 1970 UTC.
    public let published: [Double]
    /// Smoothed positive rates of `items`.
    public let quality: [Float]

    public init(name: String = "fresh", window: Double, order: Order, items: [Int32], published: [Double], quality: [Float]) {
        self.name = name
        self.window = window
        self.order = order
        self.items = items
        self.published = published
        self.quality = quality
    }

    /// Builds the pool.
    /// - Parameters:
    ///   - items: the catalog in dense index order (index `i` is item `i` of the id map); hidden
    ///     items and items without a publish time are left out.
    ///   - log: events with dense ids; only events at or before `now` count.
    ///   - typeWeights: weight per event-type code; a positive weight marks a positive event.
    ///   - now: the build time; nil takes the latest event or publish time.
    public static func build(items: [Item], log: EventLog, typeWeights: [Float], parameters: Parameters = Parameters(),
                             now: Double? = nil, name: String = "fresh") -> FreshItems {
        precondition(parameters.window.isFinite && parameters.window > 0, "FreshItems window must be a positive number of seconds")
        let ref = now ?? max(log.maxTimestamp, items.compactMap(\.publishedAt).max() ?? 0)
        let stats = RuleEngagement(log: log, itemCount: items.count, typeWeights: typeWeights,
                                   impressionType: parameters.impressionType, halfLife: nil, now: ref)
        let prior = parameters.priorRate ?? stats.globalRate ?? 0.1
        let floor = parameters.floorRatio * prior
        var pool: [(item: Int32, published: Double, rate: Double)] = []
        for (i, item) in items.enumerated() {
            guard !item.hidden, let p = item.publishedAt, p <= ref, ref - p <= parameters.window else { continue }
            if let g = parameters.graduateAfter, Double(stats.impressions[i]) >= g { continue }
            let rate = stats.smoothedRate(i, priorRate: prior, priorStrength: parameters.priorStrength)
            guard rate >= floor else { continue }
            pool.append((Int32(i), p, rate))
        }
        switch parameters.order {
        case .newest: pool.sort { $0.published != $1.published ? $0.published > $1.published : $0.item < $1.item }
        case .quality:
            // Compare the stored Float, so the saved order is exactly the order of the scores.
            pool.sort { Float($0.rate) != Float($1.rate) ? Float($0.rate) > Float($1.rate) : $0.item < $1.item }
        }
        let kept = pool.prefix(max(0, parameters.keep))
        return FreshItems(name: name, window: parameters.window, order: parameters.order, items: kept.map(\.item),
                          published: kept.map(\.published), quality: kept.map { Float($0.rate) })
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0 else { return [] }
        var out: [Candidate] = []
        out.reserveCapacity(min(quota, items.count))
        let now = context.now
        for k in items.indices where out.count < quota {
            let age = now - published[k]
            if age < 0 { continue }
            if age > window {
                if order == .newest { break } // the rest are older still
                continue
            }
            let it = items[k]
            guard filter.allows(it) else { continue }
            let score = order == .newest ? Float(1 - age / window) : quality[k]
            out.append(Candidate(item: it, score: score, channel: name))
        }
        return out
    }

    static let magic = "CFRS"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        w.write(window)
        w.write(order.rawValue)
        w.write(array: items)
        w.write(array: published)
        w.write(array: quality)
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        let what = "fresh-items artifact"
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: what)
        guard r.version == 1 else { throw .corrupt("\(what): unknown version \(r.version)") }
        let name = try r.readString("name")
        let window = try r.readDouble("window")
        let rawOrder = try r.read(UInt8.self, "order")
        let items = try r.readArray(Int32.self, "items")
        let published = try r.readDoubles("published")
        let quality = try r.readFloats("quality")
        guard r.isAtEnd else { throw .corrupt("\(what): trailing bytes") }
        guard window.isFinite, window > 0 else { throw .corrupt("\(what): window \(window) is not a positive number of seconds") }
        guard let order = Order(rawValue: rawOrder) else { throw .corrupt("\(what): unknown order \(rawOrder)") }
        guard items.count == published.count, items.count == quality.count else {
            throw .corrupt("\(what): \(items.count) items, \(published.count) publish times, \(quality.count) rates")
        }
        guard items.allSatisfy({ $0 >= 0 }), Set(items).count == items.count else { throw .corrupt("\(what): negative or repeated item") }
        guard published.allSatisfy(\.isFinite), quality.allSatisfy(\.isFinite) else { throw .corrupt("\(what): non-finite publish time or rate") }
        let sorted = order == .newest ? zip(published, published.dropFirst()).allSatisfy { $0 >= $1 }
                                      : zip(quality, quality.dropFirst()).allSatisfy { $0 >= $1 }
        guard sorted else { throw .corrupt("\(what): pool is not in \(order) order") }
        self.init(name: name, window: window, order: order, items: items, published: published, quality: quality)
    }
}

/// The fresh channel ("fresh"): recently published items, for cold-start exposure.
public enum FreshChannel: ChannelDefinition {
    public static let name = "fresh"
    public static let summary = "recently published items (new-item exposure)"
    public static let defaultParameters = FreshItems.Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (50, 0.3)
    public static let settings: [Setting<FreshItems.Parameters>] = [
        .double("windowDays", "Days before the request within which an item counts as fresh.", \.window, "> 0", unit: 86_400) { $0 > 0 },
        .named("order", "Newest first, or best smoothed positive rate first.", \.order, ["newest": .newest, "quality": .quality]),
        .int("keep", "The largest pool kept.", \.keep, 1...Int.max),
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: FreshItems.Parameters) throws -> any RecallChannel {
        var p = parameters
        p.impressionType = input.registry.code(of: .impression) ?? 0
        return FreshItems.build(items: input.items, log: input.log, typeWeights: input.typeWeights, parameters: p, name: name)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel { try FreshItems(serialized: bytes) }
}
