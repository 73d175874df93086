import CascadeCore
import CascadeTensor
import Foundation

/// Two-tower retrieval with sampling-bias correction: Yi et al., "Sampling-Bias-Corrected Neural
/// Modeling for Large Corpus Item Recommendations" (RecSys 2019), with the mixed negatives of
/// Yang et al. (WWW 2020), the hard-negative second stage of EBR (Huang et al., KDD 2020) and the
/// self-supervised item tower of Yao et al. (CIKM 2021) as options (`TwoTowerParameters`).
///
/// Training (`TwoTower.train`, TwoTowerTraining.swift): positives are engaged events in time
/// order (impressions are neither positives nor negatives); each batch scores every user against
/// the batch's positives plus uniformly drawn items, cosine / temperature, minus log q of each
/// column (q estimated by streaming frequency), in-batch softmax with collisions masked.
///
/// Serving (this file): the item tower's vectors for the whole catalog are computed once at
/// build time (items never engaged with get vectors from their features alone: cold start);
/// the user tower runs per request on the user's id and LastN engaged items, written with plain
/// kernels (two small GEMVs), then one GEMV over the item vectors and a bounded heap.
/// Parameters: dim (32), hidden (128), historyLength (30). Request cost O(items dim + hidden dim).
public struct TwoTower: RecallChannel {
    public let name: String
    public let dim: Int
    public let hidden: Int
    public let userCount: Int
    public let itemCount: Int
    public let historyLength: Int
    /// Item vectors [itemCount, dim], unit length.
    public let itemVectors: [Float]
    /// Items that had positives in training (others were embedded from features only).
    public let known: [Bool]
    let userTable: [Float], historyTable: [Float], categoryTable: [Float]
    let itemCategory: [Int32]
    let w1: [Float], b1: [Float], w2: [Float], b2: [Float]
    /// Event types whose weight is positive count as engagement in a request's history.
    public var positiveTypes: Set<UInt8>
    /// Every parameter of the network (a `ModelArchive`), for incremental updates.
    let networkArchive: [UInt8]
    /// Side-feature vocabulary sizes the network was built with.
    let vocabulary: [Int]

    init(network net: TwoTowerNetwork, features f: ItemSideFeatures, known: [Bool], name: String,
         historyLength: Int, positiveTypes: Set<UInt8>) throws {
        self.name = name
        dim = net.dim
        hidden = net.userHidden.outputSize
        userCount = net.users
        itemCount = net.items
        self.historyLength = historyLength
        self.known = known
        self.positiveTypes = positiveTypes
        userTable = net.userTable.value.toArray()
        historyTable = net.historyTable.value.toArray()
        categoryTable = net.categoryTable.value.toArray()
        itemCategory = f.category
        w1 = net.userHidden.weight.value.toArray()
        b1 = net.userHidden.bias!.value.toArray()
        w2 = net.userOut.weight.value.toArray()
        b2 = net.userOut.bias!.value.toArray()
        var archive = ModelArchive(modelKind: "recall/twotower")
        try archive.addParameters(net.parameters)
        networkArchive = [UInt8](try archive.encoded())
        vocabulary = [f.categoryCount, f.authorCount, f.tagCount]
        var vectors = [Float]()
        vectors.reserveCapacity(itemCount * dim)
        var start = 0
        while start < itemCount {
            let ids = (start..<Swift.min(itemCount, start + 4096)).map(Int32.init)
            let tape = Tape(training: false, threads: 1)
            vectors += try net.itemTower(ids, known: known, features: f, tape: tape).value.toArray()
            start += ids.count
        }
        itemVectors = vectors
    }

    /// The user tower without a tape: [user row, mean history rows, mean history-category rows]
    /// -> ReLU(x W1 + b1) -> W2 + b2 -> unit length. `history` newest first (the first
    /// `historyLength` are used). Nil when the user is unknown and has no history.
    public func userVector(user: Int32?, history: [Int32]) -> [Float]? {
        let h = Array(history.filter { $0 >= 0 && Int($0) < itemCount }.prefix(historyLength))
        let knownUser = user.map { $0 >= 0 && Int($0) < userCount } ?? false
        if !knownUser && h.isEmpty { return nil }
        var x = [Float](repeating: 0, count: 3 * dim)
        let u = knownUser ? Int(user!) : userCount
        for k in 0..<dim { x[k] = userTable[u * dim + k] }
        if !h.isEmpty {
            let inv = 1 / Float(h.count)
            for i in h {
                let c = Int(itemCategory[Int(i)])
                for k in 0..<dim {
                    x[dim + k] += historyTable[Int(i) * dim + k] * inv
                    x[2 * dim + k] += categoryTable[c * dim + k] * inv
                }
            }
        }
        var z1 = b1
        x.withUnsafeBufferPointer { xp in w1.withUnsafeBufferPointer { wp in z1.withUnsafeMutableBufferPointer { zp in
            Kernels.gemv(trans: true, m: 3 * dim, n: hidden, a: wp.baseAddress!, lda: hidden, x: xp.baseAddress!,
                         beta: 1, y: zp.baseAddress!, threads: 1)
        } } }
        for k in 0..<hidden where z1[k] < 0 { z1[k] = 0 }
        var z2 = b2
        z1.withUnsafeBufferPointer { xp in w2.withUnsafeBufferPointer { wp in z2.withUnsafeMutableBufferPointer { zp in
            Kernels.gemv(trans: true, m: hidden, n: dim, a: wp.baseAddress!, lda: dim, x: xp.baseAddress!,
                         beta: 1, y: zp.baseAddress!, threads: 1)
        } } }
        let norm = (z2.reduce(0) { $0 + $1 * $1 } + 1e-12).squareRoot()
        return z2.map { $0 / norm }
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0, let v = queryVector(context) else { return [] }
        return Factorization.recall(vector: v, itemVectors: itemVectors, biases: nil, factors: dim, quota: quota,
                                    filter: filter, channel: name)
    }

    /// The network rebuilt from the stored parameters, with tables grown to `users` and `items`
    /// (and the side vocabularies of `features`): old rows are copied, new ones start as the old
    /// "unknown" row.
    func network(users: Int, items: Int, features f: ItemSideFeatures, seed: UInt64) throws -> TwoTowerNetwork {
        let old = TwoTowerNetwork(users: userCount, items: itemCount,
                                  features: ItemSideFeatures(category: [], author: [], tagOffsets: [0], tagIds: [], categoryCount: vocabulary[0],
                                                             authorCount: vocabulary[1], tagCount: vocabulary[2]),
                                  dim: dim, hidden: hidden, seed: seed)
        try ModelArchive(data: Data(networkArchive), path: "two-tower artifact").load(into: old.parameters)
        let net = TwoTowerNetwork(users: users, items: items, features: f, dim: dim, hidden: hidden, seed: seed)
        for (new, was) in zip(net.parameters, old.parameters) {
            let cols = was.value.shape.last, oldRows = was.value.shape.rows, newRows = new.value.shape.rows
            guard newRows >= oldRows, cols == new.value.shape.last else {
                throw CascadeError.invalid("two-tower refresh: parameter \(was.name) cannot grow from \(was.value.shape) to \(new.value.shape)")
            }
            // Id tables keep their last row as "unknown": copy known rows, then fill the rest with it.
            let unknownLast = [net.userTable.name, net.historyTable.name, net.itemTable.name].contains(new.name)
            let keep = unknownLast ? oldRows - 1 : oldRows
            new.value.base.update(from: was.value.base, count: keep * cols)
            let filler = unknownLast ? was.value.base + (oldRows - 1) * cols : nil
            if let filler { for r in keep..<newRows { (new.value.base + r * cols).update(from: filler, count: cols) } }
        }
        return net
    }

    static let magic = "C2TW"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 2)
        w.write(name)
        for v in [dim, hidden, userCount, itemCount, historyLength] { w.write(Int64(v)) }
        w.write(array: vocabulary.map(Int64.init))
        w.write(array: networkArchive)
        w.write(array: positiveTypes.sorted())
        w.write(array: known.map { $0 ? UInt8(1) : 0 })
        w.write(array: itemCategory)
        for a in [itemVectors, userTable, historyTable, categoryTable, w1, b1, w2, b2] { w.write(array: a) }
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: "two-tower artifact")
        guard r.version == 2 else { throw .corrupt("two-tower artifact: version \(r.version) is not supported (retrain the model)") }
        name = try r.readString("name")
        dim = Int(try r.read(Int64.self, "dim"))
        hidden = Int(try r.read(Int64.self, "hidden"))
        userCount = Int(try r.read(Int64.self, "users"))
        itemCount = Int(try r.read(Int64.self, "items"))
        historyLength = Int(try r.read(Int64.self, "history length"))
        vocabulary = try r.readArray(Int64.self, "vocabulary").map { Int($0) }
        networkArchive = try r.readArray(UInt8.self, "network")
        guard vocabulary.count == 3 else { throw .invalid("two-tower artifact: expected 3 vocabulary sizes, got \(vocabulary.count)") }
        positiveTypes = Set(try r.readArray(UInt8.self, "positive types"))
        known = try r.readArray(UInt8.self, "known").map { $0 != 0 }
        itemCategory = try r.readArray(Int32.self, "item categories")
        itemVectors = try r.readFloats("item vectors")
        userTable = try r.readFloats("user table")
        historyTable = try r.readFloats("history table")
        categoryTable = try r.readFloats("category table")
        w1 = try r.readFloats("w1"); b1 = try r.readFloats("b1"); w2 = try r.readFloats("w2"); b2 = try r.readFloats("b2")
        guard dim > 0, hidden > 0, itemVectors.count == itemCount * dim, userTable.count == (userCount + 1) * dim,
              historyTable.count == (itemCount + 1) * dim, known.count == itemCount, itemCategory.count == itemCount,
              w1.count == 3 * dim * hidden, b1.count == hidden, w2.count == hidden * dim, b2.count == dim,
              categoryTable.count % dim == 0, itemCategory.allSatisfy({ $0 >= 0 && Int($0) < categoryTable.count / dim }) else {
            throw .invalid("two-tower artifact: sizes do not agree (dim \(dim), hidden \(hidden), \(itemCount) items, \(userCount) users)")
        }
    }
}
