import CascadeCore
import CascadeTensor
import Foundation

/// Sequential retrieval with self-attention: Kang and McAuley, "Self-Attentive Sequential
/// Recommendation" (ICDM 2018). A user is the sequence of items they engaged with, oldest first;
/// causal self-attention over the last N of them gives a state at every step that predicts the
/// next item by inner product with the items' embeddings (the same table that embeds the input).
///
/// Training (SASRecNetwork.swift): every step of every user's sequence predicts the item that
/// follows it; full softmax over the catalog when it is small, else a sampled softmax against
/// uniform items (whose sampling probability is the same for every item, so no logQ correction is
/// needed). Serving (this file): the query is the state after the user's live history, so an
/// engagement changes the next page without retraining; items are the embedding rows, searched
/// exactly or through HNSW (``IndexedRecall``) on a large catalog.
/// Parameters: dim (64), blocks (2), heads (2), feed-forward (256), N (50). Request cost
/// O(blocks (N dim^2 + N^2 dim + N dim ff)) for the query, then the search.
public struct SASRec: RecallChannel, @unchecked Sendable {
    public let name: String
    public let parameters: SASRecParameters
    public let itemCount: Int
    /// Item vectors [itemCount, dim]: the embedding rows the states are scored against.
    public let itemVectors: [Float]
    /// Event types whose weight is positive count as engagement in a request's history.
    public var positiveTypes: Set<UInt8>
    /// Read only while serving (an inference tape never changes a parameter).
    let network: SASRecNetwork
    let networkArchive: [UInt8]

    init(network: SASRecNetwork, parameters: SASRecParameters, name: String, positiveTypes: Set<UInt8>) throws {
        self.name = name
        self.parameters = parameters
        self.network = network
        self.positiveTypes = positiveTypes
        itemCount = network.items
        itemVectors = Array(network.itemTable.value.toArray().dropFirst(network.dim))
        var archive = ModelArchive(modelKind: "recall/sasrec")
        try archive.addParameters(network.parameters)
        networkArchive = [UInt8](try archive.encoded())
    }

    public var dim: Int { parameters.dim }

    /// The state after `history` (items newest first; the newest `length` distinct ones count),
    /// nil when none is in the catalog.
    public func userVector(history: [Int32]) -> [Float]? {
        var seen = Set<Int32>()
        let rows = history.filter { $0 >= 0 && Int($0) < itemCount && seen.insert($0).inserted }.prefix(parameters.length).reversed().map { $0 + 1 }
        guard !rows.isEmpty, let h = try? network.encode([Array(rows)], tape: Tape(training: false, threads: 1)) else { return nil }
        let last = (parameters.length - 1) * dim
        return Array(UnsafeBufferPointer(start: h.value.base + last, count: dim))
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0, let v = queryVector(context) else { return [] }
        return Factorization.recall(vector: v, itemVectors: itemVectors, biases: nil, factors: dim, quota: quota, filter: filter, channel: name)
    }

    static let magic = "CSAS"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        let p = parameters
        for v in [itemCount, p.dim, p.blocks, p.heads, p.feedForward, p.length] { w.write(Int64(v)) }
        w.write(array: positiveTypes.sorted())
        w.write(array: networkArchive)
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: "SASRec artifact")
        guard r.version == 1 else { throw .corrupt("SASRec artifact: version \(r.version) is not supported (retrain: cascade train)") }
        let name = try r.readString("name")
        var p = SASRecParameters()
        let items = Int(try r.read(Int64.self, "items"))
        p.dim = Int(try r.read(Int64.self, "dim"))
        p.blocks = Int(try r.read(Int64.self, "blocks"))
        p.heads = Int(try r.read(Int64.self, "heads"))
        p.feedForward = Int(try r.read(Int64.self, "feed-forward"))
        p.length = Int(try r.read(Int64.self, "length"))
        let types = Set(try r.readArray(UInt8.self, "positive types"))
        let archive = try r.readArray(UInt8.self, "network")
        guard items >= 0, p.dim > 0, p.heads > 0, p.dim % p.heads == 0, p.blocks >= 0, p.feedForward > 0, p.length >= 2 else {
            throw .invalid("SASRec artifact: sizes do not agree (dim \(p.dim), heads \(p.heads), length \(p.length))")
        }
        let net = SASRecNetwork(items: items, parameters: p, sparseItems: false)
        do {
            try ModelArchive(data: Data(archive), path: "SASRec artifact").load(into: net.parameters)
            try self.init(network: net, parameters: p, name: name, positiveTypes: types)
        } catch let e as CascadeError { throw e } catch {
            throw .corrupt("SASRec artifact: \(error)")
        }
    }
}

extension SASRec: VectorRecallModel {
    public var dimension: Int { dim }
    public func queryVector(_ context: RecallContext) -> [Float]? {
        userVector(history: context.history.filter { positiveTypes.contains($0.type) }.map(\.item))
    }
}

/// The SASRec channel: trained on demand (`--channels ...,sasrec`), served through HNSW on a
/// large catalog.
public enum SASRecChannel: ChannelDefinition {
    public static let name = "sasrec"
    public static let summary = "self-attentive sequential retrieval (SASRec): the next item from the live history, HNSW-served"
    public static let defaultParameters = SASRecParameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (200, 0.9)
    public static let trainedByDefault = false
    public static let settings: [Setting<SASRecParameters>] = [
        .int("dim", "Embedding and block width (a multiple of heads).", \.dim, 2...1024),
        .int("blocks", "Self-attention blocks.", \.blocks, 0...16),
        .int("heads", "Attention heads per block.", \.heads, 1...64),
        .int("feedForward", "Width of each block's feed-forward layer.", \.feedForward, 1...65_536),
        .int("length", "Most recent positives read (N).", \.length, 2...1_000),
        .float("dropout", "Dropout rate while training.", \.dropout, "in [0, 1)") { $0 >= 0 && $0 < 1 },
    ] + NextItemTraining.settings(\SASRecParameters.training)
    public static func train(_ input: ChannelTrainingInput, parameters: SASRecParameters) throws -> any RecallChannel {
        let model = try SASRec.train(log: input.log, userCount: input.userCount, itemCount: input.itemCount, typeWeights: input.typeWeights,
                                     parameters: parameters, name: name, progress: input.progress)
        return try input.indexedIfLarge(model)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel {
        try ChannelRegistry.loadVector(bytes) { (b: [UInt8]) throws(CascadeError) in try SASRec(serialized: b) }
    }
}
