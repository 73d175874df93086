import CascadeCore
import Foundation

/// Popular and trending items: the score of an item is the sum over its positive events of the
/// type weight times `2^(-age / halfLife)`. With no half-life it is all-time popularity; with a
/// half-life of a day or two it is "trending". The fallback for users with no history.
///
/// Build: O(events + items log items). Recall: O(quota + skipped) walking the sorted list.
public struct Popularity: RecallChannel {
    public let name: String
    /// Items by descending score (ties by index), at most `keep` of them.
    public let items: [Int32]
    public let scores: [Float]

    public init(name: String = "popular", items: [Int32], scores: [Float]) {
        self.name = name
        self.items = items
        self.scores = scores
    }

    /// - Parameters:
    ///   - halfLife: seconds; nil for all-time counts.
    ///   - keep: how many top items to keep (requests never need more than a few thousand).
    public static func build(log: EventLog, itemCount: Int, typeWeights: [Float], halfLife: Double? = nil,
                             now: Double? = nil, keep: Int = 5000, name: String = "popular") -> Popularity {
        var score = [Double](repeating: 0, count: itemCount)
        let ref = now ?? log.maxTimestamp
        let lambda = halfLife.map { 0.6931471805599453 / max($0, 1e-9) } ?? 0
        for i in 0..<log.count {
            let w = typeWeights[Int(log.types[i])]
            guard w > 0 else { continue }
            let it = Int(log.items[i])
            guard it < itemCount else { continue }
            score[it] += Double(w) * (lambda > 0 ? exp(-lambda * max(0, ref - log.timestamps[i])) : 1)
        }
        var top = TopK(keep)
        for (i, s) in score.enumerated() where s > 0 { top.push(Int32(i), Float(s)) }
        let kept = top.sorted()
        return Popularity(name: name, items: kept.map(\.id), scores: kept.map(\.score))
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        var out: [Candidate] = []
        out.reserveCapacity(min(quota, items.count))
        for (k, it) in items.enumerated() where out.count < quota {
            if filter.allows(it) { out.append(Candidate(item: it, score: scores[k], channel: name)) }
        }
        return out
    }

    static let magic = "CPOP"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        w.write(array: items)
        w.write(array: scores)
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: "popularity artifact")
        guard r.version == 1 else { throw .corrupt("popularity artifact: unknown version \(r.version)") }
        let name = try r.readString("name")
        let items = try r.readArray(Int32.self, "items")
        let scores = try r.readFloats("scores")
        guard items.count == scores.count else { throw .corrupt("popularity artifact: \(items.count) items but \(scores.count) scores") }
        self.init(name: name, items: items, scores: scores)
    }
}

/// The trending channel ("trending"): popularity with a half-life of days.
public enum TrendingChannel: ChannelDefinition {
    public struct Parameters: Sendable, Equatable {
        /// Seconds after which an event counts half.
        public var halfLife: Double = 3 * 86_400
        public init() {}
    }
    public static let name = "trending"
    public static let summary = "items popular lately (events decay with a half-life)"
    public static let defaultParameters = Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (100, 0.2)
    public static let settings: [Setting<Parameters>] = [
        .double("halfLifeDays", "Days after which an event counts half.", \.halfLife, "> 0", unit: 86_400) { $0 > 0 },
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: Parameters) throws -> any RecallChannel {
        Popularity.build(log: input.log, itemCount: input.itemCount, typeWeights: input.typeWeights, halfLife: parameters.halfLife, name: name)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel { try Popularity(serialized: bytes) }
}

/// The popular channel ("popular"): all-time popularity, the fallback of new users.
public enum PopularChannel: ChannelDefinition {
    public struct Parameters: Sendable, Equatable {
        /// Top items kept (a request never needs more than a few thousand).
        public var keep = 5000
        public init() {}
    }
    public static let name = "popular"
    public static let summary = "the most popular items of all time"
    public static let defaultParameters = Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (100, 0.3)
    public static let settings: [Setting<Parameters>] = [
        .int("keep", "Top items kept.", \.keep, 1...Int.max),
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: Parameters) throws -> any RecallChannel {
        Popularity.build(log: input.log, itemCount: input.itemCount, typeWeights: input.typeWeights, keep: parameters.keep, name: name)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel { try Popularity(serialized: bytes) }
}
