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
    public var epochs = 40
    public var batchSize = 128
    public var learningRate: Float = 0.001
    /// Catalogs up to this size train with the full softmax over every item; larger ones with
    /// `negatives` items drawn uniformly per batch, shared by every position of the batch.
    public var fullSoftmaxItems = 20_000
    public var negatives = 1_024
    public var seed: UInt64 = 17
    public var threads: Int? = 1

    public init() {}
}

/// The network of ``SASRec``: item embeddings (row 0 the padding, item i in row i + 1) scaled by
/// sqrt(dim) plus learned positions, then `blocks` pre-norm Transformer blocks (causal
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
        itemTable = Parameter("sasrec.items", Tensor.normal([items + 1, p.dim], std: 1 / Float(p.dim).squareRoot(), seed: p.seed),
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
        var x = try tape.parameter(itemTable).gather(IndexTensor(shape: [b, n], ids: ids)) * Float(dim).squareRoot()
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

/// Per user, the positive items in time order (first occurrence of each), as item rows (index + 1).
struct UserSequences {
    var offsets: [Int] = [0]
    var rows: [Int32] = []

    init(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float]) {
        let (o, events) = log.indexByUser(userCount: userCount)
        for u in 0..<userCount {
            var seen = Set<Int32>()
            for e in events[o[u]..<o[u + 1]] {
                let t = Int(log.types[e]), i = log.items[e]
                guard t < typeWeights.count, typeWeights[t] > 0, i >= 0, Int(i) < itemCount, seen.insert(i).inserted else { continue }
                rows.append(i + 1)
            }
            offsets.append(rows.count)
        }
    }

    /// Training windows: each user's sequence cut from its end into windows of `length` + 1
    /// rows (the inputs and, one step later, their targets), so every positive after a user's
    /// first is a target exactly once per epoch.
    func windows(length: Int) -> [ArraySlice<Int32>] {
        var out: [ArraySlice<Int32>] = []
        for u in 0..<(offsets.count - 1) {
            var end = offsets[u + 1]
            let lo = offsets[u]
            while end - lo >= 2 {
                let start = Swift.max(lo, end - length - 1)
                out.append(rows[start..<end])
                end = start + 1
                if start == lo { break }
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
        guard p.dim > 0, p.heads > 0, p.dim % p.heads == 0, p.blocks >= 0, p.length >= 2, p.epochs >= 0, p.batchSize > 0 else {
            throw CascadeError.invalid("sasrec: dim must be a positive multiple of heads, length >= 2, batch size > 0")
        }
        let full = itemCount <= p.fullSoftmaxItems
        let net = SASRecNetwork(items: itemCount, parameters: p, sparseItems: !full)
        let sequences = UserSequences(log: log, userCount: userCount, itemCount: itemCount, typeWeights: typeWeights)
        var windows = sequences.windows(length: p.length)
        let dense = Adam(learningRate: p.learningRate), sparse = LazyAdam(learningRate: p.learningRate)
        var rng = SplitMix64(seed: p.seed)
        let params = net.parameters
        for epoch in 0..<p.epochs where !windows.isEmpty {
            windows.shuffle(using: &rng)
            var total = 0.0, batches = 0
            var start = 0
            while start < windows.count {
                let batch = windows[start..<Swift.min(windows.count, start + p.batchSize)]
                start += batch.count
                let tape = Tape(training: true, threads: p.threads, seed: rng.next())
                let inputs = batch.map { Array($0.dropLast()) }
                let h = try net.encode(inputs, tape: tape)
                // Every real step of every window, with the item that follows it.
                var at: [Int32] = [], targets: [Int32] = []
                for (r, w) in batch.enumerated() {
                    let n = w.count - 1, offset = p.length - Swift.min(n, p.length)
                    for (k, t) in w.dropFirst().suffix(p.length).enumerated() {
                        at.append(Int32(r * p.length + offset + k))
                        targets.append(t)
                    }
                }
                let states = try h.reshaped([batch.count * p.length, p.dim]).gather(IndexTensor(shape: [at.count], ids: at))
                let table = tape.parameter(net.itemTable)
                let loss: Variable
                if full {
                    let logits = try states.matmul(table, transposeOther: true)  // [P, items + 1]
                    loss = try Loss.softmaxCrossEntropy(logits: logits, targets: IndexTensor(shape: [targets.count], ids: targets))
                } else {
                    let k = Swift.min(p.negatives, itemCount)
                    let negatives = (0..<k).map { _ in Int32(1 + Int(rng.next() % UInt64(itemCount))) }
                    let positive = try (states * table.gather(IndexTensor(shape: [targets.count], ids: targets))).sum(axis: 1, keepDims: true)
                    let negative = try states.matmul(table.gather(IndexTensor(shape: [k], ids: negatives)), transposeOther: true)
                    let logits = try Variable.concat([positive, negative], axis: 1)  // the positive in column 0
                    loss = try Loss.softmaxCrossEntropy(logits: logits, targets: IndexTensor(shape: [targets.count], ids: [Int32](repeating: 0, count: targets.count)))
                }
                try tape.backward(loss)
                try dense.step(params.filter { !$0.sparse })
                try sparse.step(params.filter { $0.sparse })
                total += Double(loss.value.base[0])
                batches += 1
            }
            progress?("sasrec epoch \(epoch + 1)/\(p.epochs): loss \(String(format: "%.4f", total / Double(Swift.max(batches, 1)))) over \(windows.count) windows")
        }
        return try SASRec(network: net, parameters: p, name: name, positiveTypes: Set(typeWeights.indices.filter { typeWeights[$0] > 0 }.map(UInt8.init)))
    }
}
