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
public final class DCNv2Serving: RankServingPath {
    public let tasks: [String]
    public private(set) var capacity: Int
    let model: DCNv2
    let layout: ServingLayout
    let kinds: [TaskKind]
    /// Permuted weights: cross [n, n] and biases, the first deep layer [n, h1], the head rows.
    let crossW: [Tensor], crossB: [Tensor]
    let deep0W: Tensor, deep0B: Tensor
    let headW: Tensor, headB: Tensor
    let parallel: Bool
    // Buffers, grown to the largest request seen.
    var x0: Tensor, x: Tensor, t: Tensor
    var hidden: [Tensor]
    var out: Tensor
    let userRow: Tensor, userCross: Tensor, userDeep: Tensor

    public init(_ model: DCNv2, pipeline: FeaturePipeline, maxCandidates: Int = 2048) throws {
        guard maxCandidates > 0 else { throw RankError.config("DCN-V2 serving: maxCandidates must be positive") }
        guard model.embedding.pooledHistories == 0 else {
            throw RankError.model("DCN-V2 serving: the fast path does not handle behaviour sequences yet; score through the model")
        }
        let layout = ServingLayout(pipeline: pipeline, dim: model.embedding.dim)
        let n = layout.n
        guard model.embedding.fieldCount == layout.sparseCount + layout.bagCount, model.cross.first?.inputSize ?? n == n else {
            throw RankError.model("DCN-V2 serving: the model was not built for this pipeline")
        }
        guard let first = model.tower.layers.first else { throw RankError.model("DCN-V2 serving: the deep tower has no layers") }
        self.model = model
        self.layout = layout
        capacity = maxCandidates
        tasks = model.tasks
        kinds = model.taskKinds
        parallel = model.parallel
        crossW = model.cross.map { layout.permutedSquare($0.weight.value) }
        crossB = model.cross.map { layout.permuted($0.bias?.value) }
        let h1 = first.outputSize
        deep0W = layout.permutedRows(first.weight.value)
        deep0B = first.bias?.value.copy() ?? Tensor(shape: [h1])
        let tCount = model.tasks.count
        headW = model.head.weight.value.copy()
        if parallel {
            for i in 0..<n { (headW.base + i * tCount).update(from: model.head.weight.value.base + layout.perm[i] * tCount, count: tCount) }
        }
        headB = model.head.bias?.value.copy() ?? Tensor(shape: [tCount])
        x0 = Tensor(shape: [maxCandidates, n])
        x = Tensor(shape: [maxCandidates, n])
        t = Tensor(shape: [maxCandidates, n])
        hidden = model.tower.layers.map { Tensor(shape: [maxCandidates, $0.outputSize]) }
        out = Tensor(shape: [maxCandidates, tCount])
        userRow = Tensor(shape: [Swift.max(layout.nu, 1)])
        userCross = Tensor(shape: [n])
        userDeep = Tensor(shape: [h1])
    }

    /// Grows the buffers to hold `rows` candidates.
    func reserve(_ rows: Int) {
        guard rows > capacity else { return }
        capacity = Swift.max(rows, capacity * 2)
        x0 = Tensor(shape: [capacity, layout.n])
        x = Tensor(shape: [capacity, layout.n])
        t = Tensor(shape: [capacity, layout.n])
        hidden = model.tower.layers.map { Tensor(shape: [capacity, $0.outputSize]) }
        out = Tensor(shape: [capacity, tasks.count])
    }

    /// Logits [N, tasks] of the N rows of `batch` (one request: the user-side features are read
    /// from row 0). The returned tensor is a view of an internal buffer, valid until the next call.
    public func logits(_ batch: EncodedBatch) throws -> Tensor {
        let rows = batch.rows
        try layout.check(batch, model: "DCN-V2")
        reserve(rows)
        let result = try out.rows(0..<rows)
        guard rows > 0 else { return result }
        let n = layout.n, nu = layout.nu, nc = n - nu
        let tab = model.embedding.table.value.base
        // Per request: the user columns of x0 and their share of the first deep layer.
        layout.userRow(batch, table: tab, into: userRow.base)
        if nu > 0 {
            Kernels.gemv(trans: true, m: nu, n: deep0W.shape[1], a: deep0W.base, lda: deep0W.shape[1], x: userRow.base,
                         y: userDeep.base, threads: 1)
        } else {
            userDeep.fill(0)
        }
        Kernels.add(userDeep.base, deep0B.base, userDeep.base, count: deep0B.count)
        layout.x0(batch, table: tab, user: userRow.base, into: x0.base)
        let xl = layout.cross(x0: x0.base, rows: rows, user: userRow.base, w: crossW, b: crossB, userPart: userCross.base,
                              t: t.base, x: x.base)
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
}
