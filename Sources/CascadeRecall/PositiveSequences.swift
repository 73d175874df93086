import CascadeCore
import CascadeTensor

/// Each user's positive events (type weight > 0) in time order, first occurrence of each item
/// only, as one CSR: user `u`'s items are `items[offsets[u]..<offsets[u + 1]]`, with their
/// times. What the sequence-reading trainers (two-tower, SASRec) learn from. O(events).
struct PositiveSequences {
    var offsets: [Int] = [0]
    var items: [Int32] = []
    var times: [Double] = []

    init(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float]) {
        let (o, events) = log.indexByUser(userCount: userCount)  // each user's events oldest first
        for u in 0..<userCount {
            var seen = Set<Int32>()
            for e in events[o[u]..<o[u + 1]] {
                let t = Int(log.types[e]), i = log.items[e]
                guard t < typeWeights.count, typeWeights[t] > 0, i >= 0, Int(i) < itemCount, seen.insert(i).inserted else { continue }
                items.append(i)
                times.append(log.timestamps[e])
            }
            offsets.append(items.count)
        }
    }

    func count(of user: Int) -> Int { offsets[user + 1] - offsets[user] }

    /// Users whose last positive is held out to stop training early: up to `count` of the users
    /// with at least 3 positives, spread evenly over them (none when fewer than 10 qualify).
    func validationUsers(_ count: Int) -> [Int] {
        let eligible = (0..<(offsets.count - 1)).filter { self.count(of: $0) >= 3 }
        guard count > 0, eligible.count >= 10 else { return [] }
        let every = Swift.max(1, eligible.count / count)
        return Array(eligible.enumerated().filter { $0.offset % every == 0 }.map(\.element).prefix(count))
    }
}

/// Early stopping on a validation score measured after each epoch: remembers the best epoch's
/// parameter values and how many epochs have passed without beating it.
struct EarlyStopping {
    let patience: Int
    /// On a tie, keep the later (more trained) weights.
    let preferLater: Bool
    private(set) var best: (score: Double, values: [Tensor])?
    private(set) var sinceBest = 0

    init(patience: Int, preferLater: Bool = false) {
        self.patience = patience
        self.preferLater = preferLater
    }

    mutating func record(_ score: Double, _ params: [Parameter]) {
        let bar = best?.score ?? -.infinity
        if score > bar || (preferLater && score == bar) {
            best = (score, params.map { $0.value.copy() })
            sinceBest = 0
        } else {
            sinceBest += 1
        }
    }

    var exhausted: Bool { sinceBest >= patience }

    /// Gives the next stage of training its full patience again.
    mutating func restartPatience() { sinceBest = 0 }

    /// Puts the best epoch's values back (nothing when no epoch was scored).
    func restore(_ params: [Parameter]) throws {
        if let best { for (param, v) in zip(params, best.values) { try param.value.assign(v) } }
    }
}
