import CascadeCore
import CascadeRank
import CascadeRecall
import CascadeStore
import Foundation

/// The attribute columns the online ranker reads, by dense user and item index, built the same
/// way for training and for serving so a feature means one thing in both: user categorical
/// attributes, the item's finest category, author and tags ('|'-joined), and publish times.
public struct RankAttributes: Sendable {
    public var userColumns: [String: [String]]
    public var itemColumns: [String: [String]]
    public var itemPublishedAt: [Double]?
    /// The user's behaviour toward each candidate (nil: not used).
    public var history: HistoryFeatures?
    /// The statistics counters of the user and the candidate (nil: not used).
    public var counters: CounterFeatures?
    /// The user's last positives as a sequence for target attention (nil: not used).
    public var behaviour: BehaviourSequence?

    /// Reads users and items of `store` in index order.
    public static func load(store: any Store, ids: (users: IdMap, items: IdMap)) throws -> RankAttributes {
        try load(users: try store.allUsers(), items: try store.allItems(), ids: ids, registry: try store.eventTypes())
    }

    /// The attribute columns of `users` and `items` (ids looked up in `ids`), and the behaviour
    /// features over events typed by `registry`.
    public static func load(users: [User], items: [Item], ids: (users: IdMap, items: IdMap),
                            registry: EventTypeRegistry) throws -> RankAttributes {
        var keys = Set<String>()
        for u in users { keys.formUnion(u.categorical.keys) }
        var userColumns: [String: [String]] = [:]
        for k in keys.sorted().prefix(8) {
            var col = [String](repeating: "", count: ids.users.count)
            for u in users { if let i = ids.users.index(of: u.id), let v = u.categorical[k] { col[Int(i)] = v } }
            userColumns["user_\(k)"] = col
        }
        let n = ids.items.count
        var category = [String](repeating: "", count: n), author = category, tags = category
        var published = [Double](repeating: .nan, count: n)
        var anyTags = false, anyPublished = false
        for item in items {
            guard let i = ids.items.index(of: item.id).map(Int.init) else { continue }
            category[i] = item.categories.last ?? ""
            author[i] = item.author ?? ""
            if !item.tags.isEmpty { tags[i] = item.tags.joined(separator: "|"); anyTags = true }
            if let p = item.publishedAt { published[i] = p; anyPublished = true }
        }
        var itemColumns = ["item_category": category, "item_author": author]
        if anyTags { itemColumns["item_tags"] = tags }
        return RankAttributes(userColumns: userColumns, itemColumns: itemColumns, itemPublishedAt: anyPublished ? published : nil,
                              history: HistoryFeatures(items: items, ids: ids.items, registry: registry),
                              counters: CounterFeatures(items: items, ids: ids.items),
                              behaviour: BehaviourSequence(registry: registry, length: Swift.max(1, RankStageConfig().behaviourLength)))
    }

    /// The ranker's features: ids, hour and weekday, item age, the attribute columns; each with
    /// the side the three-tower pre-ranker splits on.
    public func featureConfig() -> FeatureConfig {
        var f: [FeatureSpec] = [
            FeatureSpec(name: "user", kind: .categorical, minCount: 2, side: .user),
            FeatureSpec(name: "item", kind: .categorical, minCount: 2, side: .item),
            FeatureSpec(name: "hour", source: "timestamp", kind: .categorical, derive: .hour),
            FeatureSpec(name: "weekday", source: "timestamp", kind: .categorical, derive: .weekday),
        ]
        if itemPublishedAt != nil {
            f.append(FeatureSpec(name: "item_age", source: "item_age_hours", kind: .buckets, buckets: 16, side: .item))
        }
        for name in userColumns.keys.sorted() { f.append(FeatureSpec(name: name, kind: .categorical, side: .user)) }
        for name in itemColumns.keys.sorted() {
            f.append(name == "item_tags" ? FeatureSpec(name: name, kind: .bag, separator: "|", side: .item)
                                         : FeatureSpec(name: name, kind: .categorical, side: .item))
        }
        if history != nil { f += HistoryFeatures.featureSpecs }
        if counters != nil { f += CounterFeatures.featureSpecs }
        if let behaviour, itemColumns["item_category"] != nil { f.append(behaviour.featureSpec) }
        return FeatureConfig(label: nil, features: f)
    }

    /// Columns that depend on both the item and the request (time, the user's history):
    /// encoded per candidate.
    public static let perCandidateColumns: Set<String> = Set(["item_age_hours"] + HistoryFeatures.columnNames + CounterFeatures.columnNames)

    /// The per-candidate columns of `items` at time `now` as numbers (the item age, hours),
    /// equal to what the text of ``frame(users:items:timestamps:context:)`` reads as.
    public func perCandidateNumbers(items: [Int32], now: Double) -> [String: [Double]] {
        guard let pub = itemPublishedAt else { return [:] }
        return ["item_age_hours": items.map { i in
            Int(i) < pub.count && pub[Int(i)].isFinite ? Swift.max(0, (now - pub[Int(i)]) / 3_600) : .nan
        }]
    }

    /// The `user` and `item` column values of a dense user and item index.
    static func userValue(_ user: Int32) -> String { "u\(user)" }
    static func itemValue(_ item: Int32) -> String { "i\(item)" }

    /// Feature rows for (user, item, time) triples: what training encodes from logged
    /// impressions and serving from one request's candidates.
    /// `context` holds further per-row columns (e.g. ``HistoryFeatures``), added as they are.
    public func frame(users: [Int32?], items: [Int32], timestamps: [Double], context: [String: [String]] = [:]) -> FeatureFrame {
        let n = items.count
        var c: [String: [String]] = context
        c["user"] = users.map { $0.map(Self.userValue) ?? "" }
        c["item"] = items.map(Self.itemValue)
        c["timestamp"] = timestamps.map { String($0) }
        if let pub = itemPublishedAt {
            c["item_age_hours"] = (0..<n).map { r in
                let i = Int(items[r])
                return i < pub.count && pub[i].isFinite ? String(Swift.max(0, (timestamps[r] - pub[i]) / 3_600)) : ""
            }
        }
        for (name, col) in userColumns {
            c[name] = users.map { u in u.flatMap { Int($0) < col.count ? col[Int($0)] : nil } ?? "" }
        }
        for (name, col) in itemColumns { c[name] = items.map { Int($0) < col.count ? col[Int($0)] : "" } }
        return FeatureFrame(rowCount: n, columns: c)
    }
}
