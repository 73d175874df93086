import CascadeCore
import CascadeTensor

/// The next-item objective and its validation, shared by the sequence trainers (SASRec,
/// ComiRec): user states scored against the item embedding table (row 0 the padding, item i in
/// row i + 1).
enum NextItemSoftmax {
    /// Cross-entropy of `targets` (item rows) given `states` [P, dim]: full softmax over the
    /// table when `full`, else against `negatives` items drawn uniformly (the same for every
    /// item, so no logQ correction is needed), shared by the batch. O(P dim S), S the width.
    static func loss(states: Variable, targets: [Int32], table: Variable, itemCount: Int, full: Bool, negatives: Int,
                     rng: inout SplitMix64) throws -> Variable {
        if full {
            let logits = try states.matmul(table, transposeOther: true)  // [P, items + 1]
            return try Loss.softmaxCrossEntropy(logits: logits, targets: IndexTensor(shape: [targets.count], ids: targets))
        }
        let k = Swift.min(negatives, itemCount)
        let drawn = (0..<k).map { _ in Int32(1 + Int(rng.next() % UInt64(itemCount))) }
        let positive = try (states * table.gather(IndexTensor(shape: [targets.count], ids: targets))).sum(axis: 1, keepDims: true)
        let negative = try states.matmul(table.gather(IndexTensor(shape: [k], ids: drawn)), transposeOther: true)
        let logits = try Variable.concat([positive, negative], axis: 1)  // the positive in column 0
        return try Loss.softmaxCrossEntropy(logits: logits, targets: IndexTensor(shape: [targets.count], ids: [Int32](repeating: 0, count: targets.count)))
    }

    /// Share of `users` whose held-out last positive ranks in the top 10 of the items they had
    /// not engaged with. `queries[r]` are user r's queries: an item scores its best inner
    /// product plus offset over them (one query for a single-vector model). O(users queries items dim).
    static func validationHitRate(queries: [[InterestQuery]], dim d: Int, table: UnsafePointer<Float>, items: Int,
                                  sequences: UserSequences, users: [Int]) -> Double {
        guard !users.isEmpty, items > 0 else { return 0 }
        var scores = [Float](repeating: 0, count: items + 1), one = scores
        var hits = 0
        for (r, u) in users.enumerated() {
            let lo = sequences.offsets[u], hi = sequences.offsets[u + 1]
            let target = Int(sequences.rows[hi - 1])
            for (q, query) in queries[r].enumerated() {
                one.withUnsafeMutableBufferPointer { o in
                    query.vector.withUnsafeBufferPointer { Kernels.gemv(trans: false, m: items + 1, n: d, a: table, lda: d, x: $0.baseAddress!, y: o.baseAddress!, threads: 1) }
                }
                for i in scores.indices where q == 0 || one[i] + query.offset > scores[i] { scores[i] = one[i] + query.offset }
            }
            guard !queries[r].isEmpty else { continue }
            let own = Set(sequences.rows[lo..<(hi - 1)].map(Int.init))
            let t = scores[target]
            var better = 0
            for i in 1...items where i != target && !own.contains(i) && scores[i] > t {
                better += 1
                if better >= 10 { break }
            }
            if better < 10 { hits += 1 }
        }
        return Double(hits) / Double(users.count)
    }
}
