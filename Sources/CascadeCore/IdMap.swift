/// Interns external string ids to dense `Int32` indices and back.
///
/// Users and items each get their own map. Index `i` is the `i`-th distinct id interned, so
/// indices are dense in `0..<count` and can address arrays directly.
/// `intern` and `index(of:)` are O(1) expected; `external(_:)` is O(1).
public struct IdMap: Sendable, Equatable {
    private var toIndex: [String: Int32] = [:]
    public private(set) var ids: [String] = []

    public init() {}

    /// Builds a map whose index `i` is `ids[i]`. Duplicate ids are a programming error upstream;
    /// the first occurrence wins so the map stays consistent.
    public init(ids: [String]) {
        toIndex.reserveCapacity(ids.count)
        self.ids.reserveCapacity(ids.count)
        for id in ids { intern(id) }
    }

    public var count: Int { ids.count }

    /// Returns the index of `id`, adding it when new.
    @discardableResult
    public mutating func intern(_ id: String) -> Int32 {
        if let i = toIndex[id] { return i }
        let i = Int32(ids.count)
        toIndex[id] = i
        ids.append(id)
        return i
    }

    /// The index of `id`, or nil when it was never interned.
    public func index(of id: String) -> Int32? { toIndex[id] }

    /// The external id of index `i`.
    public func external(_ i: Int32) -> String { ids[Int(i)] }
}
