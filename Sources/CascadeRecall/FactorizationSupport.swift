import CascadeCore
import CascadeTensor
import Foundation

/// When a matrix-factorization channel (``ALS``, ``BPR``) solves a user's vector from the
/// request's LastN events ("fold-in") instead of using the vector learned in training.
public enum FoldInPolicy: UInt8, Sendable, CaseIterable {
    /// Only users unknown at training time (no index, or an index beyond the trained table).
    case unknownUsers = 0
    /// Also known users whose history holds an event newer than the training data
    /// (`trainedThrough`); their trained vector is the starting point.
    case newEvents = 1
    /// Every user whose history holds a positive event.
    case always = 2
}

/// Pieces shared by the factorization channels: fold-in decisions, history aggregation,
/// full-catalog scoring, artifact validation and the parallel loop.
enum Factorization {
    /// Event type codes with a positive weight: what counts as engagement in a request's history.
    static func positiveTypes(_ typeWeights: [Float]) -> Set<UInt8> {
        Set(typeWeights.indices.filter { typeWeights[$0] > 0 && $0 <= Int(UInt8.max) }.map { UInt8($0) })
    }

    /// A user's positive items from their history: the sum of type weights per distinct item
    /// (events whose type weight is not positive, and unknown items, are skipped), sorted by item.
    /// O(h log h) for h events.
    static func strengths(_ history: [HistoryEvent], typeWeights: [Float], itemCount: Int) -> (items: [Int32], values: [Float]) {
        var pairs: [(item: Int32, weight: Float)] = []
        pairs.reserveCapacity(history.count)
        for e in history {
            let w = Int(e.type) < typeWeights.count ? typeWeights[Int(e.type)] : 0
            guard w > 0, e.item >= 0, Int(e.item) < itemCount else { continue }
            pairs.append((e.item, w))
        }
        pairs.sort { $0.item < $1.item }
        var items: [Int32] = [], values: [Float] = []
        for p in pairs {
            if let last = items.last, last == p.item { values[values.count - 1] += p.weight } else {
                items.append(p.item)
                values.append(p.weight)
            }
        }
        return (items, values)
    }

    /// Which vector a request uses: `trained` is the user's row when known, `foldIn` says
    /// whether to solve a vector from the history (starting from `trained` when there is one).
    static func plan(_ context: RecallContext, userCount: Int, policy: FoldInPolicy,
                     trainedThrough: Double) -> (trained: Int?, foldIn: Bool) {
        guard let u = context.user, u >= 0, Int(u) < userCount else { return (nil, true) }
        switch policy {
        case .unknownUsers: return (Int(u), false)
        case .always: return (Int(u), true)
        case .newEvents: return (Int(u), context.history.contains { $0.timestamp > trainedThrough })
        }
    }

    /// The best `quota` items the filter allows for a user vector: one GEMV over the item table
    /// (`items` row-major, `factors` columns) plus optional biases, then a bounded heap; the
    /// filter is consulted only for scores that would enter the heap.
    /// O(items x factors + items + h log quota), one scratch array of `items` floats.
    static func recall(vector: [Float], itemVectors: [Float], biases: [Float]?, factors: Int, quota: Int,
                       filter: CandidateFilter, channel: String) -> [Candidate] {
        let n = itemVectors.count / max(1, factors)
        guard quota > 0, n > 0, vector.count == factors else { return [] }
        var scores = [Float](repeating: 0, count: n)
        scores.withUnsafeMutableBufferPointer { s in
            itemVectors.withUnsafeBufferPointer { a in
                vector.withUnsafeBufferPointer { x in
                    // One thread: channels of a request already run concurrently.
                    Kernels.gemv(trans: false, m: n, n: factors, a: a.baseAddress!, lda: factors,
                                 x: x.baseAddress!, y: s.baseAddress!, threads: 1)
                }
            }
            if let b = biases { for j in 0..<n { s[j] += b[j] } }
        }
        var top = TopK(quota)
        for j in 0..<n {
            let s = scores[j]
            if s >= top.threshold && filter.allows(Int32(j)) { top.push(Int32(j), s) }
        }
        return top.sorted().map { Candidate(item: $0.id, score: $0.score, channel: channel) }
    }

    /// Runs `body` over chunks of `0..<count` of about `chunk` rows on `threads` threads; chunks
    /// are handed out dynamically (skewed rows balance) and run inline with one thread.
    static func forChunks(_ count: Int, threads: Int, chunk: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let size = max(1, chunk)
        let chunks = (count + size - 1) / size
        let t = min(max(1, threads), chunks)
        if t == 1 { body(0..<count); return }
        let next = ChunkCounter()
        Parallel.for(t) { _ in
            while true {
                let c = next.take()
                if c >= chunks { return }
                body((c * size)..<min(count, (c + 1) * size))
            }
        }
    }

    /// Hands out chunk numbers 0, 1, 2, ... to competing threads (a lock, taken once a chunk:
    /// negligible next to a chunk's work, and available on every platform the package targets).
    final class ChunkCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        func take() -> Int {
            lock.lock()
            defer { lock.unlock() }
            next += 1
            return next - 1
        }
    }

    /// Threads to use: the parameter, or every processor when nil.
    static func threads(_ requested: Int?) -> Int { max(1, requested ?? Parallel.processorCount) }

    /// Random initial factors, uniform in [-scale, scale), from a seeded stream.
    static func initialVectors(count: Int, scale: Float, rng: inout FactorRandom) -> [Float] {
        (0..<count).map { _ in (rng.nextUnitFloat() * 2 - 1) * scale }
    }

    /// Checks a factor table read from an artifact or handed to an initializer.
    static func validate(_ what: String, _ table: String, _ values: [Float], rows: Int, factors: Int) throws(CascadeError) {
        guard rows >= 0, values.count == rows * factors else {
            throw .invalid("\(what): \(table) has \(values.count) values, expected \(rows) x \(factors) = \(rows * factors)")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .invalid("\(what): \(table) holds a non-finite value (\(values[bad])) in row \(bad / max(1, factors))")
        }
    }
}

/// The factor models' generator: ``SplitMix64`` (streams for threads and requests by
/// `init(seed:stream:)`).
typealias FactorRandom = SplitMix64
