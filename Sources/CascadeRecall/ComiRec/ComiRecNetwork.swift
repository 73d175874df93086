import CascadeCore
import CascadeTensor
import Foundation

/// Hyper-parameters of ``ComiRec``.
public struct ComiRecParameters: Sendable, Equatable {
    /// Width of the item and position embeddings and of every interest vector.
    public var dim = 64
    /// Interest vectors extracted per user (K); a user with a short history queries fewer. The
    /// paper's 4 lost to 2 on the MovieLens judge (NDCG@10 0.176 against 0.216).
    public var interests = 2
    /// Width of the extractor's hidden layer (d_a; the paper uses 4 x dim).
    public var attentionHidden = 256
    /// Most recent positives read (the sequence length N).
    public var length = 50
    /// Batches of 32 windows and Adam at 0.01 (against the paper's 128 and 0.001, which stopped
    /// early at 0.139 NDCG@10 on the MovieLens judge), at most 100 epochs, patience 10.
    public var training = NextItemTraining(batchSize: 32, learningRate: 0.01, patience: 10)
    public var seed: UInt64 = 23
    public var threads: Int? = 1

    public init() {}
}

/// The network of ``ComiRec``: item embeddings (row 0 the padding, item i in row i + 1) plus
/// learned positions give H [N, dim]; the self-attentive extractor scores every step for every
/// interest, A = softmax_steps(tanh(H W1) W2) [N, K], and the interests are V = A^T H [K, dim].
///
/// Trained causally over windows like SASRec's: the extractor's scores are computed once per
/// window, and the interests after each prefix (steps 0...t) come from a softmax masked to that
/// prefix, so one window trains every target in it for the cost of one projection.
final class ComiRecNetwork: ParameterContainer {
    let items: Int, dim: Int, length: Int, interests: Int
    let itemTable: Parameter
    let positionTable: Parameter
    let hidden: Linear
    let scores: Linear

    init(items: Int, parameters p: ComiRecParameters, sparseItems: Bool) {
        self.items = items
        dim = p.dim
        length = p.length
        interests = p.interests
        itemTable = Parameter("comirec.items", Tensor.normal([items + 1, p.dim], std: 0.02, seed: p.seed), sparse: sparseItems)
        positionTable = Parameter("comirec.positions", Tensor.normal([p.length, p.dim], std: 0.02, seed: p.seed &+ 1))
        hidden = Linear(name: "comirec.w1", in: p.dim, out: p.attentionHidden, activation: .tanh, seed: p.seed &+ 2)
        scores = Linear(name: "comirec.w2", in: p.attentionHidden, out: p.interests, bias: false, seed: p.seed &+ 3)
    }

    var parameters: [Parameter] { [itemTable, positionTable] + hidden.parameters + scores.parameters }

    /// Embedded steps H [B, N, dim] and their padding mask [B, N] of sequences `rows` (item
    /// rows, 0 = padding, oldest first, left-padded to N).
    func embed(_ rows: [[Int32]], tape: Tape) throws -> (h: Variable, mask: Tensor) {
        let b = rows.count, n = length
        var ids = [Int32](repeating: 0, count: b * n)
        let mask = Tensor(shape: [b, n])
        for (r, seq) in rows.enumerated() {
            let s = seq.suffix(n), start = n - s.count
            for (k, i) in s.enumerated() {
                ids[r * n + start + k] = i
                mask.base[r * n + start + k] = i > 0 ? 1 : 0
            }
        }
        let positions = try IndexTensor(shape: [b, n], ids: (0..<(b * n)).map { Int32($0 % n) })
        let h = try tape.parameter(itemTable).gather(IndexTensor(shape: [b, n], ids: ids)) + tape.parameter(positionTable).gather(positions)
        return (try h.masked(by: mask), mask)
    }

    /// The extractor's score of every step for every interest, [B, K, N].
    func stepScores(_ h: Variable) throws -> Variable {
        let b = h.value.shape[0], n = length
        let s = try scores(hidden(h.reshaped([b * n, dim])))  // [B N, K]
        return try s.reshaped([b, n, interests]).transposed(1, 2)
    }

    /// The interests after the whole of each sequence, [B, K, dim]: what a request queries with.
    func interests(_ rows: [[Int32]], tape: Tape) throws -> Variable {
        let (h, mask) = try embed(rows, tape: tape)
        let a = try stepScores(h).maskedSoftmax(mask)  // [B, K, N], the key mask per batch entry
        return try a.batchedMatmul(h)
    }

    /// The interests after every prefix of each sequence, [B, K, N, dim]: row t reads steps
    /// 0...t only (a causal mask over the broadcast scores). O(B K N^2 dim).
    func prefixInterests(_ rows: [[Int32]], tape: Tape) throws -> Variable {
        let (h, mask) = try embed(rows, tape: tape)
        let b = rows.count, n = length, k = interests
        let s = try stepScores(h).reshaped([b * k * n, 1])
        // Broadcast each (sequence, interest) score row over the N prefixes, masked causally.
        var ids = [Int32](repeating: 0, count: b * k * n * n)
        let causal = Tensor(shape: [b * k, n, n])
        for bk in 0..<(b * k) {
            let row = mask.base + (bk / k) * n
            for t in 0..<n {
                for j in 0..<n {
                    let o = (bk * n + t) * n + j
                    ids[o] = Int32(bk * n + j)
                    causal.base[o] = j <= t && row[j] != 0 ? 1 : 0
                }
            }
        }
        let a = try s.gather(IndexTensor(shape: [b * k, n, n], ids: ids)).reshaped([b * k, n, n]).maskedSoftmax(causal)
        return try a.reshaped([b, k * n, n]).batchedMatmul(h).reshaped([b, k, n, dim])
    }
}

extension ComiRec {
    /// Trains on the positives of `log`: every step of every user's sequence predicts the item
    /// that follows it through the interest closest to that item (the paper's hard selection,
    /// argmax_k v_k . e_target), full softmax over the catalog up to `fullSoftmaxItems` items, else a
    /// sampled softmax against `negatives` uniform items. O(epochs windows (N dim d_a + K N^2 dim
    /// + N dim S)) with S the softmax width.
    public static func train(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float], parameters p: ComiRecParameters,
                             name: String = "comirec", progress: ((String) -> Void)? = nil) throws -> ComiRec {
        guard p.dim > 0, p.interests > 0, p.attentionHidden > 0, p.length >= 2, p.training.epochs >= 0, p.training.batchSize > 0 else {
            throw CascadeError.invalid("comirec: dim, interests, attention width and batch size must be positive, length >= 2")
        }
        let full = itemCount <= p.training.fullSoftmaxItems
        let net = ComiRecNetwork(items: itemCount, parameters: p, sparseItems: !full)
        // Early stopping: the last positive of some users is held out; ties keep the later epoch.
        let (sequences, heldOut, windows) = p.training.data(log: log, userCount: userCount, itemCount: itemCount, typeWeights: typeWeights,
                                                           length: p.length)
        var rng = SplitMix64(seed: p.seed)
        let n = p.length, k = p.interests, d = p.dim
        let validate: (() throws -> Double)? = heldOut.isEmpty ? nil : {
            // Scored as served: the mixture of the interests each history keeps.
            let table = Array(UnsafeBufferPointer(start: net.itemTable.value.base + d, count: itemCount * d))
            let partition = PartitionSample(itemVectors: table, dim: d)
            let queries = heldOut.map { u in
                ComiRec.interestQueries(rows: Array(sequences.rows[sequences.offsets[u]..<(sequences.offsets[u + 1] - 1)]), network: net,
                                        itemVectors: table, partition: partition)
            }
            return NextItemSoftmax.validationHitRate(queries: queries, dim: d, table: net.itemTable.value.base, items: itemCount,
                                                     sequences: sequences, users: heldOut)
        }
        let best = try p.training.fit("comirec", windows: windows, parameters: net.parameters, threads: p.threads, rng: &rng, validate: validate,
                           progress: progress) { batch, tape, rng in
            let v = try net.prefixInterests(batch.map { Array($0.rows.dropLast()) }, tape: tape)  // [B, K, N, d]
            // Every real step of every window with the item that follows it, through the
            // interest that scores that item highest (chosen on values: no gradient).
            let table = net.itemTable.value.base, vb = v.value.base
            var at: [Int32] = [], targets: [Int32] = []
            for (r, w) in batch.enumerated() {
                let steps = w.rows.count - 1, offset = n - steps
                for (s, target) in w.rows.dropFirst().enumerated() where s + 1 >= w.firstTarget {
                    let t = offset + s, e = table + Int(target) * d
                    var best = 0, bestScore = -Float.infinity
                    for j in 0..<k {
                        let row = vb + ((r * k + j) * n + t) * d
                        var dot: Float = 0
                        for c in 0..<d { dot += row[c] * e[c] }
                        if dot > bestScore { (best, bestScore) = (j, dot) }
                    }
                    at.append(Int32((r * k + best) * n + t))
                    targets.append(target)
                }
            }
            let states = try v.reshaped([batch.count * k * n, d]).gather(IndexTensor(shape: [at.count], ids: at))
            return try NextItemSoftmax.loss(states: states, targets: targets, table: tape.parameter(net.itemTable), itemCount: itemCount,
                                            full: full, negatives: p.training.negatives, rng: &rng)
        }
        let figures = p.training.heldOut(model: best, sequences: sequences, users: heldOut, itemCount: itemCount)
        return try ComiRec(network: net, parameters: p, name: name, positiveTypes: Set(typeWeights.indices.filter { typeWeights[$0] > 0 }.map(UInt8.init)), heldOut: figures)
    }
}
