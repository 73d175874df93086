import CascadeCore
import Foundation

extension BeyondAccuracy {
    /// Item popularity as the share of users who have the item in train:
    ///
    ///     pop(i) = max(1, |{u : i in train_u}|) / |{u : train_u is not empty}|
    ///
    /// An item no training user has is counted as if one had, so its novelty stays finite
    /// (it is the rarest possible). O(pairs + itemCount).
    ///
    /// - Parameter itemCount: length of the result; items of `train` at or past it are ignored.
    public static func itemPopularity(train: UserItemSets, itemCount: Int) -> [Double] {
        var counts = [Int](repeating: 0, count: max(0, itemCount))
        var users = 0
        for u in 0..<train.userCount {
            let row = train.items(of: u)
            if !row.isEmpty { users += 1 }
            for i in row where Int(i) < counts.count { counts[Int(i)] += 1 }
        }
        let n = Double(max(1, users))
        return counts.map { Double(max(1, $0)) / n }
    }

    /// Novelty of a list: the mean self-information of its items,
    ///
    ///     novelty = (1 / L) * sum_i -log2 pop(i)
    ///
    /// so a list of items everybody has scores 0 and rarer items score more (bits). O(L).
    ///
    /// - Parameter popularity: pop(i) in (0, 1] indexed by item id, e.g. from
    ///   ``itemPopularity(train:itemCount:)``.
    /// - Returns: nil for an empty list.
    /// - Throws: ``CascadeError/invalid(_:)`` for an item without a popularity in (0, 1].
    public static func novelty(_ list: [Int32], popularity: [Double]) throws(CascadeError) -> Double? {
        guard !list.isEmpty else { return nil }
        var sum = 0.0
        for item in list {
            guard item >= 0, Int(item) < popularity.count else { throw .invalid("item \(item) has no popularity") }
            let p = popularity[Int(item)]
            guard p > 0, p <= 1 else { throw .invalid("item \(item): popularity \(p) is not in (0, 1]") }
            sum -= log2(p)
        }
        return sum / Double(list.count)
    }

    /// Mean novelty over the non-empty lists; nil when every list is empty.
    public static func meanNovelty(lists: [[Int32]], popularity: [Double]) throws(CascadeError) -> Double? {
        var sum = 0.0, n = 0
        for list in lists {
            if let v = try novelty(list, popularity: popularity) { sum += v; n += 1 }
        }
        return n > 0 ? sum / Double(n) : nil
    }
}
