import CascadeCore
import CascadeTensor
import Foundation

/// LightGCN: He et al., "LightGCN: Simplifying and Powering Graph Convolution Network for
/// Recommendation" (SIGIR 2020).
///
/// Users and items are nodes of the bipartite interaction graph (an edge for every positive
/// user-item pair). Embeddings E0 are propagated with the symmetric normalized adjacency
/// Â = D^-1/2 A D^-1/2, with no weights and no non-linearity: E(k+1) = Â E(k); the final
/// embedding averages the layers, E = (E0 + ... + E(K)) / (K + 1). Scores are inner products;
/// training minimizes BPR on (user, engaged item, uniformly drawn other item) triples with L2 on
/// the batch's E0 rows. Propagation runs over the whole graph every step: O(K nnz d) per step,
/// fine for catalogs of 10^4-10^5 items; larger graphs would need neighbour sampling.
/// Serving: user vectors (known users) or the mean of the history items' vectors (new users) against all
/// item vectors, one GEMV. Parameters: dim 64, layers 3, epochs 160, batch 2048, lr 0.005, l2 1e-4.
public struct LightGCN: RecallChannel {
    public struct Parameters: Sendable, Equatable {
        public var dim = 64
        public var layers = 3
        public var epochs = 160
        public var batchSize = 2048
        public var learningRate: Float = 0.005
        public var l2: Float = 1e-4
        public var seed: UInt64 = 17
        public var threads: Int? = nil
        public init() {}
    }

    public let name: String
    public let dim: Int
    public let userCount: Int
    public let itemCount: Int
    public let userVectors: [Float]
    public let itemVectors: [Float]
    public let positiveTypes: Set<UInt8>

    /// The normalized adjacency over users (rows 0..<U) and items (rows U..<U+I) of `matrix`'s
    /// positive entries.
    static func adjacency(_ m: SparseMatrix) throws -> CSRMatrix {
        let u = m.rowCount, i = m.columnCount
        var userDegree = [Float](repeating: 0, count: u), itemDegree = [Float](repeating: 0, count: i)
        for r in 0..<u { for e in m.rowRange(r) where m.values[e] > 0 { userDegree[r] += 1; itemDegree[Int(m.columns[e])] += 1 } }
        var byItem = [[(Int32, Float)]](repeating: [], count: i)
        var offsets = [0], indices: [Int32] = [], values: [Float] = []
        for r in 0..<u {
            for e in m.rowRange(r) where m.values[e] > 0 {
                let c = Int(m.columns[e])
                let w = 1 / (userDegree[r] * itemDegree[c]).squareRoot()
                indices.append(Int32(u + c)); values.append(w)
                byItem[c].append((Int32(r), w))
            }
            offsets.append(indices.count)
        }
        for c in 0..<i {
            for (r, w) in byItem[c] { indices.append(r); values.append(w) }
            offsets.append(indices.count)
        }
        return try CSRMatrix(rows: u + i, cols: u + i, offsets: offsets, indices: indices, values: values)
    }

    /// Trains on the positive entries of `matrix` (users x items).
    public static func build(_ matrix: InteractionMatrix, typeWeights: [Float], parameters p: Parameters = Parameters(),
                             name: String = "lightgcn", progress: ((String) -> Void)? = nil) throws -> LightGCN {
        let m = matrix.userItems
        let u = m.rowCount, n = m.columnCount
        let adj = try adjacency(m)
        var pairs: [(Int32, Int32)] = []
        for r in 0..<u { for e in m.rowRange(r) where m.values[e] > 0 { pairs.append((Int32(r), m.columns[e])) } }
        guard !pairs.isEmpty, n > 1 else { throw CascadeError.invalid("lightgcn: no positive interactions to train on") }
        let table = Parameter("lightgcn.embedding", Tensor.normal([u + n, p.dim], std: 0.1, seed: p.seed))
        let adam = Adam(learningRate: p.learningRate)
        var rng = TensorRandom(seed: p.seed &+ 1)
        func propagate(_ tape: Tape) throws -> Variable {
            var e = tape.parameter(table)
            var sum = e
            for _ in 0..<p.layers {
                e = try e.sparseProduct(adj)
                sum = try sum + e
            }
            return sum * (1 / Float(p.layers + 1))
        }
        let steps = Swift.max(1, pairs.count / p.batchSize)
        for epoch in 0..<p.epochs {
            var lossSum = 0.0
            for _ in 0..<steps {
                var users: [Int32] = [], pos: [Int32] = [], neg: [Int32] = []
                for _ in 0..<p.batchSize {
                    let (a, b) = pairs[Int(rng.next() % UInt64(pairs.count))]
                    var j = Int32(rng.next() % UInt64(n))
                    for _ in 0..<5 where m.value(row: Int(a), column: j) > 0 { j = Int32(rng.next() % UInt64(n)) }
                    users.append(a); pos.append(Int32(u) + b); neg.append(Int32(u) + j)
                }
                let tape = Tape(training: true, threads: p.threads)
                let final = try propagate(tape)
                let eu = try final.gather(IndexTensor(users)), ei = try final.gather(IndexTensor(pos)), ej = try final.gather(IndexTensor(neg))
                let loss = try Loss.bpr(positive: (eu * ei).sum(axis: 1), negative: (eu * ej).sum(axis: 1))
                let e0 = tape.parameter(table)
                let reg = try (e0.gather(IndexTensor(users)).square().sum() + e0.gather(IndexTensor(pos)).square().sum()
                               + e0.gather(IndexTensor(neg)).square().sum()) * (p.l2 / Float(p.batchSize))
                let total = try loss + reg
                try tape.backward(total)
                try adam.step([table])
                lossSum += Double(loss.scalar)
            }
            progress?("lightgcn epoch \(epoch + 1): bpr \(String(format: "%.4f", lossSum / Double(steps)))")
        }
        let final = try propagate(Tape(training: false, threads: p.threads)).value.toArray()
        let positive = Factorization.positiveTypes(typeWeights)
        return LightGCN(name: name, dim: p.dim, userCount: u, itemCount: n,
                        userVectors: Array(final[0..<(u * p.dim)]), itemVectors: Array(final[(u * p.dim)...]), positiveTypes: positive)
    }

    init(name: String, dim: Int, userCount: Int, itemCount: Int, userVectors: [Float], itemVectors: [Float], positiveTypes: Set<UInt8>) {
        self.name = name
        self.dim = dim
        self.userCount = userCount
        self.itemCount = itemCount
        self.userVectors = userVectors
        self.itemVectors = itemVectors
        self.positiveTypes = positiveTypes
    }

    /// The query vector: the trained user's, else the mean of their engaged items' vectors.
    public func queryVector(_ context: RecallContext) -> [Float]? {
        if let user = context.user, user >= 0, Int(user) < userCount {
            return Array(userVectors[Int(user) * dim..<(Int(user) + 1) * dim])
        }
        let items = context.history.filter { positiveTypes.contains($0.type) && $0.item >= 0 && Int($0.item) < itemCount }.prefix(50)
        guard !items.isEmpty else { return nil }
        var v = [Float](repeating: 0, count: dim)
        for e in items { for k in 0..<dim { v[k] += itemVectors[Int(e.item) * dim + k] } }
        return v.map { $0 / Float(items.count) }
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0, let v = queryVector(context) else { return [] }
        return Factorization.recall(vector: v, itemVectors: itemVectors, biases: nil, factors: dim, quota: quota, filter: filter, channel: name)
    }

    static let magic = "CLGC"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        w.write(Int64(dim)); w.write(Int64(userCount)); w.write(Int64(itemCount))
        w.write(array: positiveTypes.sorted())
        w.write(array: userVectors)
        w.write(array: itemVectors)
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: "lightgcn artifact")
        name = try r.readString("name")
        dim = Int(try r.read(Int64.self, "dim"))
        userCount = Int(try r.read(Int64.self, "users"))
        itemCount = Int(try r.read(Int64.self, "items"))
        positiveTypes = Set(try r.readArray(UInt8.self, "positive types"))
        userVectors = try r.readFloats("user vectors")
        itemVectors = try r.readFloats("item vectors")
        guard dim > 0, userVectors.count == userCount * dim, itemVectors.count == itemCount * dim else {
            throw .invalid("lightgcn artifact: vector tables do not match \(userCount) users, \(itemCount) items of dimension \(dim)")
        }
    }
}

/// The LightGCN channel ("lightgcn"; trained only when listed).
public enum LightGCNChannel: ChannelDefinition {
    public static let name = "lightgcn"
    public static let summary = "LightGCN graph embeddings (propagation over the user-item graph)"
    public static let defaultParameters = LightGCN.Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (200, 0.9)
    public static let trainedByDefault = false
    public static let settings: [Setting<LightGCN.Parameters>] = [
        .int("dim", "Embedding dimension.", \.dim, 1...4096),
        .int("layers", "Propagation layers.", \.layers, 0...16),
        .int("epochs", "Training epochs.", \.epochs, 1...Int.max),
        .float("learningRate", "Adam learning rate.", \.learningRate, "> 0") { $0 > 0 },
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: LightGCN.Parameters) throws -> any RecallChannel {
        try input.indexedIfLarge(try LightGCN.build(input.matrix, typeWeights: input.typeWeights, parameters: parameters, name: name,
                                                    progress: input.progress))
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel {
        try ChannelRegistry.loadVector(bytes) { (b: [UInt8]) throws(CascadeError) in try LightGCN(serialized: b) }
    }
}
