/// Item metadata in dense arrays, indexed by item index: what request-time code needs without
/// touching the store (author, finest category, publish time, availability).
public struct ItemCatalog: Sendable {
    /// Author index per item (-1 when none); `authors.ids[a]` is the author's external id.
    public let author: [Int32]
    public let authors: IdMap
    /// Finest category index per item (-1 when none); `categories.ids[c]` is its name.
    public let category: [Int32]
    public let categories: IdMap
    /// Publish time per item, `.nan` when unknown.
    public let publishedAt: [Double]
    /// True for hidden or deleted items.
    public var unavailable: [Bool]

    public var count: Int { author.count }

    /// - Parameters:
    ///   - items: items as stored; their ids are looked up in `ids`.
    ///   - ids: the item id map (index order).
    ///   - unavailable: indices of hidden or deleted items.
    public init(items: [Item], ids: IdMap, unavailable: Set<Int32> = []) {
        let n = ids.count
        var author = [Int32](repeating: -1, count: n)
        var category = [Int32](repeating: -1, count: n)
        var published = [Double](repeating: .nan, count: n)
        var authors = IdMap(), categories = IdMap()
        for item in items {
            guard let i = ids.index(of: item.id) else { continue }
            if let a = item.author, !a.isEmpty { author[Int(i)] = authors.intern(a) }
            if let c = item.categories.last, !c.isEmpty { category[Int(i)] = categories.intern(c) }
            if let p = item.publishedAt { published[Int(i)] = p }
        }
        var flags = [Bool](repeating: false, count: n)
        for i in unavailable where i >= 0 && Int(i) < n { flags[Int(i)] = true }
        self.author = author
        self.authors = authors
        self.category = category
        self.categories = categories
        self.publishedAt = published
        self.unavailable = flags
    }
}
