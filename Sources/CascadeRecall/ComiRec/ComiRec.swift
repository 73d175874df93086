import CascadeCore
import CascadeTensor
import Foundation

/// Multi-interest retrieval: Cen et al., "Controllable Multi-Interest Framework for
/// Recommendation" (KDD 2020), the self-attentive extractor (ComiRec-SA). A user is the sequence
/// of items they engaged with; a self-attention with K heads over its embedded steps gives K
/// interest vectors, each a weighted mean of the steps, and each queries the item index on its
/// own, so a user who watches cooking and football gets both rather than their average.
///
/// Training (ComiRecNetwork.swift): every step predicts the next item through the interest
/// closest to it (hard selection), with the full softmax on a small catalog, else a sampled one.
/// Serving (this file): the interests come from the live history; a history of L positives
/// queries with max(1, min(K, floor(log2 L))) of them (MIND's adaptive count), those with the
/// most of the history routed to them; each takes a share of the quota in proportion, and the
/// union is ordered by the item's log-probability under the mixture of interests
/// (``interestQueries(history:)``, ``InterestMerge``). Items are the embedding rows, searched
/// exactly or through HNSW (``IndexedRecall``) on a large catalog.
/// Parameters: dim (64), K interests (4), d_a (256), N (50). Request cost O(N dim d_a + K N dim)
/// for the interests, then K searches.
public struct ComiRec: RecallChannel, @unchecked Sendable {
    public let name: String
    public let parameters: ComiRecParameters
    public let itemCount: Int
    /// Item vectors [itemCount, dim]: the embedding rows the interests are scored against.
    public let itemVectors: [Float]
    /// Event types whose weight is positive count as engagement in a request's history.
    public var positiveTypes: Set<UInt8>
    /// The held-out comparison with the popular items, known after training (not stored).
    public let heldOut: HeldOutHitRate?
    /// Read only while serving (an inference tape never changes a parameter).
    let network: ComiRecNetwork
    let networkArchive: [UInt8]
    /// The items the interests' log partitions are computed over (``PartitionSample``).
    let partition: PartitionSample

    init(network: ComiRecNetwork, parameters: ComiRecParameters, name: String, positiveTypes: Set<UInt8>, heldOut: HeldOutHitRate? = nil) throws {
        self.heldOut = heldOut
        self.name = name
        self.parameters = parameters
        self.network = network
        self.positiveTypes = positiveTypes
        itemCount = network.items
        itemVectors = Array(network.itemTable.value.toArray().dropFirst(network.dim))
        partition = PartitionSample(itemVectors: itemVectors, dim: network.dim)
        networkArchive = try SequenceArtifact.archive(kind: "recall/comirec", network.parameters)
    }

    public var dim: Int { parameters.dim }

    /// The interests after `history` (items newest first; the newest `length` distinct ones
    /// count), as many as the history's length calls for, empty when no item is in the catalog.
    ///
    /// Each history item is routed to the interest closest to it (as training routes a target);
    /// an interest's prior is its smoothed share of the history, (routed + 1) / (L + K), and the
    /// interests with the largest priors are kept. An interest's scores are offset by its log
    /// prior minus its log partition over the catalog (exact up to ``PartitionSample/limit`` items,
    /// else estimated from an even sample of that many), so an item scores its log-probability
    /// under the mixture of interests, and a narrow minor interest does not outrank the main
    /// one. O(N dim d_a + K (N + S) dim) with S = min(items, PartitionSample.limit).
    public func interestQueries(history: [Int32]) -> [InterestQuery] {
        let rows = SequenceArtifact.rows(history: history, itemCount: itemCount, length: parameters.length)
        return Self.interestQueries(rows: rows, network: network, itemVectors: itemVectors, partition: partition)
    }

    /// The queries after a sequence of item rows (index + 1, oldest first), as
    /// ``interestQueries(history:)`` describes; `itemVectors` [items, dim].
    static func interestQueries(rows: [Int32], network: ComiRecNetwork, itemVectors: [Float], partition: PartitionSample) -> [InterestQuery] {
        guard !rows.isEmpty, let v = try? network.interests([rows], tape: Tape(training: false, threads: 1)).value else { return [] }
        let k = network.interests, d = network.dim
        let vectors = (0..<k).map { j in Array(UnsafeBufferPointer(start: v.base + j * d, count: d)) }
        func dot(_ x: [Float], _ item: Int) -> Float {
            var s: Float = 0
            for c in 0..<d { s += x[c] * itemVectors[item * d + c] }
            return s
        }
        var routed = [Int](repeating: 0, count: k)
        for r in rows.suffix(network.length) { routed[(0..<k).max { dot(vectors[$0], Int(r) - 1) < dot(vectors[$1], Int(r) - 1) }!] += 1 }
        let count = Swift.min(rows.count, network.length)
        let prior = routed.map { (Double($0) + 1) / Double(count + k) }
        let keep = (0..<k).sorted { prior[$0] > prior[$1] || (prior[$0] == prior[$1] && $0 < $1) }
            .prefix(InterestMerge.interestCount(historyLength: count, maximum: k))
        let total = keep.reduce(0) { $0 + prior[$1] }
        return keep.map { j in
            InterestQuery(vector: vectors[j], offset: Float(Foundation.log(prior[j]) - partition.logPartition(vectors[j])),
                          share: prior[j] / total)
        }
    }

    /// log sum_i exp(v . e_i) over the catalog, or its estimate (``PartitionSample``).
    func logPartition(_ v: [Float]) -> Double { partition.logPartition(v) }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        InterestMerge.recall(interestQueries(context), quota: quota) {
            Factorization.recall(vector: $0, itemVectors: itemVectors, biases: nil, factors: dim, quota: $1, filter: filter, channel: name)
        }
    }

    static let magic = "CCMR"

    public func serialized() -> [UInt8] {
        let p = parameters
        return SequenceArtifact.encode(magic: Self.magic, name: name, sizes: [itemCount, p.dim, p.interests, p.attentionHidden, p.length],
                                       positiveTypes: positiveTypes, archive: networkArchive)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        let what = "ComiRec artifact"
        let a = try SequenceArtifact.decode(bytes, magic: Self.magic, what: what, sizeNames: ["items", "dim", "interests", "attention width", "length"])
        var p = ComiRecParameters()
        let items = a.sizes[0]
        (p.dim, p.interests, p.attentionHidden, p.length) = (a.sizes[1], a.sizes[2], a.sizes[3], a.sizes[4])
        guard items >= 0, p.dim > 0, p.interests > 0, p.attentionHidden > 0, p.length >= 2 else {
            throw .invalid("\(what): sizes do not agree (dim \(p.dim), interests \(p.interests), length \(p.length))")
        }
        self = try SequenceArtifact.build(what) {
            let net = ComiRecNetwork(items: items, parameters: p, sparseItems: false)
            try ModelArchive(data: Data(a.archive), path: what).load(into: net.parameters)
            return try ComiRec(network: net, parameters: p, name: a.name, positiveTypes: a.positiveTypes)
        }
    }
}

extension ComiRec: VectorRecallModel {
    public var dimension: Int { dim }
    public func interestQueries(_ context: RecallContext) -> [InterestQuery] {
        interestQueries(history: context.history.filter { positiveTypes.contains($0.type) }.map(\.item))
    }
    /// The interest with the largest prior alone.
    public func queryVector(_ context: RecallContext) -> [Float]? { interestQueries(context).first?.vector }
}

/// The ComiRec channel: trained on demand (`--channels ...,comirec`), served through HNSW on a
/// large catalog.
public enum ComiRecChannel: ChannelDefinition {
    public static let name = "comirec"
    public static let summary = "multi-interest retrieval (ComiRec-SA): K interest vectors from the live history, each searched"
    public static let defaultParameters = ComiRecParameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (200, 0.9)
    public static let trainedByDefault = false
    public static let settings: [Setting<ComiRecParameters>] = [
        .int("dim", "Embedding and interest width.", \.dim, 2...1024),
        .int("interests", "Interest vectors per user (K); short histories query fewer.", \.interests, 1...64),
        .int("attentionHidden", "Width of the extractor's hidden layer (d_a).", \.attentionHidden, 1...65_536),
        .int("length", "Most recent positives read (N).", \.length, 2...1_000),
    ] + NextItemTraining.settings(\ComiRecParameters.training)
    public static func train(_ input: ChannelTrainingInput, parameters: ComiRecParameters) throws -> any RecallChannel {
        let model = try ComiRec.train(log: input.log, userCount: input.userCount, itemCount: input.itemCount, typeWeights: input.typeWeights,
                                      parameters: parameters, name: name, progress: input.progress)
        try parameters.training.requireEarned(model.heldOut, channel: name)
        return try input.indexedIfLarge(model)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel {
        try ChannelRegistry.loadVector(bytes) { (b: [UInt8]) throws(CascadeError) in try ComiRec(serialized: b) }
    }
}

/// The item rows an interest's log partition is computed over: every item of a catalog of up
/// to `limit` items, else an even sample of `limit` of them (every k-th row), kept contiguous so
/// that one GEMV scores them; the sampled sum is scaled by items / sampled. O(limit dim) per
/// interest and request.
struct PartitionSample: Sendable {
    static let limit = 4_096
    let rows: [Float]
    let count: Int, dim: Int
    let scale: Double

    init(itemVectors: [Float], dim: Int) {
        let items = itemVectors.count / Swift.max(1, dim)
        let step = Swift.max(1, (items + Self.limit - 1) / Self.limit)
        var rows: [Float] = []
        rows.reserveCapacity((items / step + 1) * dim)
        for i in Swift.stride(from: 0, to: items, by: step) { rows.append(contentsOf: itemVectors[(i * dim)..<((i + 1) * dim)]) }
        self.rows = rows
        self.dim = dim
        count = rows.count / Swift.max(1, dim)
        scale = count > 0 ? Double(items) / Double(count) : 1
    }

    func logPartition(_ v: [Float]) -> Double {
        guard count > 0 else { return 0 }
        var scores = [Float](repeating: 0, count: count)
        rows.withUnsafeBufferPointer { a in
            v.withUnsafeBufferPointer { x in
                scores.withUnsafeMutableBufferPointer { Kernels.gemv(trans: false, m: count, n: dim, a: a.baseAddress!, lda: dim, x: x.baseAddress!, y: $0.baseAddress!, threads: 1) }
            }
        }
        let m = scores.max()!
        var sum = 0.0
        for s in scores { sum += Foundation.exp(Double(s - m)) }
        return Double(m) + Foundation.log(sum * scale)
    }
}
