import CascadeTensor
import Foundation

/// Hyper-parameters of ``ThreeTower``.
public struct ThreeTowerParameters: Codable, Sendable, Equatable {
    public var embeddingDim = 16
    /// Hidden sizes of the user and item towers (ReLU).
    public var hidden = [128]
    /// Size of the user and item vectors.
    public var vectorDim = 32
    public var seed: UInt64 = 42

    public init() {}
}

/// The pre-rank three-tower model:
///
///     score = <u, i> + c,   u = userTower(user-side fields),  i = itemTower(item-side fields),
///                           c = w . x_context + b             (one layer over context features)
///
/// Features are split by their declared `side` (``FeatureSpec/Side``): the user tower's input
/// is constant within a request, so u is computed once; the item tower depends only on the item,
/// so i can be computed ahead and cached per item; only the cross tower (statistics and
/// user x item cross features, one linear layer) is evaluated per candidate. Scoring N
/// candidates is then one N x d GEMV plus an N x c one instead of N tower passes.
///
/// It is a ``RankModel`` with one task ("click") so `RankTrainer` and `predict` apply; it is
/// usually trained by ``ThreeTowerTrainer/distill`` to agree with the ranker. The tape path
/// (`logits`) and the serving path (``userVector(_:row:)``, ``itemVectors(_:)``,
/// ``score(user:items:context:into:)``) compute the same values. Parameters: one embedding table
/// (tableRows x dim, sparse) + two MLPs + the cross layer.
public final class ThreeTower: RankModel {
    public let kind = "threetower"
    public let tasks = ["click"]
    public let config: ThreeTowerParameters
    let table: Parameter
    let userTower: MLP
    let itemTower: MLP
    /// Linear c = x_context w + b, or nil when no context feature is declared (then c = bias).
    let cross: Linear?
    let crossBias: Parameter?
    let user: SideLayout, item: SideLayout, context: SideLayout

    /// Which encoded columns belong to a side.
    struct SideLayout {
        var sparseColumns: [Int] = []
        var bagIndices: [Int] = []
        var denseColumns: [Int] = []
        let dim: Int
        var embedded: Int { sparseColumns.count + bagIndices.count }
        var width: Int { embedded * dim + denseColumns.count }
    }

    public init(pipeline: FeaturePipeline, config: ThreeTowerParameters = ThreeTowerParameters()) throws {
        self.config = config
        let dim = config.embeddingDim
        func layout(_ side: FeatureSpec.Side) -> SideLayout {
            var l = SideLayout(dim: dim)
            l.sparseColumns = pipeline.sparseFeatures.indices.filter { pipeline.sparseFeatures[$0].resolvedSide == side }
            l.bagIndices = pipeline.bagFeatures.indices.filter { pipeline.bagFeatures[$0].resolvedSide == side }
            l.denseColumns = pipeline.denseFeatures.indices.filter { pipeline.denseFeatures[$0].resolvedSide == side }
            return l
        }
        user = layout(.user)
        item = layout(.item)
        context = layout(.context)
        guard user.width > 0 else { throw RankError.config("three-tower: no feature has \"side\": \"user\"") }
        guard item.width > 0 else { throw RankError.config("three-tower: no feature has \"side\": \"item\"") }
        guard dim > 0, config.vectorDim > 0 else { throw RankError.config("three-tower: embeddingDim and vectorDim must be positive") }
        table = Parameter("threetower.emb.table", Tensor.normal([Swift.max(pipeline.tableRows, 1), dim], std: 0.05, seed: config.seed), sparse: true)
        userTower = MLP(name: "threetower.user", sizes: [user.width] + config.hidden + [config.vectorDim], seed: config.seed)
        itemTower = MLP(name: "threetower.item", sizes: [item.width] + config.hidden + [config.vectorDim], seed: config.seed &+ 1)
        if context.width > 0 {
            cross = Linear(name: "threetower.cross", in: context.width, out: 1, seed: config.seed)
            crossBias = nil
        } else {
            cross = nil
            crossBias = Parameter("threetower.cross.bias", Tensor(shape: [1]))
        }
    }

    public var parameters: [Parameter] {
        [table] + userTower.parameters + itemTower.parameters + (cross?.parameters ?? []) + (crossBias.map { [$0] } ?? [])
    }

    // MARK: Tape path (training)

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let t = tape.parameter(table)
        let u = try userTower(sideInput(user, batch, table: t))
        let i = try itemTower(sideInput(item, batch, table: t))
        let dot = try (u * i).sum(axis: 1, keepDims: true)
        if let cross { return try dot + cross(sideInput(context, batch, table: t)) }
        return try dot + tape.parameter(crossBias!)
    }

    /// The side's input [B, width]: its field embeddings flattened, then its dense columns.
    func sideInput(_ side: SideLayout, _ batch: EncodedBatch, table t: Variable) throws -> Variable {
        let b = batch.rows, w = batch.sparseIds.shape.last
        var parts: [Variable] = []
        if !side.sparseColumns.isEmpty {
            let ids = IndexTensor(shape: Shape(b, side.sparseColumns.count))
            for r in 0..<b {
                for (j, c) in side.sparseColumns.enumerated() { ids.base[r * side.sparseColumns.count + j] = batch.sparseIds.base[r * w + c] }
            }
            parts.append(try t.gather(ids).reshaped([b, side.sparseColumns.count * side.dim]))
        }
        for k in side.bagIndices {
            parts.append(try t.gatherSegment(batch.bags[k].ids, offsets: batch.bags[k].offsets, mode: .mean))
        }
        if !side.denseColumns.isEmpty {
            let dw = batch.dense.shape.last
            let d = Tensor(uninitializedShape: Shape(b, side.denseColumns.count))
            for r in 0..<b {
                for (j, c) in side.denseColumns.enumerated() { d.base[r * side.denseColumns.count + j] = batch.dense.base[r * dw + c] }
            }
            parts.append(t.tape.constant(d))
        }
        return parts.count == 1 ? parts[0] : try Variable.concat(parts, axis: 1)
    }

    // MARK: Serving path (no tape)

    /// Writes the side input of rows `rows` of `batch` into `out` ([rows.count, side.width]). O(rows width).
    func fillSideInput(_ side: SideLayout, _ batch: EncodedBatch, rows: Range<Int>, _ out: UnsafeMutablePointer<Float>) {
        let dim = side.dim, width = side.width, w = batch.sparseIds.shape.last, dw = batch.dense.shape.last
        let tab = table.value.base
        for (k, r) in rows.enumerated() {
            let o = out + k * width
            for (j, c) in side.sparseColumns.enumerated() {
                (o + j * dim).update(from: tab + Int(batch.sparseIds.base[r * w + c]) * dim, count: dim)
            }
            for (j, b) in side.bagIndices.enumerated() {
                let bag = batch.bags[b], dst = o + (side.sparseColumns.count + j) * dim
                dst.update(repeating: 0, count: dim)
                let lo = bag.offsets[r], hi = bag.offsets[r + 1]
                for i in lo..<hi { Kernels.axpy(alpha: 1, x: tab + Int(bag.ids.base[i]) * dim, y: dst, count: dim) }
                if hi > lo { Kernels.scale(dst, by: 1 / Float(hi - lo), dst, count: dim) }
            }
            let d0 = o + side.embedded * dim
            for (j, c) in side.denseColumns.enumerated() { d0[j] = batch.dense.base[r * dw + c] }
        }
    }

    /// The user vector [vectorDim] of row `row` of `batch` (the request's user fields): computed
    /// once per request. O(user tower).
    public func userVector(_ batch: EncodedBatch, row: Int = 0) -> [Float] {
        let x = Tensor(uninitializedShape: Shape(1, user.width))
        fillSideInput(user, batch, rows: row..<(row + 1), x.base)
        return DenseForward.mlp(userTower.linears, x).toArray()
    }

    /// Item vectors [rows, vectorDim] of every row of `batch` (item fields only are read): compute
    /// once per item and cache; rows of the result are independent of the request.
    public func itemVectors(_ batch: EncodedBatch) -> Tensor {
        let x = Tensor(uninitializedShape: Shape(batch.rows, item.width))
        fillSideInput(item, batch, rows: 0..<batch.rows, x.base)
        return DenseForward.mlp(itemTower.linears, x)
    }

    /// Width of the per-candidate cross input (context features).
    public var crossInputWidth: Int { context.width }

    /// Scores of N candidates: `out[n] = <user, items[n]> + cross(context row n)`.
    /// - Parameters:
    ///   - user: the request's ``userVector(_:row:)``.
    ///   - items: [N, vectorDim] item vectors of the candidates, in candidate order (cached rows).
    ///   - context: the candidates' encoded rows (N rows; only context features are read); nil
    ///     when the model has no context features.
    ///   - scratch: reusable [N, crossInputWidth] buffer (grown as needed).
    ///   - out: N logits (resized).
    /// - Complexity: O(N (vectorDim + crossInputWidth)): two GEMVs and the context gathers.
    public func score(user u: [Float], items: Tensor, context: EncodedBatch?, scratch: inout [Float], into out: inout [Float]) throws {
        let n = items.shape[0], d = config.vectorDim
        guard items.rank == 2, items.shape[1] == d, u.count == d else {
            throw RankError.model("three-tower: items must be [N, \(d)] and the user vector \(d) long (got \(items.shape), \(u.count))")
        }
        if out.count != n { out = [Float](repeating: 0, count: n) }
        try out.withUnsafeMutableBufferPointer { o in
            if let cross {
                guard let context, context.rows == n else {
                    throw RankError.model("three-tower: needs the \(n) candidates' context rows")
                }
                let cw = context.rows * self.context.width
                if scratch.count < cw { scratch = [Float](repeating: 0, count: cw) }
                scratch.withUnsafeMutableBufferPointer { s in
                    fillSideInput(self.context, context, rows: 0..<n, s.baseAddress!)
                    Kernels.gemv(trans: false, m: n, n: self.context.width, a: s.baseAddress!, lda: self.context.width,
                                 x: cross.weight.value.base, beta: 0, y: o.baseAddress!, threads: 1)
                }
                let b = cross.bias?.value.base[0] ?? 0
                for i in 0..<n { o[i] += b }
            } else {
                o.update(repeating: crossBias!.value.base[0])
            }
            u.withUnsafeBufferPointer { up in
                Kernels.gemv(trans: false, m: n, n: d, a: items.base, lda: d, x: up.baseAddress!, beta: 1, y: o.baseAddress!, threads: 1)
            }
        }
    }
}
