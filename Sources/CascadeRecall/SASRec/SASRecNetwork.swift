import CascadeCore
import CascadeTensor
import Foundation

/// Hyper-parameters of ``SASRec``.
public struct SASRecParameters: Sendable, Equatable {
    /// Width of the item and position embeddings and of every block.
    public var dim = 64
    /// Self-attention blocks, and heads per block (`dim` must be a multiple of `heads`).
    public var blocks = 2
    public var heads = 2
    /// Width of each block's feed-forward layer.
    public var feedForward = 256
    /// Most recent positives read (the sequence length N).
    public var length = 50
    public var dropout: Float = 0.2
    /// Epochs (at most 100, stopped early), batches of 128 windows, Adam at 0.001, patience 8.
    public var training = NextItemTraining(batchSize: 128, learningRate: 0.001, patience: 8)
    public var seed: UInt64 = 17
    public var threads: Int? = 1

    public init() {}
}

/// The network of ``SASRec``: item embeddings (row 0 the padding, item i in row i + 1; drawn
/// with standard deviation 0.02 and not scaled by sqrt(dim), as RecBole does: on the MovieLens
/// judge the paper's scaled form reached 0.2256 NDCG@10 against 0.2336) plus learned positions, then `blocks` pre-norm Transformer blocks (causal
/// multi-head self-attention and a ReLU feed-forward layer, each with a residual), then a final
/// layer norm. Padded steps are zeroed after every block.
final class SASRecNetwork: ParameterContainer {
    let items: Int, dim: Int, length: Int
    let itemTable: Parameter
    let positionTable: Parameter
    let norms1: [LayerNorm], attentions: [MultiHeadAttention], norms2: [LayerNorm]
    let feed1: [Linear], feed2: [Linear]
    let finalNorm: LayerNorm
    let dropout: Float

    init(items: Int, parameters p: SASRecParameters, sparseItems: Bool) {
        self.items = items
        dim = p.dim
        length = p.length
        itemTable = Parameter("sasrec.items", Tensor.normal([items + 1, p.dim], std: 0.02, seed: p.seed),
                              sparse: sparseItems)
        positionTable = Parameter("sasrec.positions", Tensor.normal([p.length, p.dim], std: 0.02, seed: p.seed &+ 1))
        norms1 = (0..<p.blocks).map { LayerNorm(name: "sasrec.block\($0).norm1", features: p.dim) }
        attentions = (0..<p.blocks).map { MultiHeadAttention(name: "sasrec.block\($0).attention", dim: p.dim, heads: p.heads, seed: p.seed &+ UInt64($0)) }
        norms2 = (0..<p.blocks).map { LayerNorm(name: "sasrec.block\($0).norm2", features: p.dim) }
        feed1 = (0..<p.blocks).map { Linear(name: "sasrec.block\($0).feed1", in: p.dim, out: p.feedForward, activation: .relu, seed: p.seed &+ 7) }
        feed2 = (0..<p.blocks).map { Linear(name: "sasrec.block\($0).feed2", in: p.feedForward, out: p.dim, seed: p.seed &+ 9) }
        finalNorm = LayerNorm(name: "sasrec.norm", features: p.dim)
        dropout = p.dropout
    }

    var parameters: [Parameter] {
        var out = [itemTable, positionTable]
        for b in attentions.indices {
            out += norms1[b].parameters + attentions[b].parameters + norms2[b].parameters + feed1[b].parameters + feed2[b].parameters
        }
        return out + finalNorm.parameters
    }

    /// Hidden states [B, N, dim] of sequences `rows` (item rows, 0 = padding, oldest first and
    /// left-padded to N): the state at step t summarizes steps 0...t.
    func encode(_ rows: [[Int32]], tape: Tape) throws -> Variable {
        let b = rows.count, n = length
        var ids = [Int32](repeating: 0, count: b * n)
        let mask = Tensor(shape: [b, n])
        var positions = [Int32](repeating: 0, count: b * n)
        for (r, seq) in rows.enumerated() {
            let s = seq.suffix(n), start = n - s.count
            for (k, i) in s.enumerated() {
                ids[r * n + start + k] = i
                mask.base[r * n + start + k] = i > 0 ? 1 : 0
            }
            for k in 0..<n { positions[r * n + k] = Int32(k) }
        }
        var x = try tape.parameter(itemTable).gather(IndexTensor(shape: [b, n], ids: ids))
        x = try x + tape.parameter(positionTable).gather(IndexTensor(shape: [b, n], ids: positions))
        if tape.training && dropout > 0 { x = try x.dropout(rate: dropout) }
        x = try x.masked(by: mask)
        for k in attentions.indices {
            var a = try attentions[k](norms1[k](x), mask: mask, causal: true)
            if tape.training && dropout > 0 { a = try a.dropout(rate: dropout) }
            x = try x + a
            let flat = try norms2[k](x).reshaped([b * n, dim])
            var f = try feed2[k](feed1[k](flat)).reshaped([b, n, dim])
            if tape.training && dropout > 0 { f = try f.dropout(rate: dropout) }
            x = try (x + f).masked(by: mask)
        }
        return try finalNorm(x)
    }
}

/// Per user, the positive items in time order (``PositiveSequences``) as item rows (index + 1).
struct UserSequences {
    let offsets: [Int]
    let rows: [Int32]

    init(_ p: PositiveSequences) {
        offsets = p.offsets
        rows = p.items.map { $0 + 1 }
    }

    init(offsets: [Int], rows: [Int32]) {
        self.offsets = offsets
        self.rows = rows
    }

    /// A stretch of one user's sequence: inputs `rows.dropLast()`, each step's target the row
    /// after it; steps before `firstTarget` are context only.
    struct Window {
        let rows: ArraySlice<Int32>
        let firstTarget: Int
    }

    /// Training windows of at most `length` + 1 rows, cut from the end of each user's sequence
    /// (without the held-out last row of the users in `heldOut`). Windows overlap by half, so a
    /// target sees at least `length` / 2 steps of context (or all there are), and every positive
    /// after a user's first is a target exactly once per epoch.
    func windows(length: Int, heldOut: Set<Int> = []) -> [Window] {
        var out: [Window] = []
        let half = length / 2
        for u in 0..<(offsets.count - 1) {
            let lo = offsets[u]
            var end = offsets[u + 1] - (heldOut.contains(u) ? 1 : 0)
            while end - lo >= 2 {
                let start = Swift.max(lo, end - length - 1)
                let first = start == lo ? 1 : half + 1
                out.append(Window(rows: rows[start..<end], firstTarget: first))
                if start == lo { break }
                end = start + first
            }
        }
        return out
    }
}

extension SASRec {
    /// Trains on the positives of `log` (each user's items in time order; every step predicts
    /// the next item): full softmax over the catalog up to `fullSoftmaxItems` items, else a
    /// sampled softmax against `negatives` uniform items per batch. O(epochs windows N (blocks
    /// (N dim + dim ff) + dim K)) with K the softmax width.
    public static func train(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float], parameters p: SASRecParameters,
                             name: String = "sasrec", progress: ((String) -> Void)? = nil) throws -> SASRec {
        guard p.dim > 0, p.heads > 0, p.dim % p.heads == 0, p.blocks >= 0, p.length >= 2, p.training.epochs >= 0, p.training.batchSize > 0 else {
            throw CascadeError.invalid("sasrec: dim must be a positive multiple of heads, length >= 2, batch size > 0")
        }
        let full = itemCount <= p.training.fullSoftmaxItems
        let net = SASRecNetwork(items: itemCount, parameters: p, sparseItems: !full)
        // Early stopping: the last positive of some users is held out; ties keep the later epoch.
        let (sequences, heldOut, windows) = p.training.data(log: log, userCount: userCount, itemCount: itemCount, typeWeights: typeWeights,
                                                           length: p.length)
        var rng = SplitMix64(seed: p.seed)
        let validate: (() throws -> Double)? = heldOut.isEmpty ? nil : { try validationHitRate(net, sequences: sequences, users: heldOut) }
        let best = try p.training.fit("sasrec", windows: windows, parameters: net.parameters, threads: p.threads, rng: &rng, validate: validate,
                           progress: progress) { batch, tape, rng in
            let h = try net.encode(batch.map { Array($0.rows.dropLast()) }, tape: tape)
            // Every real step of every window, with the item that follows it.
            var at: [Int32] = [], targets: [Int32] = []
            for (r, w) in batch.enumerated() {
                let n = w.rows.count - 1, offset = p.length - n
                for (k, t) in w.rows.dropFirst().enumerated() where k + 1 >= w.firstTarget {
                    at.append(Int32(r * p.length + offset + k))
                    targets.append(t)
                }
            }
            let states = try h.reshaped([batch.count * p.length, p.dim]).gather(IndexTensor(shape: [at.count], ids: at))
            return try NextItemSoftmax.loss(states: states, targets: targets, table: tape.parameter(net.itemTable), itemCount: itemCount,
                                            full: full, negatives: p.training.negatives, rng: &rng)
        }
        let figures = p.training.heldOut(model: best, sequences: sequences, users: heldOut, itemCount: itemCount)
        return try SASRec(network: net, parameters: p, name: name, positiveTypes: Set(typeWeights.indices.filter { typeWeights[$0] > 0 }.map(UInt8.init)), heldOut: figures)
    }

    /// Share of `users` whose held-out last positive ranks in the top 10 of the items they had
    /// not engaged with, from the state after the rest of their sequence. O(users (N blocks dim^2 + items dim)).
    static func validationHitRate(_ net: SASRecNetwork, sequences: UserSequences, users: [Int]) throws -> Double {
        guard !users.isEmpty, net.items > 0 else { return 0 }
        let inputs = users.map { u in Array(sequences.rows[sequences.offsets[u]..<(sequences.offsets[u + 1] - 1)]) }
        let h = try net.encode(inputs, tape: Tape(training: false, threads: 1)).value
        // The last step's state of each user: row (r N + N - 1).
        let d = net.dim, n = net.length
        let last = users.indices.map { r in [InterestQuery(vector: Array(UnsafeBufferPointer(start: h.base + (r * n + n - 1) * d, count: d)))] }
        return NextItemSoftmax.validationHitRate(queries: last, dim: d, table: net.itemTable.value.base, items: net.items,
                                                 sequences: sequences, users: users)
    }
}
