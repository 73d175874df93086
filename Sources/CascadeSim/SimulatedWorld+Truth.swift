import CascadeCore

/// Which true probability an AUC is taken of.
public enum TruthTarget: Sendable, CaseIterable {
    /// `click` against clicked.
    case click
    /// `click * likeGivenClick` against liked.
    case like
    /// `click * shareGivenClick` against shared.
    case share
    /// `click * finishGivenClick` against finished.
    case finish
}

/// Queries against the truth: what users really like, the best any model could do.
extension SimulatedWorld {
    /// `user taste . item taste`. O(dimension).
    public func trueAffinity(user: Int32, item: Int32) -> Float {
        truth.affinity(user: Int(user), item: Int(item))
    }

    /// Every true probability for `item` shown to `user` at the top slot at time `at`; with
    /// `at == nil` freshness and hour of day are left out (the timeless preference). O(dimension).
    public func expectedEngagement(user: Int32, item: Int32, at: Double?) -> Engagement {
        truth.engagement(user: Int(user), item: Int(item), at: at)
    }

    /// Probability that a user looks at a page slot (0-based): the position-bias curve.
    public func positionBias(position: Int) -> Float { truth.examination(position: position) }

    /// The `k` items the user would most likely click at the top slot, best first: the highest
    /// true click logits (``Engagement/clickLogit``), ties to the smaller index. With `at` given,
    /// only items published by then count and freshness and hour enter the logit; with `at == nil`
    /// the timeless preference ranks all items. Items in `excluding` are skipped.
    /// O(items * dimension + items log k).
    public func trueTopK(user: Int32, k: Int, excluding: Set<Int32> = [], at: Double? = nil) -> [Int32] {
        guard k > 0 else { return [] }
        let u = Int(user)
        var top = TopK(k + excluding.count)
        var end = truth.itemCount
        if let at {
            var lo = 0, hi = end
            while lo < hi { let mid = (lo + hi) >> 1; if truth.itemPublishedAt[mid] <= at { lo = mid + 1 } else { hi = mid } }
            end = lo
        }
        for i in 0..<end {
            let a = truth.affinity(user: u, item: i)
            top.push(Int32(i), truth.clickLogit(user: u, item: i, affinity: a, time: at))
        }
        var out: [Int32] = []
        out.reserveCapacity(k)
        for e in top.sorted() where !excluding.contains(e.id) {
            out.append(e.id)
            if out.count == k { break }
        }
        return out
    }

    /// The AUC of the true click probabilities of the logged impressions against their drawn
    /// clicks: no model of the log can beat it in expectation. O(n log n).
    public func bayesOptimalClickAUC() -> Double { bayesOptimalAUC(.click) }

    /// The Bayes-optimal AUC of one target over the logged impressions.
    public func bayesOptimalAUC(_ target: TruthTarget) -> Double {
        var scores = [Float](), labels = [Bool]()
        scores.reserveCapacity(impressionTruth.count); labels.reserveCapacity(impressionTruth.count)
        for t in impressionTruth {
            switch target {
            case .click: scores.append(t.click); labels.append(t.outcome.contains(.clicked))
            case .like: scores.append(t.like); labels.append(t.outcome.contains(.liked))
            case .share: scores.append(t.share); labels.append(t.outcome.contains(.shared))
            case .finish: scores.append(t.finish); labels.append(t.outcome.contains(.finished))
            }
        }
        return Self.auc(scores: scores, labels: labels)
    }

    /// Area under the ROC curve by ranks (Mann-Whitney U): sort by score, give tied scores their
    /// average rank, `AUC = (sum of positive ranks - P (P + 1) / 2) / (P N)`. NaN when either class
    /// is empty. O(n log n) (a radix sort of score keys).
    public static func auc(scores: [Float], labels: [Bool]) -> Double {
        precondition(scores.count == labels.count, "auc: \(scores.count) scores but \(labels.count) labels")
        let n = scores.count
        guard n > 0, n < Int(UInt32.max) else { return .nan }
        // Order-preserving map of floats to unsigned integers, then (score, index) keys.
        var keys = [UInt64](unsafeUninitializedCapacity: n) { out, initialized in
            for k in 0..<n {
                let b = scores[k].bitPattern
                let ordered = b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
                out[k] = UInt64(ordered) << 32 | UInt64(k)
            }
            initialized = n
        }
        LogAssembly.radixSort(&keys, bits: 64)
        var positives = 0.0, rankSum = 0.0
        var g = 0
        while g < n {
            let s = keys[g] >> 32
            var h = g
            var groupPositives = 0.0
            while h < n && keys[h] >> 32 == s {
                if labels[Int(keys[h] & 0xFFFF_FFFF)] { groupPositives += 1 }
                h += 1
            }
            let averageRank = Double(g + 1 + h) / 2      // ranks g+1 ... h, 1-based
            rankSum += groupPositives * averageRank
            positives += groupPositives
            g = h
        }
        let negatives = Double(n) - positives
        guard positives > 0, negatives > 0 else { return .nan }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }
}
