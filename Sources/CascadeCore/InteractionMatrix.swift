import Foundation

/// User-item interaction strengths in CSR both ways: `userItems` (user -> items) and its
/// transpose `itemUsers` (item -> users).
///
/// An entry is the sum over the pair's events of `typeWeight[type] * decay(age)`, where
/// `decay(age) = 2^(-age / halfLife)` (no decay when `halfLife` is nil). Events whose type weight
/// is not positive (impressions, dislikes) are left out. Building is O(n + users + items) plus
/// a sort of each user's row; 10M events build in about a second per core.
public struct InteractionMatrix: Sendable {
    public let userItems: SparseMatrix
    public let itemUsers: SparseMatrix

    public var userCount: Int { userItems.rowCount }
    public var itemCount: Int { userItems.columnCount }

    public init(userItems: SparseMatrix) {
        self.userItems = userItems
        self.itemUsers = userItems.transposed()
    }

    /// - Parameters:
    ///   - typeWeights: weight per event-type code (index = code); see ``EventTypeRegistry/weightsByCode``.
    ///   - halfLife: seconds after which an event counts half; nil for no decay.
    ///   - now: the reference time for decay (usually the newest event).
    public init(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float],
                halfLife: Double? = nil, now: Double? = nil) {
        let n = log.count
        let reference = now ?? log.maxTimestamp
        let lambda = halfLife.map { $0 > 0 ? 0.6931471805599453 / $0 : 0 } ?? 0
        var weights = [Float](repeating: 0, count: n)
        var offsets = [Int](repeating: 0, count: userCount + 1)
        log.users.withUnsafeBufferPointer { us in
            log.types.withUnsafeBufferPointer { ts in
                log.timestamps.withUnsafeBufferPointer { times in
                    for i in 0..<n {
                        var w = typeWeights[Int(ts[i])]
                        guard w > 0 else { continue }
                        if lambda > 0 { w *= Float(exp(-lambda * max(0, reference - times[i]))) }
                        weights[i] = w
                        offsets[Int(us[i]) + 1] += 1
                    }
                }
            }
        }
        for u in 0..<userCount { offsets[u + 1] += offsets[u] }
        var fill = offsets
        var cols = [Int32](repeating: 0, count: offsets[userCount])
        var vals = [Float](repeating: 0, count: offsets[userCount])
        for i in 0..<n where weights[i] > 0 {
            let u = Int(log.users[i])
            cols[fill[u]] = log.items[i]
            vals[fill[u]] = weights[i]
            fill[u] += 1
        }
        // Sort each row by item and merge duplicate pairs by summing.
        var outOffsets = [Int](repeating: 0, count: userCount + 1)
        var write = 0
        var pairs: [(Int32, Float)] = []
        for u in 0..<userCount {
            let lo = offsets[u], hi = offsets[u + 1]
            pairs.removeAll(keepingCapacity: true)
            for j in lo..<hi { pairs.append((cols[j], vals[j])) }
            pairs.sort { $0.0 < $1.0 }
            var k = 0
            while k < pairs.count {
                var sum = pairs[k].1
                let item = pairs[k].0
                k += 1
                while k < pairs.count && pairs[k].0 == item { sum += pairs[k].1; k += 1 }
                cols[write] = item
                vals[write] = sum
                write += 1
            }
            outOffsets[u + 1] = write
        }
        cols.removeLast(cols.count - write)
        vals.removeLast(vals.count - write)
        self.init(userItems: SparseMatrix(rowCount: userCount, columnCount: itemCount, offsets: outOffsets, columns: cols, values: vals))
    }
}
