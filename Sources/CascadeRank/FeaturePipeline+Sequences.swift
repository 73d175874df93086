import CascadeTensor
import Foundation

/// The interaction log behind sequence features: for each sequence feature, every row of the
/// frames it was built from (the item interacted with, never the label), grouped by user and
/// sorted by time. Build it with ``FeaturePipeline/history(from:)`` from all rows known up to the
/// encoded rows' times (e.g. train + valid + test for offline evaluation: each row only sees
/// interactions strictly before its own time) and pass it to ``FeaturePipeline/encode(_:history:labels:)``.
public struct InteractionHistory: Sendable {
    struct Log: Sendable {
        /// User -> range of positions in the arrays below (ascending time).
        var users: [String: Range<Int>] = [:]
        var times: [Double] = []
        /// Fused-table item ids.
        var items: [Int32] = []
        /// Distinctness keys (interned raw item values, so distinct unseen items stay distinct).
        var keys: [Int32] = []
        var sides: [Int32] = []
    }
    var logs: [String: Log] = [:]
    /// Rows read from the frames.
    public internal(set) var rowCount = 0

    /// An empty log: every row's sequence is empty.
    public init() {}
}

extension FeaturePipeline {
    // MARK: Behaviour sequences

    /// Indexes the rows of `frames` (in any order, e.g. train, valid and test) as the interaction
    /// log of every sequence feature. Rows without a user or a parseable time are skipped.
    /// O(rows log rows).
    public func history(from frames: [FeatureFrame]) throws -> InteractionHistory {
        var out = InteractionHistory()
        out.rowCount = frames.reduce(0) { $0 + $1.rowCount }
        for f in sequenceFeatures {
            out.logs[f.name] = try log(f) { emit in
                for frame in frames {
                    guard let users = frame.columns[f.user!], let times = frame.columns[f.time!] else {
                        throw RankError.data("sequence feature '\(f.name)': history rows need columns '\(f.user!)' and '\(f.time!)'")
                    }
                    let items = frame.columns[f.column], sides = f.sideColumn.flatMap { frame.columns[$0] }
                    for r in 0..<frame.rowCount {
                        guard let t = Double(times[r].trimmingCharacters(in: .whitespaces)) else { continue }
                        emit(users[r], t, items?[r] ?? "", sides?[r] ?? "")
                    }
                }
            }
        }
        return out
    }

    /// One interaction of a behaviour log given without a frame: raw user, item and side values
    /// (the side is what the sequence's `side` column would hold, e.g. the item's category).
    public struct Interaction: Sendable {
        public var user: String, time: Double, item: String, side: String
        public init(user: String, time: Double, item: String, side: String = "") {
            self.user = user
            self.time = time
            self.item = item
            self.side = side
        }
    }

    /// The interaction log of every sequence feature from `count` interactions read one at a
    /// time by `row` (in any order): the same log ``history(from:)`` builds from frames holding
    /// those values, without materialising the frames. O(rows log rows).
    public func history(count: Int, row: (Int) -> Interaction) throws -> InteractionHistory {
        var out = InteractionHistory()
        out.rowCount = count
        for f in sequenceFeatures {
            out.logs[f.name] = try log(f) { emit in
                for r in 0..<count {
                    let x = row(r)
                    emit(x.user, x.time, x.item, x.side)
                }
            }
        }
        return out
    }

    /// The log of sequence feature `f` from the rows `rows` emits (user, time, item, side).
    /// Rows without a user, a finite time or an item are skipped.
    private func log(_ f: FeatureSpec,
                     rows: ((_ user: String, _ time: Double, _ item: String, _ side: String) -> Void) throws -> Void) throws -> InteractionHistory.Log {
        let item = config.itemFeature(forSequence: f)!, sideSpec = config.sideFeature(forSequence: f)
        let itemBase = bases[item.name]!
        var perUser: [String: [(time: Double, item: Int32, key: Int32, side: Int32)]] = [:]
        var interned: [String: Int32] = [:]
        try rows { u, t, v, sideValue in
            guard !u.isEmpty, t.isFinite, !v.isEmpty else { return }
            let key: Int32
            if let k = interned[v] { key = k } else { key = Int32(interned.count); interned[v] = key }
            let side = sideSpec.map { sideId($0, sideValue) } ?? 0
            perUser[u, default: []].append((t, itemBase + localId(item, v), key, side))
        }
        var log = InteractionHistory.Log()
        for (u, var events) in perUser {
            // Stable by time: rows at equal times keep their input order.
            events = events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
            let start = log.times.count
            for e in events {
                log.times.append(e.time); log.items.append(e.item); log.keys.append(e.key); log.sides.append(e.side)
            }
            log.users[u] = start..<log.times.count
        }
        return log
    }

    /// Fused id of a side value (first value of a bag).
    func sideId(_ s: FeatureSpec, _ raw: String) -> Int32 {
        let base = bases[s.name]!
        if s.kind == .bag {
            let sep = s.separator ?? "|"
            let first = raw.components(separatedBy: sep).first { !$0.isEmpty }
            return base + (first.flatMap { vocabularies[s.name]![$0] } ?? 0)
        }
        return base + localId(s, raw)
    }

    func encodeSequence(_ f: FeatureSpec, _ frame: FeatureFrame, _ history: InteractionHistory) -> EncodedBatch.History {
        let n = frame.rowCount, len = f.length!
        let item = config.itemFeature(forSequence: f)!, sideSpec = config.sideFeature(forSequence: f)
        let itemBase = bases[item.name]!, sideBase = sideSpec.map { bases[$0.name]! } ?? 0
        let ids = IndexTensor(shape: Shape(n, len)), times = IndexTensor(shape: Shape(n, len))
        let mask = Tensor(shape: [n, len])
        let candidate = IndexTensor(shape: Shape(n))
        let side = sideSpec.map { _ in IndexTensor(shape: Shape(n, len)) }
        let candidateSide = sideSpec.map { _ in IndexTensor(shape: Shape(n)) }
        for i in 0..<(n * len) { ids.base[i] = itemBase }
        if let side { for i in 0..<(n * len) { side.base[i] = sideBase } }
        let log = history.logs[f.name] ?? InteractionHistory.Log()
        let users = frame.columns[f.user!], timeCol = frame.columns[f.time!], items = frame.columns[f.column]
        let sides = f.sideColumn.flatMap { frame.columns[$0] }
        var seen = Set<Int32>()
        for r in 0..<n {
            candidate.base[r] = itemBase + localId(item, items?[r] ?? "")
            if let sideSpec, let candidateSide { candidateSide.base[r] = sideId(sideSpec, sides?[r] ?? "") }
            guard let u = users?[r], let range = log.users[u],
                  let t = Double((timeCol?[r] ?? "").trimmingCharacters(in: .whitespaces)), t.isFinite else { continue }
            // First position of this user at or after t: everything before it is strictly earlier.
            var lo = range.lowerBound, hi = range.upperBound
            while lo < hi { let mid = (lo + hi) / 2; if log.times[mid] < t { lo = mid + 1 } else { hi = mid } }
            seen.removeAll(keepingCapacity: true)
            var j = lo - 1, k = 0
            while j >= range.lowerBound && k < len {
                if seen.insert(log.keys[j]).inserted {
                    let o = r * len + k
                    ids.base[o] = log.items[j]
                    mask.base[o] = 1
                    times.base[o] = EncodedBatch.History.timeBucket(gapSeconds: t - log.times[j])
                    side?.base[o] = log.sides[j]
                    k += 1
                }
                j -= 1
            }
        }
        return EncodedBatch.History(name: f.name, ids: ids, mask: mask, timeBuckets: times, candidate: candidate,
                                    side: side, candidateSide: candidateSide)
    }

}
