import CascadeCore
import CascadeTensor
import Foundation

/// EGES, Enhanced Graph Embedding with Side information: Wang et al., "Billion-scale Commodity
/// Embedding for E-commerce Recommendation in Alibaba" (KDD 2018).
///
/// Training (EGESTraining.swift): an item graph from session co-occurrence (``ItemGraph``),
/// weighted random walks over it, and skip-gram with negative sampling over the walks, where
/// an item's input vector is the softmax-weighted mean (learned per-item attention) of its id
/// embedding and its side-information embeddings (category, author, mean of tags). Items never
/// on the graph (cold start) get the plain mean of their side-information embeddings.
///
/// Serving (this file): the user's LastN distinct positive items, the k-th most recent weighted
/// `positionDecay^k` times its type weight (``Triggers``), summed into a query vector; inner
/// product against the unit-length item vectors, each shrunk by its support as
/// `n / (n + supportShrinkage)` with n the item's positive events in training (significance
/// weighting: an item seen once or twice sits wherever its few walks left it, and on
/// MovieLens-100K unshrunk cosine ranks such items first; cold-start items are not shrunk, their
/// vectors come from shared side-information rows), then a bounded heap.
/// O(items dim) a request.
public struct EGES: RecallChannel {
    public struct Parameters: Sendable, Equatable {
        public var dim = 64
        /// Seconds between two consecutive positive events of a user that start a new session.
        public var sessionGap: Double = 3_600
        public var walksPerNode = 10
        /// Nodes per walk (a walk stops early at a node without out-edges).
        public var walkLength = 10
        /// Largest distance between a centre and a context item in a walk.
        public var window = 5
        /// Negative samples per (centre, context) pair.
        public var negatives = 5
        public var epochs = 20
        /// Starting SGD rate (decays linearly over training).
        public var learningRate: Float = 0.025
        /// Distinct recent positive items pooled into the query.
        public var lastN = 50
        /// Weight factor per step back in the user's history.
        public var positionDecay: Float = 0.8
        /// Score damping for rarely seen items (see above); 0 ranks by plain cosine.
        public var supportShrinkage: Float = 50
        public var seed: UInt64 = 23
        /// Training threads (nil: every processor). More than one updates the tables Hogwild-style,
        /// so the model then varies from run to run.
        public var threads: Int? = 1
        public init() {}
    }

    public let name: String
    public let parameters: Parameters
    /// Weight per event-type code, for the query's history.
    public let typeWeights: [Float]
    /// Items on the trained graph (the others are embedded from side information alone).
    public let known: [Bool]
    /// Item vectors [itemCount, dim], unit length (zero for items with neither events nor side information).
    public let itemVectors: [Float]
    /// Per item, the softmax attention over (id, category, author, tags) [itemCount, 4].
    public let attention: [Float]
    /// Per item, its positive events in training.
    public let support: [Float]
    /// `itemVectors` scaled by `n / (n + supportShrinkage)`: what queries are scored against.
    let scoringVectors: [Float]

    public var dim: Int { parameters.dim }
    public var itemCount: Int { known.count }

    init(name: String, parameters: Parameters, typeWeights: [Float], known: [Bool], itemVectors: [Float], attention: [Float],
         support: [Float]) {
        self.name = name
        self.parameters = parameters
        self.typeWeights = typeWeights
        self.known = known
        self.itemVectors = itemVectors
        self.attention = attention
        self.support = support
        let d = parameters.dim, beta = parameters.supportShrinkage
        if beta > 0 {
            var v = itemVectors
            for i in 0..<Swift.min(support.count, v.count / Swift.max(d, 1)) where i < known.count && known[i] {
                let f = support[i] / (support[i] + beta)
                for k in 0..<d { v[i * d + k] *= f }
            }
            scoringVectors = v
        } else {
            scoringVectors = itemVectors
        }
    }

    /// The unit vector of `item`.
    public func vector(_ item: Int32) -> [Float] {
        guard item >= 0, Int(item) < itemCount else { return [] }
        return Array(itemVectors[Int(item) * dim..<(Int(item) + 1) * dim])
    }

    /// The query: recent positive items' vectors weighted by type, recency order; nil when the
    /// history has none (or only items without a vector).
    public func queryVector(_ context: RecallContext) -> [Float]? {
        let triggers = Triggers.weighted(context, typeWeights: typeWeights, itemCount: itemCount, lastN: parameters.lastN,
                                         halfLife: nil, positionDecay: parameters.positionDecay)
        guard !triggers.isEmpty else { return nil }
        var q = [Float](repeating: 0, count: dim)
        q.withUnsafeMutableBufferPointer { qb in
            itemVectors.withUnsafeBufferPointer { vb in
                for (item, w) in triggers {
                    Kernels.axpy(alpha: w, x: vb.baseAddress! + Int(item) * dim, y: qb.baseAddress!, count: dim)
                }
            }
        }
        return q.contains { $0 != 0 } ? q : nil
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0, let q = queryVector(context) else { return [] }
        return Factorization.recall(vector: q, itemVectors: scoringVectors, biases: nil, factors: dim, quota: quota,
                                    filter: filter, channel: name)
    }

    static let magic = "CEGS"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        let p = parameters
        for v in [p.dim, p.walksPerNode, p.walkLength, p.window, p.negatives, p.epochs, p.lastN] { w.write(Int64(v)) }
        w.write(p.sessionGap)
        w.write(p.learningRate)
        w.write(p.positionDecay)
        w.write(p.supportShrinkage)
        w.write(p.seed)
        w.write(array: typeWeights)
        w.write(array: known.map { $0 ? UInt8(1) : 0 })
        w.write(array: itemVectors)
        w.write(array: attention)
        w.write(array: support)
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: "EGES artifact")
        guard r.version == 1 else { throw .corrupt("EGES artifact: unknown version \(r.version)") }
        let name = try r.readString("name")
        var p = Parameters()
        p.dim = Int(try r.read(Int64.self, "dim"))
        p.walksPerNode = Int(try r.read(Int64.self, "walks per node"))
        p.walkLength = Int(try r.read(Int64.self, "walk length"))
        p.window = Int(try r.read(Int64.self, "window"))
        p.negatives = Int(try r.read(Int64.self, "negatives"))
        p.epochs = Int(try r.read(Int64.self, "epochs"))
        p.lastN = Int(try r.read(Int64.self, "lastN"))
        p.sessionGap = try r.readDouble("session gap")
        p.learningRate = try r.readFloat("learning rate")
        p.positionDecay = try r.readFloat("position decay")
        p.supportShrinkage = try r.readFloat("support shrinkage")
        p.seed = try r.read(UInt64.self, "seed")
        let weights = try r.readFloats("type weights")
        let known = try r.readArray(UInt8.self, "known").map { $0 != 0 }
        let vectors = try r.readFloats("item vectors")
        let attention = try r.readFloats("attention")
        let support = try r.readFloats("support")
        guard p.dim > 0, p.lastN >= 0, support.count == known.count, support.allSatisfy({ $0 >= 0 && $0.isFinite }),
              p.supportShrinkage >= 0 else {
            throw .corrupt("EGES artifact: bad dimension (\(p.dim)), lastN (\(p.lastN)), shrinkage or support table")
        }
        try Factorization.validate("EGES artifact", "item vectors", vectors, rows: known.count, factors: p.dim)
        try Factorization.validate("EGES artifact", "attention", attention, rows: known.count, factors: 4)
        self.init(name: name, parameters: p, typeWeights: weights, known: known, itemVectors: vectors, attention: attention,
                  support: support)
    }
}

/// The EGES channel ("eges"; trained only when listed): graph embeddings with side information.
public enum EGESChannel: ChannelDefinition {
    public static let name = "eges"
    public static let summary = "EGES item embeddings from session-graph random walks with side information"
    public static let defaultParameters = EGES.Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (200, 0.9)
    public static let trainedByDefault = false
    public static let settings: [Setting<EGES.Parameters>] = [
        .int("epochs", "Training epochs (fresh random walks each).", \.epochs, 1...Int.max),
        .int("dim", "Embedding dimension.", \.dim, 1...4096),
        .int("window", "Skip-gram window over the random walks.", \.window, 1...Int.max),
        .double("sessionGapMinutes", "Minutes between two positive events of a user that start a new session.", \.sessionGap, "> 0",
                unit: 60) { $0 > 0 },
        .float("supportShrinkage", "Items seen n times score n / (n + this) of their cosine (0: plain cosine).", \.supportShrinkage,
               ">= 0") { $0 >= 0 },
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: EGES.Parameters) throws -> any RecallChannel {
        try EGES.train(log: input.log, userCount: input.userCount, itemCount: input.itemCount, typeWeights: input.typeWeights,
                       features: ItemSideFeatures.build(items: input.items), parameters: parameters, name: name, progress: input.progress)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel { try EGES(serialized: bytes) }
}
