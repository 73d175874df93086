import CascadeCore
import CascadeTensor
import Foundation

/// The trainable state of EGES and its SGD update.
///
/// Item v's input vector is `H_v = sum_s alpha_vs W_s[f_s(v)]` over its present feature slots s
/// (0 id, 1 category, 2 author, 3 tags: the mean of the tag rows), `alpha_v = softmax(a_v)` over
/// the present slots only (absent side info takes no weight). Context (output) vectors Z are per
/// item. Skip-gram with negative sampling: for a centre v and targets t with labels y_t (1 for a
/// walk neighbour, 0 for a drawn negative), `L = -sum_t log sigma((2 y_t - 1) H_v . Z_t)`.
///
/// With `g = -dL/dH_v = sum_t (y_t - sigma(H_v . Z_t)) Z_t`, an SGD step of rate lr is
///
///     Z_t      += lr (y_t - sigma(H_v . Z_t)) H_v
///     W_s[.]   += lr alpha_vs g                        (each tag row: lr alpha_v3 g / |tags|)
///     a_vs     += lr alpha_vs (W_s . g - H_v . g)      (dH/da_s = alpha_s (W_s - H))
///
/// all gradients taken at the values before the step. Tables live in manually allocated
/// memory: parallel training updates them Hogwild-style (Recht et al., NIPS 2011).
final class EGESTables: @unchecked Sendable {
    static let slots = 4
    let dim: Int
    let itemCount: Int
    /// Rows: ids (itemCount), categories, authors, tags (vocabulary sizes from the features).
    let idTable, categoryTable, authorTable, tagTable, contextTable, attention: UnsafeMutablePointer<Float>
    let category: [Int32], author: [Int32], tagOffsets: [Int], tagIds: [Int32]
    /// Per item and slot, whether the slot takes part in the item's vector.
    let present: [Bool]
    private let sizes: [Int]

    init(features f: ItemSideFeatures, known: [Bool], dim: Int, rng: inout FactorRandom) {
        self.dim = dim
        itemCount = known.count
        category = f.category
        author = f.author
        tagOffsets = f.tagOffsets
        tagIds = f.tagIds
        var p = [Bool](repeating: false, count: itemCount * Self.slots)
        for i in 0..<itemCount {
            p[i * 4] = known[i]
            p[i * 4 + 1] = f.category[i] != 0
            p[i * 4 + 2] = f.author[i] != 0
            p[i * 4 + 3] = f.tagIds[f.tagOffsets[i]..<f.tagOffsets[i + 1]].contains { $0 != 0 }
        }
        present = p
        sizes = [itemCount * dim, f.categoryCount * dim, f.authorCount * dim, f.tagCount * dim, itemCount * dim, itemCount * Self.slots]
        func table(_ n: Int, scale: Float) -> UnsafeMutablePointer<Float> {
            let t = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(n, 1))
            for k in 0..<n { t[k] = scale == 0 ? 0 : (rng.nextUnitFloat() - 0.5) * scale }
            return t
        }
        // word2vec's initialization: inputs uniform in +-0.5 / dim, outputs zero.
        let s = 1 / Float(dim)
        idTable = table(sizes[0], scale: s)
        categoryTable = table(sizes[1], scale: s)
        authorTable = table(sizes[2], scale: s)
        tagTable = table(sizes[3], scale: s)
        contextTable = table(sizes[4], scale: 0)
        attention = table(sizes[5], scale: 0)
    }

    deinit {
        for t in [idTable, categoryTable, authorTable, tagTable, contextTable, attention] { t.deallocate() }
    }

    /// alpha_v over the present slots (0 for absent ones) into `alpha`; false when none is present.
    @inline(__always) func weights(_ v: Int, _ alpha: UnsafeMutablePointer<Float>) -> Bool {
        var m = -Float.infinity
        for s in 0..<4 where present[v * 4 + s] { m = Swift.max(m, attention[v * 4 + s]) }
        guard m > -Float.infinity else { return false }
        var z: Float = 0
        for s in 0..<4 {
            alpha[s] = present[v * 4 + s] ? exp(attention[v * 4 + s] - m) : 0
            z += alpha[s]
        }
        for s in 0..<4 { alpha[s] /= z }
        return true
    }

    /// The row of slot s for item v (slot 3 writes the tag mean into `tagMean` and returns it).
    @inline(__always) func slotRow(_ v: Int, _ s: Int, tagMean: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        switch s {
        case 0: return idTable + v * dim
        case 1: return categoryTable + Int(category[v]) * dim
        case 2: return authorTable + Int(author[v]) * dim
        default:
            let lo = tagOffsets[v], hi = tagOffsets[v + 1]
            tagMean.update(repeating: 0, count: dim)
            let inv = 1 / Float(hi - lo)
            for p in lo..<hi { Kernels.axpy(alpha: inv, x: tagTable + Int(tagIds[p]) * dim, y: tagMean, count: dim) }
            return tagMean
        }
    }

    /// H_v into `h` (with alpha into `alpha`); zero when v has no present slot.
    func inputVector(_ v: Int, h: UnsafeMutablePointer<Float>, alpha: UnsafeMutablePointer<Float>, tagMean: UnsafeMutablePointer<Float>) {
        h.update(repeating: 0, count: dim)
        guard weights(v, alpha) else { return }
        for s in 0..<4 where alpha[s] > 0 {
            Kernels.axpy(alpha: alpha[s], x: slotRow(v, s, tagMean: tagMean), y: h, count: dim)
        }
    }

    /// Scratch floats one `update` needs.
    var scratchCount: Int { 3 * dim + 8 }

    /// One SGD step for centre `v` against `count` targets (labels 1 or 0); returns the loss
    /// before the step. O(count dim + tags dim).
    @discardableResult
    func update(center v: Int, targets: UnsafePointer<Int32>, labels: UnsafePointer<Float>, count: Int, lr: Float,
                scratch: UnsafeMutablePointer<Float>) -> Float {
        let h = scratch, g = scratch + dim, tagMean = scratch + 2 * dim, alpha = scratch + 3 * dim
        inputVector(v, h: h, alpha: alpha, tagMean: tagMean)
        g.update(repeating: 0, count: dim)
        var loss: Float = 0
        for t in 0..<count {
            let z = contextTable + Int(targets[t]) * dim
            let x = Kernels.dot(h, z, count: dim)
            let sigma = 1 / (1 + exp(-x))
            let y = labels[t]
            loss += y > 0 ? -Self.logSigmoid(x) : -Self.logSigmoid(-x)
            let e = (y - sigma) * lr
            Kernels.axpy(alpha: e, x: z, y: g, count: dim)
            Kernels.axpy(alpha: e, x: h, y: z, count: dim)
        }
        // g now holds -lr dL/dH. Attention first (it reads the rows before they move).
        let hg = Kernels.dot(h, g, count: dim)
        var active = 0
        for s in 0..<4 where alpha[s] > 0 { active += 1 }
        for s in 0..<4 where alpha[s] > 0 {
            let row = slotRow(v, s, tagMean: tagMean)
            if active > 1 { attention[v * 4 + s] += alpha[s] * (Kernels.dot(row, g, count: dim) - hg) }
            switch s {
            case 0, 1, 2: Kernels.axpy(alpha: alpha[s], x: g, y: row, count: dim)
            default:
                let lo = tagOffsets[v], hi = tagOffsets[v + 1]
                let share = alpha[s] / Float(hi - lo)
                for p in lo..<hi { Kernels.axpy(alpha: share, x: g, y: tagTable + Int(tagIds[p]) * dim, count: dim) }
            }
        }
        return loss
    }

    /// The loss `update` would report, without changing anything (tests).
    func loss(center v: Int, targets: [Int32], labels: [Float]) -> Float {
        var scratch = [Float](repeating: 0, count: scratchCount)
        return scratch.withUnsafeMutableBufferPointer { sb in
            let h = sb.baseAddress!
            inputVector(v, h: h, alpha: h + 3 * dim, tagMean: h + 2 * dim)
            var l: Float = 0
            for (t, y) in zip(targets, labels) {
                let x = Kernels.dot(h, contextTable + Int(t) * dim, count: dim)
                l += y > 0 ? -Self.logSigmoid(x) : -Self.logSigmoid(-x)
            }
            return l
        }
    }

    @inline(__always) static func logSigmoid(_ x: Float) -> Float {
        x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x))
    }

    /// Final item vectors [itemCount, dim], unit length (zero rows stay zero): H_v for items
    /// trained on the graph, the plain mean of the present side-info rows for the others.
    func itemVectors() -> [Float] {
        var out = [Float](repeating: 0, count: itemCount * dim)
        var scratch = [Float](repeating: 0, count: scratchCount)
        out.withUnsafeMutableBufferPointer { ob in
            scratch.withUnsafeMutableBufferPointer { sb in
                let tagMean = sb.baseAddress!, alpha = sb.baseAddress! + dim
                for v in 0..<itemCount {
                    let row = ob.baseAddress! + v * dim
                    if present[v * 4] {
                        inputVector(v, h: row, alpha: alpha, tagMean: tagMean)
                    } else {
                        var n: Float = 0
                        for s in 1..<4 where present[v * 4 + s] { n += 1 }
                        for s in 1..<4 where present[v * 4 + s] {
                            Kernels.axpy(alpha: 1 / n, x: slotRow(v, s, tagMean: tagMean), y: row, count: dim)
                        }
                    }
                    let norm = Kernels.dot(row, row, count: dim).squareRoot()
                    if norm > 0 { for k in 0..<dim { row[k] /= norm } }
                }
            }
        }
        return out
    }

    /// Softmax attention per item [itemCount, 4] (0 for absent slots).
    func attentionWeights() -> [Float] {
        var out = [Float](repeating: 0, count: itemCount * 4)
        out.withUnsafeMutableBufferPointer { ob in
            for v in 0..<itemCount { _ = weights(v, ob.baseAddress! + v * 4) }
        }
        return out
    }
}

/// Negative samples drawn from the unigram distribution raised to 0.75 (Mikolov et al., NIPS
/// 2013), as a table of item ids each repeated in proportion to its share: O(1) per draw.
struct UnigramTable {
    let table: [Int32]

    init(frequencies: [Float], power: Double = 0.75) {
        let p = frequencies.map { $0 > 0 ? pow(Double($0), power) : 0 }
        let total = p.reduce(0, +)
        guard total > 0 else { table = []; return }
        let size = Swift.min(1 << 22, Swift.max(1 << 16, 64 * p.count))
        var t = [Int32](repeating: 0, count: size)
        var i = 0, cumulative = p[0] / total
        for k in 0..<size {
            t[k] = Int32(i)
            if Double(k + 1) / Double(size) > cumulative && i < p.count - 1 {
                i += 1
                while p[i] == 0 && i < p.count - 1 { i += 1 }
                cumulative += p[i] / total
            }
        }
        table = t
    }
}

extension EGES {
    /// Trains EGES on `log` and returns the channel with every catalog item's vector.
    ///
    /// Per epoch, `walksPerNode` weighted walks of `walkLength` nodes start from every node with
    /// out-edges (in a shuffled order); each node of a walk is a centre whose targets are its
    /// walk neighbours within a window drawn uniformly from 1...window (word2vec's dynamic
    /// window), each followed by `negatives` draws from the unigram^0.75 table over weighted
    /// degrees. The learning rate decays linearly to 1e-4 of its start. Cost per epoch
    /// O(nodes walksPerNode walkLength window (1 + negatives) dim).
    public static func train(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float], features: ItemSideFeatures,
                             parameters p: Parameters = Parameters(), name: String = "eges",
                             progress: ((String) -> Void)? = nil) throws -> EGES {
        guard p.dim > 0, p.walkLength >= 2, p.window >= 1, p.walksPerNode >= 1, p.epochs >= 1, p.negatives >= 0 else {
            throw CascadeError.invalid("eges: dim, walk length (>= 2), window, walks per node and epochs must be positive")
        }
        guard features.category.count == itemCount else {
            throw CascadeError.invalid("eges: side features cover \(features.category.count) items, expected \(itemCount)")
        }
        let graph = ItemGraph.build(log: log, userCount: userCount, itemCount: itemCount, typeWeights: typeWeights, sessionGap: p.sessionGap)
        guard graph.edgeCount > 0 else {
            throw CascadeError.invalid("eges: no two consecutive positive events of one session, so the item graph has no edge")
        }
        var degree = [Float](repeating: 0, count: itemCount)
        for i in 0..<itemCount {
            for e in graph.offsets[i]..<graph.offsets[i + 1] {
                degree[i] += graph.weights[e]
                degree[Int(graph.targets[e])] += graph.weights[e]
            }
        }
        let known = degree.map { $0 > 0 }
        let negatives = UnigramTable(frequencies: degree).table
        var rng = FactorRandom(seed: p.seed, stream: 0)
        let tables = EGESTables(features: features, known: known, dim: p.dim, rng: &rng)
        let starts = (0..<itemCount).filter { graph.outDegree(Int32($0)) > 0 }.map(Int32.init)
        let walks = starts.count * p.walksPerNode
        let threads = Factorization.threads(p.threads)
        let chunk = 256
        let chunksPerEpoch = (walks + chunk - 1) / chunk
        let totalChunks = Double(chunksPerEpoch * p.epochs)
        let maxTargets = 2 * p.window * (1 + p.negatives)
        for epoch in 0..<p.epochs {
            var order = [Int32]()
            order.reserveCapacity(walks)
            for _ in 0..<p.walksPerNode { order += starts }
            order.shuffle(using: &rng)
            let lossSum = LossAccumulator()
            order.withUnsafeBufferPointer { ob in
                negatives.withUnsafeBufferPointer { nb in
                    let startAt = SendablePointer(UnsafeMutablePointer(mutating: ob.baseAddress!))
                    let tableSize = nb.count
                    let table = SendablePointer(UnsafeMutablePointer(mutating: tableSize > 0 ? nb.baseAddress! : ob.baseAddress!))
                    Factorization.forChunks(walks, threads: threads, chunk: chunk) { range in
                        let c = range.lowerBound / chunk
                        var r = FactorRandom(seed: p.seed, stream: UInt64(epoch * chunksPerEpoch + c + 1))
                        let progressShare = Double(epoch * chunksPerEpoch + c) / totalChunks
                        let lr = p.learningRate * Float(Swift.max(1e-4, 1 - progressShare))
                        var loss: Double = 0, pairs = 0
                        let walk = UnsafeMutablePointer<Int32>.allocate(capacity: p.walkLength)
                        let targets = UnsafeMutablePointer<Int32>.allocate(capacity: maxTargets)
                        let labels = UnsafeMutablePointer<Float>.allocate(capacity: maxTargets)
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: tables.scratchCount)
                        defer { walk.deallocate(); targets.deallocate(); labels.deallocate(); scratch.deallocate() }
                        for w in range {
                            let n = graph.walk(from: startAt[w], length: p.walkLength, into: walk, rng: &r)
                            for i in 0..<n {
                                let b = p.window - r.below(p.window)
                                var count = 0
                                for j in Swift.max(0, i - b)..<Swift.min(n, i + b + 1) where j != i {
                                    let context = walk[j]
                                    targets[count] = context; labels[count] = 1; count += 1
                                    for _ in 0..<p.negatives where tableSize > 0 {
                                        let neg = table[r.below(tableSize)]
                                        if neg == context { continue }
                                        targets[count] = neg; labels[count] = 0; count += 1
                                    }
                                }
                                guard count > 0 else { continue }
                                loss += Double(tables.update(center: Int(walk[i]), targets: targets, labels: labels, count: count,
                                                             lr: lr, scratch: scratch))
                                pairs += count
                            }
                        }
                        lossSum.add(loss, pairs)
                    }
                }
            }
            progress?("eges epoch \(epoch + 1): loss per pair \(String(format: "%.4f", lossSum.mean))")
        }
        var support = [Float](repeating: 0, count: itemCount)
        for e in 0..<log.count {
            let t = Int(log.types[e]), i = Int(log.items[e])
            if t < typeWeights.count, typeWeights[t] > 0, i >= 0, i < itemCount { support[i] += 1 }
        }
        return EGES(name: name, parameters: p, typeWeights: typeWeights, known: known,
                    itemVectors: tables.itemVectors(), attention: tables.attentionWeights(), support: support)
    }
}

/// Sums loss over the chunks of an epoch (chunks may run on several threads).
final class LossAccumulator: @unchecked Sendable {
    private let lock = NSLock()
    private var sum = 0.0, count = 0
    func add(_ s: Double, _ n: Int) {
        lock.lock()
        sum += s
        count += n
        lock.unlock()
    }
    var mean: Double {
        lock.lock()
        defer { lock.unlock() }
        return count > 0 ? sum / Double(count) : 0
    }
}
