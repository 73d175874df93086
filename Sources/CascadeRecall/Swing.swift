import CascadeCore
import Foundation

/// Swing item-item similarity (Yang, Zhu, Zhang, Wang and Yuan, "Large Scale Product Graph
/// Construction for Recommendation in E-commerce", arXiv:2010.05525, 2020), as seeds 004 and 002
/// define it: two items are similar when many *pairs* of users both interacted with them, and a
/// pair counts less the more the two users have in common otherwise.
///
/// Offline, with `I_u` the items of user `u` and `U_i` the users of item `i`:
///
///     sim(i, j) = sum over pairs {u, v} of distinct users in U_i ∩ U_j of
///                 w_u w_v / (alpha + |I_u ∩ I_v|),      w_u = (|I_u| + userSmoothing)^(-userExponent)
///
/// Each unordered pair (a "swing", the quadrangle u-i-v-j) counts once: the seeds' double sum over
/// `V x V`, `V = U_i ∩ U_j`, counts it twice and adds `u = v` terms, which are item-CF's evidence
/// from a single user. Counting distinct pairs once keeps the quasi-local structure Swing is built
/// on (two different users, two items): scores are half the seeds' sum without its diagonal, and
/// no ranking changes by the halving. `userExponent = 0` gives the seeds' unweighted form.
///
/// Why it fixes item-CF's "two unrelated notes shared in one group" failure (seed 004): item-CF
/// normalises a co-occurrence count by popularity, so a niche item that a handful of group members
/// opened becomes the top neighbour of whatever else they shared. Swing needs many independent
/// pairs of users, and pairs whose members overlap a lot (a close-knit group) count less.
///
/// Caps (they bound the cost given below):
/// - `maxItemsPerUser`: a user contributes their strongest items only (as in ``ItemCF``); `|I_u|`
///   in the overlap is the capped list, while `w_u` uses the user's full item count.
/// - `maxUsersPerItem`: an item with more users keeps an evenly spaced, deterministic sample of
///   them. Row `i` sums over pairs from `i`'s sample, so the table can be slightly asymmetric.
///
/// Build, per item `i` with `n = min(|U_i|, maxUsersPerItem)` sampled users: count the items of
/// their capped lists, keep the items `j` held by at least two of them with their posting lists
/// `P_j`, accumulate every pair's overlap from the postings, then sum `w_u w_v / (alpha + overlap)`
/// over the pairs of each `P_j`. Time O(sum_u |I_u| + n^2 + sum_j |P_j|^2) per item, which is the
/// number of (pair, shared item) incidences, not the number of user pairs times list lengths;
/// memory O(items + n^2) scratch per thread plus the table, O(items x neighbours). Items run in
/// parallel, interleaved over chunks so that popular items spread over the cores. The worst case
/// (every sampled user holding the same `maxItemsPerUser` items) is O(n^2 x maxItemsPerUser) per
/// item, which is why both caps exist. Measured on 2 cores, release build, with a power-law log of
/// 100k users, 1M items and 10M events (Zipf 1.0 items, 7.7M distinct pairs; caps users/item x
/// items/user): 200 x 200 6 s, 500 x 300 (the default) 10-17 s, 1000 x 500 21 s, 2000 x 1000
/// 85 s, peak resident memory under 1 GiB including the matrix (`SwingScale` in the tests).
///
/// Online: exactly as ``ItemCF`` (LastN distinct triggers weighted by event type, position decay
/// and optional time decay; a candidate scores `sum_t weight_t sim(t, j)`); O(triggers x neighbours).
public struct Swing: RecallChannel {
    public struct Parameters: Sendable, Equatable {
        /// Neighbours kept per item.
        public var neighbours = 100
        /// `alpha`: smoothing of the pair overlap; larger values make overlap matter less.
        public var alpha: Float = 1
        /// `alpha_1` of the user weight `(|I_u| + alpha_1)^(-beta)`.
        public var userSmoothing: Float = 5
        /// `beta` of the user weight; 0 weighs every user 1 (the seeds' form).
        public var userExponent: Float = 0.3
        /// A user's strongest items used offline.
        public var maxItemsPerUser = 300
        /// Users of one item used offline (evenly spaced sample beyond this); cost grows with its square.
        public var maxUsersPerItem = 500
        /// Triggers (most recent distinct positive items) used online.
        public var lastN = 200
        /// Seconds after which a trigger counts half; nil for no decay.
        public var triggerHalfLife: Double? = nil
        /// The k-th most recent distinct trigger (k = 0 newest) counts `positionDecay^k`.
        public var positionDecay: Float = 0.8
        public init() {}

        /// Checks every field; the message names it.
        public func validate() throws(CascadeError) {
            func need(_ ok: Bool, _ what: String) throws(CascadeError) { if !ok { throw .invalid("Swing parameters: \(what)") } }
            try need(neighbours >= 0, "neighbours must be >= 0, got \(neighbours)")
            try need(alpha.isFinite && alpha >= 0, "alpha must be finite and >= 0, got \(alpha)")
            try need(userSmoothing.isFinite && userSmoothing > -1, "userSmoothing must be finite and > -1, got \(userSmoothing)")
            try need(userExponent.isFinite && userExponent >= 0, "userExponent must be finite and >= 0, got \(userExponent)")
            try need(maxItemsPerUser >= 1, "maxItemsPerUser must be >= 1, got \(maxItemsPerUser)")
            try need((2...8192).contains(maxUsersPerItem), "maxUsersPerItem must be in 2...8192, got \(maxUsersPerItem)")
            try need(lastN >= 0, "lastN must be >= 0, got \(lastN)")
            try need(triggerHalfLife.map { $0.isFinite && $0 > 0 } ?? true, "triggerHalfLife must be positive")
            try need(positionDecay.isFinite && positionDecay >= 0, "positionDecay must be finite and >= 0, got \(positionDecay)")
        }
    }

    public let name: String
    public let parameters: Parameters
    /// Weight per event-type code, for triggers.
    public let typeWeights: [Float]
    /// Neighbour table in CSR form: item i's neighbours are `neighbourItems[offsets[i]..<offsets[i+1]]`, best first.
    public let offsets: [Int]
    public let neighbourItems: [Int32]
    public let similarities: [Float]

    public var itemCount: Int { offsets.count - 1 }

    public init(name: String = "swing", parameters: Parameters, typeWeights: [Float], offsets: [Int],
                neighbourItems: [Int32], similarities: [Float]) {
        self.name = name
        self.parameters = parameters
        self.typeWeights = typeWeights
        self.offsets = offsets
        self.neighbourItems = neighbourItems
        self.similarities = similarities
    }

    /// The neighbours of `item`, best first.
    public func neighbours(of item: Int32) -> [(item: Int32, similarity: Float)] {
        guard item >= 0, Int(item) < itemCount else { return [] }
        return (offsets[Int(item)]..<offsets[Int(item) + 1]).map { (neighbourItems[$0], similarities[$0]) }
    }

    /// Builds the neighbour table from an interaction matrix.
    /// - Precondition: `parameters.validate()` does not throw.
    public static func build(_ matrix: InteractionMatrix, typeWeights: [Float], parameters: Parameters = Parameters(),
                             name: String = "swing") -> Swing {
        do { try parameters.validate() } catch { preconditionFailure(error.description) }
        let ui = ItemCF.capRows(matrix.userItems, cap: parameters.maxItemsPerUser)
        let iu = ui.transposed().evenlySampledRows(cap: parameters.maxUsersPerItem)
        let full = matrix.userItems
        let weights: [Float] = (0..<full.rowCount).map {
            parameters.userExponent == 0 ? 1 : pow(Float(full.rowLength($0)) + parameters.userSmoothing, -parameters.userExponent)
        }
        let nItems = ui.columnCount
        let widest = (0..<iu.rowCount).reduce(0) { max($0, iu.rowLength($1)) }
        let alpha = parameters.alpha
        let table = NeighbourTable.build(rows: nItems, k: parameters.neighbours,
                                         scratch: { SwingScratch(itemCount: nItems, maxUsers: widest) }) { i, s, top in
            s.row(Int32(i), ui: ui, iu: iu, weights: weights, alpha: alpha, into: &top)
        }
        return Swing(name: name, parameters: parameters, typeWeights: typeWeights, offsets: table.offsets,
                     neighbourItems: table.ids, similarities: table.scores)
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0 else { return [] }
        let triggers = Triggers.weighted(context, typeWeights: typeWeights, itemCount: itemCount, lastN: parameters.lastN,
                                         halfLife: parameters.triggerHalfLife, positionDecay: parameters.positionDecay)
        return Triggers.score(triggers, offsets: offsets, neighbours: neighbourItems, similarities: similarities,
                              quota: quota, filter: filter, channel: name)
    }

    static let magic = "CSWG"
    static let what = "Swing artifact"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        let p = parameters
        for v in [p.neighbours, p.maxItemsPerUser, p.maxUsersPerItem, p.lastN] { w.write(Int64(v)) }
        for v in [p.alpha, p.userSmoothing, p.userExponent, p.positionDecay] { w.write(v) }
        w.write(p.triggerHalfLife ?? -1)
        w.write(array: typeWeights)
        w.write(array: offsets.map { Int64($0) })
        w.write(array: neighbourItems)
        w.write(array: similarities)
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: Self.what)
        guard r.version == 1 else { throw .corrupt("\(Self.what): unknown version \(r.version)") }
        let name = try r.readString("name")
        var p = Parameters()
        p.neighbours = try r.readBoundedInt("neighbours", of: Self.what)
        p.maxItemsPerUser = try r.readBoundedInt("maxItemsPerUser", of: Self.what)
        p.maxUsersPerItem = try r.readBoundedInt("maxUsersPerItem", of: Self.what)
        p.lastN = try r.readBoundedInt("lastN", of: Self.what)
        p.alpha = try r.readFloat("alpha")
        p.userSmoothing = try r.readFloat("userSmoothing")
        p.userExponent = try r.readFloat("userExponent")
        p.positionDecay = try r.readFloat("positionDecay")
        let h = try r.readDouble("triggerHalfLife")
        p.triggerHalfLife = h < 0 ? nil : h
        do { try p.validate() } catch { throw .corrupt("\(Self.what): \(error.description)") }
        let weights = try r.readFloats("typeWeights")
        let offsets = try r.readArray(Int64.self, "offsets").map { Int($0) }
        let items = try r.readArray(Int32.self, "neighbours")
        let sims = try r.readFloats("similarities")
        guard r.isAtEnd else { throw .corrupt("\(Self.what): unexpected bytes after the neighbour table") }
        guard weights.allSatisfy(\.isFinite) else { throw .corrupt("\(Self.what): a type weight is not finite") }
        try NeighbourTable.check(offsets: offsets, ids: items, scores: sims, idCount: offsets.count - 1,
                                 maxRow: p.neighbours, what: Self.what)
        self.init(name: name, parameters: p, typeWeights: weights, offsets: offsets, neighbourItems: items, similarities: sims)
    }
}

/// Per-thread scratch of the Swing build; see ``Swing`` for the algorithm.
final class SwingScratch {
    let count: UnsafeMutablePointer<Int32>   // per item: how many sampled users hold it
    let slot: UnsafeMutablePointer<Int32>    // per item: its index among the shared items
    var touched: [Int32] = []
    var shared: [Int32] = []
    var start: [Int32] = []                  // posting list of shared item s: postings[start[s]..<start[s+1]]
    var fill: [Int32] = []
    var postings: [Int32] = []               // local user indices, ascending within a list
    var w: [Float] = []                      // weights of the n users
    let pair: UnsafeMutablePointer<Float>    // n x n, upper triangle: overlap, then the pair's weight
    let itemCount: Int

    init(itemCount: Int, maxUsers: Int) {
        self.itemCount = itemCount
        count = .allocate(capacity: max(1, itemCount))
        count.initialize(repeating: 0, count: max(1, itemCount))
        slot = .allocate(capacity: max(1, itemCount))
        slot.initialize(repeating: 0, count: max(1, itemCount))
        pair = .allocate(capacity: max(1, maxUsers * maxUsers))
    }

    deinit {
        count.deallocate()
        slot.deallocate()
        pair.deallocate()
    }

    /// Pushes row `i` of the Swing table into `top`.
    func row(_ i: Int32, ui: SparseMatrix, iu: SparseMatrix, weights: [Float], alpha: Float, into top: inout TopK) {
        let users = iu.rowRange(Int(i))
        let n = users.count
        guard n >= 2 else { return }
        // 1. How many of the n users hold each other item.
        touched.removeAll(keepingCapacity: true)
        for p in users {
            for q in ui.rowRange(Int(iu.columns[p])) {
                let j = ui.columns[q]
                if j == i { continue }
                if count[Int(j)] == 0 { touched.append(j) }
                count[Int(j)] += 1
            }
        }
        // 2. Items held by two or more: posting lists of local user indices.
        shared.removeAll(keepingCapacity: true)
        start.removeAll(keepingCapacity: true)
        start.append(0)
        for j in touched where count[Int(j)] >= 2 {
            slot[Int(j)] = Int32(shared.count)
            shared.append(j)
            start.append(start[start.count - 1] + count[Int(j)])
        }
        if !shared.isEmpty {
            fill.removeAll(keepingCapacity: true)
            fill.append(contentsOf: start)
            postings.removeAll(keepingCapacity: true)
            postings.append(contentsOf: repeatElement(0, count: Int(start[start.count - 1])))
            for (a, p) in users.enumerated() {
                for q in ui.rowRange(Int(iu.columns[p])) {
                    let j = Int(ui.columns[q])
                    if j == Int(i) || count[j] < 2 { continue }
                    let s = Int(slot[j])
                    postings[Int(fill[s])] = Int32(a)
                    fill[s] += 1
                }
            }
        }
        for j in touched { count[Int(j)] = 0 }
        guard !shared.isEmpty else { return }
        // 3. Pair overlaps |I_u ∩ I_v| (i itself is shared by all), then w_u w_v / (alpha + overlap).
        for a in 0..<n { for b in (a + 1)..<n { pair[a * n + b] = alpha + 1 } }
        postings.withUnsafeBufferPointer { post in
            for s in 0..<shared.count {
                let lo = Int(start[s]), hi = Int(start[s + 1])
                for x in lo..<hi {
                    let row = Int(post[x]) * n
                    for y in (x + 1)..<hi { pair[row + Int(post[y])] += 1 }
                }
            }
            w.removeAll(keepingCapacity: true)
            for p in users { w.append(weights[Int(iu.columns[p])]) }
            for a in 0..<n { for b in (a + 1)..<n { pair[a * n + b] = w[a] * w[b] / pair[a * n + b] } }
            // 4. sim(i, j) = sum over the pairs of P_j.
            for s in 0..<shared.count {
                let lo = Int(start[s]), hi = Int(start[s + 1])
                var sum: Float = 0
                for x in lo..<hi {
                    let row = Int(post[x]) * n
                    for y in (x + 1)..<hi { sum += pair[row + Int(post[y])] }
                }
                top.push(shared[s], sum)
            }
        }
    }
}

/// A top-K neighbour table in CSR form (rows best first), built row by row in parallel.
struct NeighbourTable {
    var offsets: [Int]
    var ids: [Int32]
    var scores: [Float]

    /// The rows one chunk computed, in order.
    struct Part { var counts: [Int32] = []; var ids: [Int32] = []; var scores: [Float] = [] }

    /// Runs `row(r, &scratch, &top)` for every row. Rows are interleaved over `8 x cores` chunks
    /// (row r goes to chunk r mod chunks) so skewed rows spread evenly; each chunk makes one
    /// scratch. Deterministic: a row's result does not depend on the chunking.
    static func build<Scratch>(rows: Int, k: Int, scratch: @escaping @Sendable () -> Scratch,
                               row: @escaping @Sendable (Int, inout Scratch, inout TopK) -> Void) -> NeighbourTable {
        let chunks = max(1, min(rows, Parallel.coreCount * 8))
        var parts = [Part](repeating: Part(), count: chunks)
        parts.withUnsafeMutableBufferPointer { buf in
            let out = SendablePointer(buf.baseAddress!)
            Parallel.forEach(chunks: chunks) { c in
                var s = scratch()
                var part = Part()
                var r = c
                while r < rows {
                    var top = TopK(k)
                    row(r, &s, &top)
                    let best = top.sorted()
                    part.counts.append(Int32(best.count))
                    for e in best { part.ids.append(e.id); part.scores.append(e.score) }
                    r += chunks
                }
                out[c] = part
            }
        }
        var offsets = [Int](repeating: 0, count: rows + 1)
        for r in 0..<rows { offsets[r + 1] = offsets[r] + Int(parts[r % chunks].counts[r / chunks]) }
        var ids = [Int32](repeating: 0, count: offsets[rows])
        var scores = [Float](repeating: 0, count: offsets[rows])
        var cursor = [Int](repeating: 0, count: chunks)
        for r in 0..<rows {
            let c = r % chunks
            for p in offsets[r]..<offsets[r + 1] {
                ids[p] = parts[c].ids[cursor[c]]
                scores[p] = parts[c].scores[cursor[c]]
                cursor[c] += 1
            }
        }
        return NeighbourTable(offsets: offsets, ids: ids, scores: scores)
    }

    /// Validates a loaded table: offsets start at 0, never decrease and end at the entry count;
    /// rows hold at most `maxRow` distinct ids in `0..<idCount`, never the row itself, with finite
    /// scores best first.
    static func check(offsets: [Int], ids: [Int32], scores: [Float], idCount: Int, maxRow: Int,
                      what: String) throws(CascadeError) {
        guard !offsets.isEmpty, offsets[0] == 0, offsets[offsets.count - 1] == ids.count, ids.count == scores.count
        else { throw .corrupt("\(what): neighbour table offsets disagree with its \(ids.count) entries") }
        var lastRow = [Int](repeating: -1, count: max(0, idCount))
        for r in 0..<(offsets.count - 1) {
            let lo = offsets[r], hi = offsets[r + 1]
            guard lo <= hi, hi - lo <= maxRow else { throw .corrupt("\(what): row \(r) has a bad length") }
            for p in lo..<hi {
                let id = Int(ids[p])
                guard id >= 0, id < idCount, id != r, lastRow[id] != r
                else { throw .corrupt("\(what): row \(r) holds an invalid or repeated neighbour \(id)") }
                lastRow[id] = r
                guard scores[p].isFinite, p == lo || scores[p - 1] >= scores[p]
                else { throw .corrupt("\(what): row \(r) scores are not finite and descending") }
            }
        }
    }
}

extension SparseMatrix {
    /// Each row with more than `cap` entries keeps `cap` of them, evenly spaced (entries
    /// `floor(t * length / cap)` for t in 0..<cap), still ascending by column. Deterministic.
    func evenlySampledRows(cap: Int) -> SparseMatrix {
        guard (0..<rowCount).contains(where: { rowLength($0) > cap }) else { return self }
        var offs = [Int](repeating: 0, count: rowCount + 1)
        var cols: [Int32] = [], vals: [Float] = []
        cols.reserveCapacity(nonZeroCount)
        vals.reserveCapacity(nonZeroCount)
        for r in 0..<rowCount {
            let lo = offsets[r], len = rowLength(r)
            if len <= cap {
                cols.append(contentsOf: columns[lo..<lo + len])
                vals.append(contentsOf: values[lo..<lo + len])
            } else {
                for t in 0..<cap {
                    let p = lo + t * len / cap
                    cols.append(columns[p])
                    vals.append(values[p])
                }
            }
            offs[r + 1] = cols.count
        }
        return SparseMatrix(rowCount: rowCount, columnCount: columnCount, offsets: offs, columns: cols, values: vals)
    }
}

extension ByteReader {
    /// An Int64 field as Int, rejected when outside Int32 range (no count in an artifact is larger).
    mutating func readBoundedInt(_ field: String, of what: String) throws(CascadeError) -> Int {
        let v = try read(Int64.self, field)
        guard v >= Int64(Int32.min), v <= Int64(Int32.max) else { throw .corrupt("\(what): \(field) \(v) is out of range") }
        return Int(v)
    }
}

/// The Swing channel ("swing"): item neighbours by the quadrangles of users who share two items.
public enum SwingChannel: ChannelDefinition {
    public static let name = "swing"
    public static let summary = "Swing item-to-item similarity (pairs of users sharing pairs of items)"
    public static let defaultParameters = Swing.Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (200, 0.9)
    public static let settings: [Setting<Swing.Parameters>] = [
        .int("neighbours", "Neighbours kept per item.", \.neighbours, 0...10_000),
        .float("alpha", "Smoothing of the pair overlap; larger values make overlap matter less.", \.alpha, ">= 0") { $0 >= 0 },
        .float("userExponent", "beta of the user weight (|I_u| + alpha_1)^-beta; 0 weighs every user 1.", \.userExponent, ">= 0") { $0 >= 0 },
        .int("maxUsersPerItem", "Users of one item used offline; the cost grows with its square.", \.maxUsersPerItem, 2...8192),
        .int("lastN", "Most recent distinct items of a user used as triggers.", \.lastN, 0...Int.max),
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: Swing.Parameters) throws -> any RecallChannel {
        Swing.build(input.matrix, typeWeights: input.typeWeights, parameters: parameters, name: name)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel { try Swing(serialized: bytes) }
}
