import CascadeCore

/// The distinct items of each user, as sorted rows of a compressed sparse row table: user `u`'s
/// items are `items[offsets[u]..<offsets[u + 1]]`, ascending, without repeats.
///
/// Top-K evaluation reads a split through two of these: the items a user has in train (dropped
/// from recommendations, and the catalog for coverage) and the items the user has in test.
/// Memory is 4 bytes a distinct (user, item) pair plus 8 bytes a user.
public struct UserItemSets: Sendable, Equatable {
    public let offsets: [Int]
    public let items: [Int32]

    /// The distinct items of each user in `log` (every event counts; filter by type when
    /// splitting). O(n log n).
    /// - Throws: ``CascadeError/invalid(_:)`` when a user is outside `0..<userCount` or an item
    ///   id is negative.
    public init(log: EventLog, userCount: Int) throws(CascadeError) {
        guard userCount >= 0 else { throw .invalid("userCount must not be negative, got \(userCount)") }
        var offsets = [Int](repeating: 0, count: userCount + 1)
        for (i, u) in log.users.enumerated() {
            guard u >= 0, Int(u) < userCount else { throw .invalid("event \(i): user \(u) is outside 0..<\(userCount)") }
            guard log.items[i] >= 0 else { throw .invalid("event \(i): item \(log.items[i]) is negative") }
            offsets[Int(u) + 1] += 1
        }
        for u in 0..<userCount { offsets[u + 1] += offsets[u] }
        var fill = offsets
        var cols = [Int32](repeating: 0, count: log.count)
        for i in 0..<log.count {
            let u = Int(log.users[i])
            cols[fill[u]] = log.items[i]
            fill[u] += 1
        }
        self.init(rowOffsets: offsets, unsortedItems: cols)
    }

    /// Sets from explicit lists: row `u` is `lists[u]`, sorted and without repeats.
    /// - Throws: ``CascadeError/invalid(_:)`` when an item id is negative.
    public init(lists: [[Int32]]) throws(CascadeError) {
        var offsets = [0]
        offsets.reserveCapacity(lists.count + 1)
        var cols: [Int32] = []
        for (u, list) in lists.enumerated() {
            for item in list {
                guard item >= 0 else { throw .invalid("user \(u): item \(item) is negative") }
                cols.append(item)
            }
            offsets.append(cols.count)
        }
        self.init(rowOffsets: offsets, unsortedItems: cols)
    }

    /// Sorts each row and removes repeats.
    private init(rowOffsets: [Int], unsortedItems: [Int32]) {
        var cols = unsortedItems
        var out = [Int](repeating: 0, count: rowOffsets.count)
        var write = 0
        for u in 0..<(rowOffsets.count - 1) {
            let lo = rowOffsets[u], hi = rowOffsets[u + 1]
            cols[lo..<hi].sort()
            var j = lo
            while j < hi {
                let item = cols[j]
                cols[write] = item
                write += 1
                j += 1
                while j < hi && cols[j] == item { j += 1 }
            }
            out[u + 1] = write
        }
        cols.removeLast(cols.count - write)
        self.offsets = out
        self.items = cols
    }

    /// Number of rows (users).
    public var userCount: Int { offsets.count - 1 }

    /// User `user`'s items, ascending; empty for a user outside `0..<userCount`.
    public func items(of user: Int) -> ArraySlice<Int32> {
        guard user >= 0, user < userCount else { return [] }
        return items[offsets[user]..<offsets[user + 1]]
    }

    /// Number of distinct items of `user`; 0 outside `0..<userCount`.
    public func count(of user: Int) -> Int {
        guard user >= 0, user < userCount else { return 0 }
        return offsets[user + 1] - offsets[user]
    }

    /// Whether `item` is among `user`'s items. O(log row length).
    public func contains(user: Int, item: Int32) -> Bool {
        guard user >= 0, user < userCount else { return false }
        var lo = offsets[user], hi = offsets[user + 1]
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid] < item { lo = mid + 1 } else { hi = mid }
        }
        return lo < offsets[user + 1] && items[lo] == item
    }

    /// Number of distinct items over all users (the catalog of a training set). O(pairs + max id).
    public func distinctItemCount() -> Int {
        guard let top = items.max() else { return 0 }
        var seen = [Bool](repeating: false, count: Int(top) + 1)
        var n = 0
        for i in items where !seen[Int(i)] { seen[Int(i)] = true; n += 1 }
        return n
    }
}
