import CascadeTensor
import Foundation

/// The serving path of ``DCNv2`` for one request: N candidates that share the request's user
/// features, scored without a tape.
///
/// - No graph or gradient bookkeeping: every activation lives in buffers preallocated for
///   `maxCandidates` rows and reused across requests (one `score` call allocates nothing).
/// - User-side fields (``FeatureSpec/Side``) are embedded once per request. The feature axis of
///   x0 is permuted so the user columns come first (the cross layers are element-wise on that
///   axis, so a consistent permutation of every weight leaves the outputs unchanged); then the
///   first cross layer's and the first deep layer's products split into a per-request part
///   u W[user rows] (one GEMV) and a per-candidate GEMM over the remaining columns only.
/// - The head reads [x_L, h] as two GEMMs into the same output (no concatenation).
///
/// The weights are copied (permuted) when the object is built: rebuild it after training.
/// Not thread-safe (the buffers are shared); use one per serving thread.
/// Per request: O(N (L n^2 + deep)) minus the user share of the first layers.
public final class DCNv2Serving {
    public let tasks: [String]
    public let maxCandidates: Int
    let model: DCNv2
    let dim: Int, n: Int, nu: Int
    let sparseCount: Int, bagCount: Int, denseCount: Int
    /// Blocks of x0 in serving order: source (sparse column, bag, dense column) and start column.
    let userBlocks: [Block], otherBlocks: [Block]
    /// Permuted weights: cross [n, n] and biases, the first deep layer [n, h1], the head rows.
    let crossW: [Tensor], crossB: [Tensor]
    let deep0W: Tensor, deep0B: Tensor
    let headW: Tensor, headB: Tensor
    let parallel: Bool
    // Buffers.
    let x0: Tensor, x: Tensor, t: Tensor
    let hidden: [Tensor]
    let userRow: Tensor, userCross: Tensor, userDeep: Tensor
    let out: Tensor

    enum Source { case sparse(Int), bag(Int), dense(Int) }
    struct Block { let source: Source; let start: Int; let width: Int }

    public init(_ model: DCNv2, pipeline: FeaturePipeline, maxCandidates: Int = 2048) throws {
        guard maxCandidates > 0 else { throw RankError.config("DCN-V2 serving: maxCandidates must be positive") }
        self.model = model
        self.maxCandidates = maxCandidates
        tasks = model.tasks
        parallel = model.parallel
        dim = model.embedding.dim
        sparseCount = pipeline.sparseFeatures.count
        bagCount = pipeline.bagFeatures.count
        denseCount = pipeline.denseFeatures.count
        n = (sparseCount + bagCount) * dim + denseCount
        guard model.embedding.pooledHistories == 0 else {
            throw RankError.model("DCN-V2 serving: the fast path does not handle behaviour sequences yet; score through the model")
        }
        guard model.embedding.fieldCount == sparseCount + bagCount, model.cross.first?.inputSize ?? n == n else {
            throw RankError.model("DCN-V2 serving: the model was not built for this pipeline")
        }
        // Old x0 layout: sparse fields, bags, dense columns.
        var user: [Block] = [], other: [Block] = []
        var oldStart: [Int] = []  // old start column per block, same order as user + other
        var userOld: [Int] = [], otherOld: [Int] = []
        for (j, f) in pipeline.sparseFeatures.enumerated() {
            if f.resolvedSide == .user { user.append(Block(source: .sparse(j), start: 0, width: dim)); userOld.append(j * dim) }
            else { other.append(Block(source: .sparse(j), start: 0, width: dim)); otherOld.append(j * dim) }
        }
        for (k, f) in pipeline.bagFeatures.enumerated() {
            let s = (sparseCount + k) * dim
            if f.resolvedSide == .user { user.append(Block(source: .bag(k), start: 0, width: dim)); userOld.append(s) }
            else { other.append(Block(source: .bag(k), start: 0, width: dim)); otherOld.append(s) }
        }
        for (c, f) in pipeline.denseFeatures.enumerated() {
            let s = (sparseCount + bagCount) * dim + c
            if f.resolvedSide == .user { user.append(Block(source: .dense(c), start: 0, width: 1)); userOld.append(s) }
            else { other.append(Block(source: .dense(c), start: 0, width: 1)); otherOld.append(s) }
        }
        oldStart = userOld + otherOld
        var perm: [Int] = []  // new column -> old column
        var placed: [Block] = []
        for (b, o) in zip(user + other, oldStart) {
            placed.append(Block(source: b.source, start: perm.count, width: b.width))
            for i in 0..<b.width { perm.append(o + i) }
        }
        userBlocks = Array(placed.prefix(user.count))
        otherBlocks = Array(placed.dropFirst(user.count))
        nu = userBlocks.reduce(0) { $0 + $1.width }
        let n = self.n
        crossW = model.cross.map { l in
            let w = Tensor(uninitializedShape: Shape(n, n)), src = l.weight.value.base
            for i in 0..<n { for j in 0..<n { w.base[i * n + j] = src[perm[i] * n + perm[j]] } }
            return w
        }
        crossB = model.cross.map { l in
            let b = Tensor(shape: [n])
            if let src = l.bias?.value.base { for j in 0..<n { b.base[j] = src[perm[j]] } }
            return b
        }
        guard let first = model.tower.layers.first else { throw RankError.model("DCN-V2 serving: the deep tower has no layers") }
        let h1 = first.outputSize
        deep0W = Tensor(uninitializedShape: Shape(n, h1))
        for i in 0..<n { (deep0W.base + i * h1).update(from: first.weight.value.base + perm[i] * h1, count: h1) }
        deep0B = first.bias?.value.copy() ?? Tensor(shape: [h1])
        let tCount = model.tasks.count
        headW = model.head.weight.value.copy()
        if parallel {
            for i in 0..<n { (headW.base + i * tCount).update(from: model.head.weight.value.base + perm[i] * tCount, count: tCount) }
        }
        headB = model.head.bias?.value.copy() ?? Tensor(shape: [tCount])
        x0 = Tensor(shape: [maxCandidates, n])
        x = Tensor(shape: [maxCandidates, n])
        t = Tensor(shape: [maxCandidates, n])
        hidden = model.tower.layers.map { Tensor(shape: [maxCandidates, $0.outputSize]) }
        userRow = Tensor(shape: [Swift.max(nu, 1)])
        userCross = Tensor(shape: [n])
        userDeep = Tensor(shape: [h1])
        out = Tensor(shape: [maxCandidates, tCount])
    }

    /// Logits [N, tasks] of the N rows of `batch` (one request: the user-side features are read
    /// from row 0). The returned tensor is a view of an internal buffer, valid until the next call.
    public func logits(_ batch: EncodedBatch) throws -> Tensor {
        let rows = batch.rows
        guard rows <= maxCandidates else { throw RankError.model("DCN-V2 serving: \(rows) candidates, built for at most \(maxCandidates)") }
        guard batch.sparseIds.shape.last == sparseCount, batch.bags.count == bagCount, batch.dense.shape.last == denseCount else {
            throw RankError.model("DCN-V2 serving: the batch was not encoded by the model's pipeline")
        }
        let result = try out.rows(0..<rows)
        guard rows > 0 else { return result }
        let n = self.n, nc = n - nu
        let tab = model.embedding.table.value.base
        // Per request: the user columns of x0 and their share of the first cross and deep layers.
        if nu > 0 {
            fill(userBlocks, batch, row: 0, tab, userRow.base)
            Kernels.gemv(trans: true, m: nu, n: n, a: crossW[0].base, lda: n, x: userRow.base, y: userCross.base, threads: 1)
            Kernels.gemv(trans: true, m: nu, n: deep0W.shape[1], a: deep0W.base, lda: deep0W.shape[1], x: userRow.base,
                         y: userDeep.base, threads: 1)
        } else {
            userCross.fill(0)
            userDeep.fill(0)
        }
        Kernels.add(userCross.base, crossB[0].base, userCross.base, count: n)
        Kernels.add(userDeep.base, deep0B.base, userDeep.base, count: deep0B.count)
        // x0 rows: the user prefix copied, the candidate columns gathered.
        for r in 0..<rows {
            let o = x0.base + r * n
            if nu > 0 { o.update(from: userRow.base, count: nu) }
            fill(otherBlocks, batch, row: r, tab, o)
        }
        let count = rows * n
        // Cross network.
        var xl = x0.base
        for (l, w) in crossW.enumerated() {
            if l == 0 {
                Kernels.gemm(m: rows, n: n, k: nc, a: x0.base + nu, lda: n, b: w.base + nu * n, ldb: n, beta: 0, c: t.base, ldc: n, threads: 1)
                Kernels.biasActivate(.identity, t.base, bias: userCross.base, t.base, rows: rows, cols: n)
            } else {
                Kernels.gemm(m: rows, n: n, k: n, a: xl, lda: n, b: w.base, ldb: n, beta: 0, c: t.base, ldc: n, threads: 1)
                Kernels.biasActivate(.identity, t.base, bias: crossB[l].base, t.base, rows: rows, cols: n)
            }
            Kernels.mul(x0.base, t.base, t.base, count: count)
            Kernels.add(t.base, xl, x.base, count: count)
            xl = UnsafeMutablePointer(x.base)
        }
        // Deep network: from x0 (parallel) or from the cross output (stacked).
        let layers = model.tower.layers
        let h1 = deep0W.shape[1]
        if parallel {
            Kernels.gemm(m: rows, n: h1, k: nc, a: x0.base + nu, lda: n, b: deep0W.base + nu * h1, ldb: h1, beta: 0,
                         c: hidden[0].base, ldc: h1, threads: 1)
            Kernels.biasActivate(layers[0].activation, hidden[0].base, bias: userDeep.base, hidden[0].base, rows: rows, cols: h1)
        } else {
            Kernels.gemm(m: rows, n: h1, k: n, a: xl, lda: n, b: deep0W.base, ldb: h1, beta: 0, c: hidden[0].base, ldc: h1, threads: 1)
            Kernels.biasActivate(layers[0].activation, hidden[0].base, bias: deep0B.base, hidden[0].base, rows: rows, cols: h1)
        }
        for i in 1..<layers.count { DenseForward.linear(layers[i], hidden[i - 1].base, rows: rows, hidden[i].base) }
        // Head.
        let tc = tasks.count, last = hidden[hidden.count - 1], hl = last.shape[1]
        if parallel {
            Kernels.gemm(m: rows, n: tc, k: n, a: xl, lda: n, b: headW.base, ldb: tc, beta: 0, c: result.base, ldc: tc, threads: 1)
            Kernels.gemm(m: rows, n: tc, k: hl, a: last.base, lda: hl, b: headW.base + n * tc, ldb: tc, beta: 1, c: result.base, ldc: tc, threads: 1)
        } else {
            Kernels.gemm(m: rows, n: tc, k: hl, a: last.base, lda: hl, b: headW.base, ldb: tc, beta: 0, c: result.base, ldc: tc, threads: 1)
        }
        Kernels.biasActivate(.identity, result.base, bias: headB.base, result.base, rows: rows, cols: tc)
        return result
    }

    /// Probabilities [N][tasks].
    public func predict(_ batch: EncodedBatch) throws -> [[Float]] {
        let z = try logits(batch), tc = tasks.count
        return (0..<batch.rows).map { r in (0..<tc).map { 1 / (1 + Foundation.exp(-z.base[r * tc + $0])) } }
    }

    /// Writes `blocks` of row `row` at their start columns of `o` (user blocks: relative to 0).
    private func fill(_ blocks: [Block], _ batch: EncodedBatch, row r: Int, _ tab: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>) {
        let w = sparseCount
        for b in blocks {
            let dst = o + b.start
            switch b.source {
            case .sparse(let j):
                dst.update(from: tab + Int(batch.sparseIds.base[r * w + j]) * dim, count: dim)
            case .bag(let k):
                let bag = batch.bags[k], lo = bag.offsets[r], hi = bag.offsets[r + 1]
                dst.update(repeating: 0, count: dim)
                for i in lo..<hi { Kernels.axpy(alpha: 1, x: tab + Int(bag.ids.base[i]) * dim, y: dst, count: dim) }
                if hi > lo { Kernels.scale(dst, by: 1 / Float(hi - lo), dst, count: dim) }
            case .dense(let c):
                dst.pointee = batch.dense.base[r * denseCount + c]
            }
        }
    }
}
