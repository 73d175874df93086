/// Business rules applied after scoring (seed 004's "打散" and operator slots):
/// - at most `maxPerCategory` items of one category and `maxPerAuthor` of one author in any
///   window of `window` consecutive positions;
/// - near-duplicates (inner product of vectors >= `duplicateSimilarity`) at least `duplicateGap`
///   positions apart;
/// - pinned items at fixed positions (boosted or operator items), kept in place.
/// The page is filled greedily by the input order (best first): each position takes the first
/// remaining item that breaks no rule; when none fits, the best remaining item is taken and the
/// position is counted in `violations` (rules never empty a page). O(n k w).
public struct DiversityRules: Sendable, Equatable {
    public var window = 5
    public var maxPerCategory = 2
    public var maxPerAuthor = 1
    public var duplicateSimilarity: Float = 0.95
    public var duplicateGap = 3
    /// position -> item id placed there regardless of score.
    public var pinned: [Int: Int32] = [:]

    public init() {}

    public struct Result: Sendable, Equatable {
        public var items: [RerankItem]
        public var violations: Int
    }

    public func apply(_ items: [RerankItem], k: Int) throws -> Result {
        guard window >= 1, maxPerCategory >= 1, maxPerAuthor >= 1, duplicateGap >= 0 else {
            throw RerankError.invalid("rules need window >= 1, max per category and author >= 1, duplicate gap >= 0")
        }
        if let bad = pinned.keys.first(where: { $0 < 0 || $0 >= k }) {
            throw RerankError.invalid("pinned position \(bad) is outside the page of \(k)")
        }
        var left = items
        var pins: [Int: RerankItem] = [:]
        for (pos, id) in pinned {
            if let i = left.firstIndex(where: { $0.id == id }) { pins[pos] = left.remove(at: i) }
            else { pins[pos] = RerankItem(id: id, score: 0) }
        }
        var page: [RerankItem] = []
        var violations = 0
        func fits(_ c: RerankItem) -> Bool {
            let recent = page.suffix(window - 1)
            if c.category >= 0, recent.filter({ $0.category == c.category }).count >= maxPerCategory { return false }
            if c.author >= 0, recent.filter({ $0.author == c.author }).count >= maxPerAuthor { return false }
            if duplicateGap > 0, page.suffix(duplicateGap).contains(where: { Similarity.dot($0.vector, c.vector) >= duplicateSimilarity }) {
                return false
            }
            return true
        }
        while page.count < k {
            if let p = pins[page.count] { page.append(p); continue }
            guard !left.isEmpty else { break }
            if let i = left.firstIndex(where: fits) { page.append(left.remove(at: i)) }
            else { page.append(left.removeFirst()); violations += 1 }
        }
        return Result(items: page, violations: violations)
    }
}
