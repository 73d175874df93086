import CascadeCore
import CascadeRank
import CascadeRecall

/// The user's last positive interactions as the ranker's behaviour sequence, read by target
/// attention (DIN, Zhou et al. KDD 2018; see ``DCNv2MMoE``): the items of the newest `length`
/// distinct positive events (any event type with a positive weight: clicks, likes, watches,
/// completions), newest first, each with its finest category and the time since it.
///
/// Served from the request's history (the newest events the funnel reads per request);
/// rebuilt for training from the event log, where each impression sees the positives strictly
/// before its own time. Both reach the model through the same ids (tested), so a trained
/// sequence and a served one of the same events are the same input.
///
/// Cost: O(events) to index the log for training; O(history) per request, then the attention
/// over `length` steps per candidate (in the model).
public struct BehaviourSequence: Sendable {
    /// Name of the sequence feature.
    public static let featureName = "behaviour"
    /// Steps kept per row.
    public let length: Int
    /// Per event type code: counts as a positive (a positive weight in the registry).
    let positive: [Bool]

    public init(registry: EventTypeRegistry, length: Int) {
        self.length = Swift.max(1, length)
        positive = registry.weightsByCode.map { $0 > 0 }
    }

    /// The feature declaration: items of the sequence share the candidate's `item` embedding,
    /// with `item_category` beside each.
    public var featureSpec: FeatureSpec {
        .sequence(name: Self.featureName, source: "item", user: "user", time: "timestamp", length: length, side: "item_category")
    }

    @inline(__always) func isPositive(_ type: UInt8) -> Bool { Int(type) < positive.count && positive[Int(type)] }

    /// The behaviour log of `pipeline`'s sequence feature from every positive event of `log`
    /// (training: each encoded row then sees the positives strictly before its time).
    /// `category` is the item-category column of ``RankAttributes`` by item index.
    public func history(log: EventLog, category: [String]?, pipeline: FeaturePipeline) throws -> InteractionHistory {
        var rows: [Int] = []
        for e in 0..<log.count where isPositive(log.types[e]) { rows.append(e) }
        return try pipeline.history(count: rows.count) { r in
            let e = rows[r]
            return Self.interaction(user: log.users[e], item: log.items[e], time: log.timestamps[e], category: category)
        }
    }

    /// A request's behaviour steps from its history (newest first): the positive events only
    /// (the request encoder keeps the newest `length` distinct items before the request time).
    public func steps(_ history: [HistoryEvent]) -> [RequestEncoder.Step] {
        history.compactMap { isPositive($0.type) ? RequestEncoder.Step(item: $0.item, time: $0.timestamp) : nil }
    }

    /// The behaviour log of one user's request history (the reference the request encoder's
    /// table path is checked against, and the full-encode path of serving).
    public func history(user: Int32?, events: [HistoryEvent], category: [String]?, pipeline: FeaturePipeline) throws -> InteractionHistory {
        let positives = events.filter { isPositive($0.type) }
        return try pipeline.history(count: user == nil ? 0 : positives.count) { r in
            Self.interaction(user: user!, item: positives[r].item, time: positives[r].timestamp, category: category)
        }
    }

    /// One positive as the pipeline reads it: the user and item columns of ``RankAttributes``
    /// and the item's category as the side.
    static func interaction(user: Int32, item: Int32, time: Double, category: [String]?) -> FeaturePipeline.Interaction {
        let i = Int(item)
        return FeaturePipeline.Interaction(user: RankAttributes.userValue(user), time: time, item: RankAttributes.itemValue(item),
                                           side: category.map { i >= 0 && i < $0.count ? $0[i] : "" } ?? "")
    }
}
