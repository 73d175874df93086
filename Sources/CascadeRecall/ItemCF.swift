import CascadeCore
import Foundation

/// Item-based collaborative filtering (Sarwar et al., "Item-based collaborative filtering
/// recommendation algorithms", WWW 2001; Linden, Smith and York, "Amazon.com recommendations:
/// item-to-item collaborative filtering", IEEE Internet Computing 2003), with inverse user
/// frequency (Breese, Heckerman and Kadie, UAI 1998) so very active users count less.
///
/// Offline: with `r_ui = log(1 + w_ui)` the interaction strength (event-type weights, optional
/// time decay) and `iuf(u) = 1 / log(2 + |N(u)|)`,
///
///     sim(i, j) = sum_u iuf(u) r_ui r_uj / (||r_i|| ||r_j||)
///
/// and each item keeps its `neighbours` most similar items. A user contributes at most
/// `maxItemsPerUser` items (their strongest), which bounds the cost at
/// O(sum_u min(|N(u)|, cap)^2) time and O(items x neighbours) memory; items run in parallel.
///
/// Online: the user's LastN positive events are triggers, each weighted by its type weight, by
/// `2^(-age / triggerHalfLife)` and by `positionDecay^k` for the k-th most recent distinct item;
/// a candidate's score is `sum_t weight_t sim(t, j)`.
/// O(triggers x neighbours) a request.
public struct ItemCF: RecallChannel {
    public struct Parameters: Sendable, Equatable {
        /// Neighbours kept per item.
        public var neighbours = 100
        /// A user's strongest items used in co-occurrence counting.
        public var maxItemsPerUser = 300
        /// Triggers (most recent distinct positive items) used online.
        public var lastN = 200
        /// Seconds after which a trigger counts half; nil for no decay.
        public var triggerHalfLife: Double? = nil
        /// The k-th most recent distinct trigger (k = 0 newest) counts `positionDecay^k`:
        /// recency by position, which works whatever the pace of the user.
        public var positionDecay: Float = 0.8
        public init() {}
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

    public init(name: String = "itemcf", parameters: Parameters, typeWeights: [Float], offsets: [Int],
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
    public static func build(_ matrix: InteractionMatrix, typeWeights: [Float], parameters: Parameters = Parameters(),
                             name: String = "itemcf") -> ItemCF {
        let ui = capRows(matrix.userItems, cap: parameters.maxItemsPerUser)
        let iu = ui.transposed()
        let nItems = ui.columnCount
        let iuf = (0..<ui.rowCount).map { Float(1 / log(2 + Double(ui.rowLength($0)))) }
        let norms: [Float] = (0..<nItems).map { i in
            var s: Float = 0
            for p in iu.rowRange(i) { s += iu.values[p] * iu.values[p] }
            return s.squareRoot()
        }
        let k = parameters.neighbours
        var counts = [Int](repeating: 0, count: nItems)
        var items = [Int32](repeating: 0, count: nItems * k)
        var sims = [Float](repeating: 0, count: nItems * k)
        counts.withUnsafeMutableBufferPointer { cb in
            items.withUnsafeMutableBufferPointer { ib in
                sims.withUnsafeMutableBufferPointer { sb in
                    let c = SendablePointer(cb.baseAddress!), it = SendablePointer(ib.baseAddress!), sm = SendablePointer(sb.baseAddress!)
                    Parallel.forRanges(nItems, minimumChunk: 64) { range in
                        var acc = [Float](repeating: 0, count: nItems)
                        var touched: [Int32] = []
                        for i in range {
                            touched.removeAll(keepingCapacity: true)
                            for p in iu.rowRange(i) {
                                let u = Int(iu.columns[p])
                                let f = iuf[u] * iu.values[p]
                                for q in ui.rowRange(u) {
                                    let j = ui.columns[q]
                                    if Int(j) == i { continue }
                                    if acc[Int(j)] == 0 { touched.append(j) }
                                    acc[Int(j)] += f * ui.values[q]
                                }
                            }
                            var top = TopK(k)
                            for j in touched {
                                let s = acc[Int(j)] / max(norms[i] * norms[Int(j)], 1e-12)
                                acc[Int(j)] = 0
                                top.push(j, s)
                            }
                            let best = top.sorted()
                            c[i] = best.count
                            for (n, e) in best.enumerated() { it[i * k + n] = e.id; sm[i * k + n] = e.score }
                        }
                    }
                }
            }
        }
        var offsets = [Int](repeating: 0, count: nItems + 1)
        for i in 0..<nItems { offsets[i + 1] = offsets[i] + counts[i] }
        var outItems = [Int32](repeating: 0, count: offsets[nItems])
        var outSims = [Float](repeating: 0, count: offsets[nItems])
        for i in 0..<nItems {
            for n in 0..<counts[i] {
                outItems[offsets[i] + n] = items[i * k + n]
                outSims[offsets[i] + n] = sims[i * k + n]
            }
        }
        return ItemCF(name: name, parameters: parameters, typeWeights: typeWeights, offsets: offsets,
                      neighbourItems: outItems, similarities: outSims)
    }

    /// Keeps each row's `cap` strongest entries and maps values to `log(1 + w)`.
    static func capRows(_ m: SparseMatrix, cap: Int) -> SparseMatrix {
        var offsets = [0]
        var cols: [Int32] = []
        var vals: [Float] = []
        cols.reserveCapacity(m.nonZeroCount)
        vals.reserveCapacity(m.nonZeroCount)
        for r in 0..<m.rowCount {
            var range = Array(m.rowRange(r))
            if range.count > cap {
                range.sort { m.values[$0] != m.values[$1] ? m.values[$0] > m.values[$1] : $0 < $1 }
                range = Array(range.prefix(cap)).sorted()
            }
            for p in range {
                cols.append(m.columns[p])
                vals.append(log1p(m.values[p]))
            }
            offsets.append(cols.count)
        }
        return SparseMatrix(rowCount: m.rowCount, columnCount: m.columnCount, offsets: offsets, columns: cols, values: vals)
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0 else { return [] }
        let triggers = Triggers.weighted(context, typeWeights: typeWeights, itemCount: itemCount, lastN: parameters.lastN,
                                         halfLife: parameters.triggerHalfLife, positionDecay: parameters.positionDecay)
        return Triggers.score(triggers, offsets: offsets, neighbours: neighbourItems, similarities: similarities,
                              quota: quota, filter: filter, channel: name)
    }

    static let magic = "CICF"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        w.write(Int64(parameters.neighbours))
        w.write(Int64(parameters.maxItemsPerUser))
        w.write(Int64(parameters.lastN))
        w.write(parameters.triggerHalfLife ?? -1)
        w.write(parameters.positionDecay)
        w.write(array: typeWeights)
        w.write(array: offsets.map { Int64($0) })
        w.write(array: neighbourItems)
        w.write(array: similarities)
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: "item-CF artifact")
        guard r.version == 1 else { throw .corrupt("item-CF artifact: unknown version \(r.version)") }
        let name = try r.readString("name")
        var p = Parameters()
        p.neighbours = Int(try r.read(Int64.self, "neighbours"))
        p.maxItemsPerUser = Int(try r.read(Int64.self, "maxItemsPerUser"))
        p.lastN = Int(try r.read(Int64.self, "lastN"))
        let h = try r.readDouble("triggerHalfLife")
        p.triggerHalfLife = h < 0 ? nil : h
        p.positionDecay = try r.readFloat("positionDecay")
        let weights = try r.readFloats("typeWeights")
        let offsets = try r.readArray(Int64.self, "offsets").map { Int($0) }
        let items = try r.readArray(Int32.self, "neighbours")
        let sims = try r.readFloats("similarities")
        guard !offsets.isEmpty, offsets.first == 0, offsets.last == items.count, items.count == sims.count,
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }),
              items.allSatisfy({ $0 >= 0 && Int($0) < offsets.count - 1 })
        else { throw .corrupt("item-CF artifact: neighbour table is inconsistent") }
        self.init(name: name, parameters: p, typeWeights: weights, offsets: offsets, neighbourItems: items, similarities: sims)
    }
}

/// The item-CF channel ("itemcf"): a user's recent items, each bringing its nearest items.
public enum ItemCFChannel: ChannelDefinition {
    public static let name = "itemcf"
    public static let summary = "item-based collaborative filtering (neighbours of the user's recent items)"
    public static let defaultParameters = ItemCF.Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (300, 1)
    public static let settings: [Setting<ItemCF.Parameters>] = [
        .int("neighbours", "Neighbours kept per item.", \.neighbours, 1...10_000),
        .int("maxItemsPerUser", "A user's strongest items counted in co-occurrence.", \.maxItemsPerUser, 2...Int.max),
        .int("lastN", "Most recent distinct items of a user used as triggers.", \.lastN, 1...Int.max),
        .optionalDouble("triggerHalfLifeDays", "Days after which a trigger counts half (none: no decay).", \.triggerHalfLife, "> 0",
                        unit: 86_400) { $0 > 0 },
        .float("positionDecay", "Weight factor per step back in the user's history (1: all triggers equal).", \.positionDecay,
               "in (0, 1]") { $0 > 0 && $0 <= 1 },
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: ItemCF.Parameters) throws -> any RecallChannel {
        ItemCF.build(input.matrix, typeWeights: input.typeWeights, parameters: parameters, name: name)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel { try ItemCF(serialized: bytes) }
}
