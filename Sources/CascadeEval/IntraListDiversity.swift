import CascadeCore

/// Beyond-accuracy metrics of recommendation lists: intra-list diversity and novelty.
/// Score the lists users would see, i.e. after ``TopKEvaluation/cutAll(recommendations:train:k:)``.
public enum BeyondAccuracy {
    /// Intra-list diversity with one category per item: the mean dissimilarity over the
    /// unordered pairs of the list, a pair being dissimilar (1) when its categories differ.
    ///
    ///     ILD = (2 / (L (L - 1))) * sum_{i < j} [c_i != c_j]
    ///         = 1 - sum_c n_c (n_c - 1) / (L (L - 1))
    ///
    /// where `n_c` counts the list's items of category `c`. O(L log L).
    ///
    /// - Parameter categories: the category of each item, indexed by item id.
    /// - Returns: nil for a list of fewer than two items.
    /// - Throws: ``CascadeError/invalid(_:)`` for an item without a category.
    public static func intraListDiversity(_ list: [Int32], categories: [Int32]) throws(CascadeError) -> Double? {
        guard list.count >= 2 else { return nil }
        var cats: [Int32] = []
        cats.reserveCapacity(list.count)
        for item in list {
            guard item >= 0, Int(item) < categories.count else { throw .invalid("item \(item) has no category") }
            cats.append(categories[Int(item)])
        }
        cats.sort()
        var samePairs = 0
        var i = 0
        while i < cats.count {
            var j = i
            while j < cats.count && cats[j] == cats[i] { j += 1 }
            samePairs += (j - i) * (j - i - 1)
            i = j
        }
        let l = Double(list.count)
        return 1 - Double(samePairs) / (l * (l - 1))
    }

    /// Intra-list diversity with several categories per item (genres, tags): the mean Jaccard
    /// distance over the unordered pairs of the list,
    ///
    ///     d(i, j) = 1 - |C_i ∩ C_j| / |C_i ∪ C_j|       (0 when both sets are empty)
    ///     ILD     = (2 / (L (L - 1))) * sum_{i < j} d(i, j)
    ///
    /// O(L^2 * categories per item).
    ///
    /// - Parameter categorySets: the categories of each item, indexed by item id (sorted and
    ///   unique per item, as a ``UserItemSets`` row is; ``UserItemSets/init(lists:)`` builds one).
    /// - Returns: nil for a list of fewer than two items.
    /// - Throws: ``CascadeError/invalid(_:)`` for an item outside the table.
    public static func intraListDiversity(_ list: [Int32], categorySets: UserItemSets) throws(CascadeError) -> Double? {
        guard list.count >= 2 else { return nil }
        for item in list where !(item >= 0 && Int(item) < categorySets.userCount) {
            throw .invalid("item \(item) has no category set")
        }
        var sum = 0.0
        for a in 0..<list.count {
            let ca = categorySets.items(of: Int(list[a]))
            for b in (a + 1)..<list.count {
                let cb = categorySets.items(of: Int(list[b]))
                let common = sortedIntersectionCount(ca, cb)
                let union = ca.count + cb.count - common
                sum += union == 0 ? 0 : 1 - Double(common) / Double(union)
            }
        }
        let l = Double(list.count)
        return sum * 2 / (l * (l - 1))
    }

    /// Mean single-category ILD over the lists that have at least two items; nil when none has.
    public static func meanIntraListDiversity(lists: [[Int32]], categories: [Int32]) throws(CascadeError) -> Double? {
        var sum = 0.0, n = 0
        for list in lists {
            if let d = try intraListDiversity(list, categories: categories) { sum += d; n += 1 }
        }
        return n > 0 ? sum / Double(n) : nil
    }

    /// Mean multi-category ILD over the lists that have at least two items; nil when none has.
    public static func meanIntraListDiversity(lists: [[Int32]], categorySets: UserItemSets) throws(CascadeError) -> Double? {
        var sum = 0.0, n = 0
        for list in lists {
            if let d = try intraListDiversity(list, categorySets: categorySets) { sum += d; n += 1 }
        }
        return n > 0 ? sum / Double(n) : nil
    }

    /// |a ∩ b| for two ascending, repeat-free sequences. O(|a| + |b|).
    static func sortedIntersectionCount(_ a: ArraySlice<Int32>, _ b: ArraySlice<Int32>) -> Int {
        var i = a.startIndex, j = b.startIndex, n = 0
        while i < a.endIndex && j < b.endIndex {
            if a[i] < b[j] { i += 1 } else if a[i] > b[j] { j += 1 } else { n += 1; i += 1; j += 1 }
        }
        return n
    }
}
