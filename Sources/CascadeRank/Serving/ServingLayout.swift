import CascadeTensor

/// The input row x0 = [sparse field embeddings, bag means, dense columns] of a cross-network
/// model, as its serving paths lay it out for one request: the user-side columns
/// (``FeatureSpec/Side``) first, then every other column.
///
/// Cross layers act element-wise on x0's feature axis, so permuting that axis consistently in x0
/// and in every weight that reads it leaves the outputs unchanged. With the user columns first,
/// a layer's product x0 W splits into a per-request part u W[user rows] (one GEMV: u is the
/// same for every candidate of a request) and a per-candidate GEMM over the other columns.
struct ServingLayout {
    enum Source { case sparse(Int), bag(Int), dense(Int) }
    /// Columns `start..<start + width` of x0 (user blocks: of the user prefix) come from `source`.
    struct Block { let source: Source; let start: Int; let width: Int }

    let dim: Int
    let sparseCount: Int, bagCount: Int, denseCount: Int
    /// Width of x0, and of its user-side prefix.
    let n: Int, nu: Int
    let userBlocks: [Block], otherBlocks: [Block]
    /// New column -> the model's column.
    let perm: [Int]

    init(pipeline: FeaturePipeline, dim: Int) {
        self.dim = dim
        sparseCount = pipeline.sparseFeatures.count
        bagCount = pipeline.bagFeatures.count
        denseCount = pipeline.denseFeatures.count
        n = (sparseCount + bagCount) * dim + denseCount
        var user: [(Block, Int)] = [], other: [(Block, Int)] = []  // block and the model's start column
        func add(_ source: Source, width: Int, at old: Int, userSide: Bool) {
            let b = Block(source: source, start: 0, width: width)
            if userSide { user.append((b, old)) } else { other.append((b, old)) }
        }
        for (j, f) in pipeline.sparseFeatures.enumerated() { add(.sparse(j), width: dim, at: j * dim, userSide: f.resolvedSide == .user) }
        for (k, f) in pipeline.bagFeatures.enumerated() {
            add(.bag(k), width: dim, at: (sparseCount + k) * dim, userSide: f.resolvedSide == .user)
        }
        for (c, f) in pipeline.denseFeatures.enumerated() {
            add(.dense(c), width: 1, at: (sparseCount + bagCount) * dim + c, userSide: f.resolvedSide == .user)
        }
        var perm: [Int] = [], placed: [Block] = []
        for (b, old) in user + other {
            placed.append(Block(source: b.source, start: perm.count, width: b.width))
            for i in 0..<b.width { perm.append(old + i) }
        }
        self.perm = perm
        userBlocks = Array(placed.prefix(user.count))
        otherBlocks = Array(placed.dropFirst(user.count))
        nu = userBlocks.reduce(0) { $0 + $1.width }
    }

    /// Throws unless `batch` was encoded by the pipeline this layout was built for.
    func check(_ batch: EncodedBatch, model: String) throws {
        guard batch.sparseIds.shape.last == sparseCount, batch.bags.count == bagCount, batch.dense.shape.last == denseCount else {
            throw RankError.model("\(model) serving: the batch was not encoded by the model's pipeline")
        }
    }

    /// W [n, n] with both axes permuted.
    func permutedSquare(_ w: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: Shape(n, n)), src = w.base
        for i in 0..<n { for j in 0..<n { out.base[i * n + j] = src[perm[i] * n + perm[j]] } }
        return out
    }

    /// W [n, cols] with its rows (the x0 axis) permuted.
    func permutedRows(_ w: Tensor) -> Tensor {
        let cols = w.shape[1], out = Tensor(uninitializedShape: Shape(n, cols))
        for i in 0..<n { (out.base + i * cols).update(from: w.base + perm[i] * cols, count: cols) }
        return out
    }

    /// A bias [n] permuted (zeros for nil).
    func permuted(_ b: Tensor?) -> Tensor {
        let out = Tensor(shape: [n])
        if let src = b?.base { for j in 0..<n { out.base[j] = src[perm[j]] } }
        return out
    }

    /// The user prefix of x0, read from row 0 of `batch` (one request's rows share it).
    func userRow(_ batch: EncodedBatch, table: UnsafePointer<Float>, into o: UnsafeMutablePointer<Float>) {
        fill(userBlocks, batch, row: 0, table, o)
    }

    /// x0 [rows, n]: the user prefix copied from `user`, the other columns gathered per row.
    func x0(_ batch: EncodedBatch, table: UnsafePointer<Float>, user: UnsafePointer<Float>, into x0: UnsafeMutablePointer<Float>) {
        for r in 0..<batch.rows {
            let o = x0 + r * n
            if nu > 0 { o.update(from: user, count: nu) }
            fill(otherBlocks, batch, row: r, table, o)
        }
    }

    /// Writes `blocks` of row `r` at their start columns of `o`.
    private func fill(_ blocks: [Block], _ batch: EncodedBatch, row r: Int, _ tab: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>) {
        for b in blocks {
            let dst = o + b.start
            switch b.source {
            case .sparse(let j):
                dst.update(from: tab + Int(batch.sparseIds.base[r * sparseCount + j]) * dim, count: dim)
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

    /// The first cross layer's input product for every row into `t` [rows, n]:
    /// x0[:, user] W[user rows] + b once per request (in `userPart`), then the other columns
    /// per row. `w` and `b` are permuted.
    func firstProduct(x0: UnsafePointer<Float>, rows: Int, user: UnsafePointer<Float>, w: Tensor, b: Tensor,
                      userPart: UnsafeMutablePointer<Float>, into t: UnsafeMutablePointer<Float>) {
        let cols = w.shape[1]
        if nu > 0 {
            Kernels.gemv(trans: true, m: nu, n: cols, a: w.base, lda: cols, x: user, y: userPart, threads: 1)
        } else {
            userPart.update(repeating: 0, count: cols)
        }
        Kernels.add(userPart, b.base, userPart, count: cols)
        if n > nu {
            Kernels.gemm(m: rows, n: cols, k: n - nu, a: x0 + nu, lda: n, b: w.base + nu * cols, ldb: cols, beta: 0, c: t, ldc: cols, threads: 1)
        } else {
            t.update(repeating: 0, count: rows * cols)
        }
        Kernels.biasActivate(.identity, t, bias: userPart, t, rows: rows, cols: cols)
    }

    /// The cross network x_{l+1} = x0 * (x_l W_l + b_l) + x_l over x0 [rows, n] (weights
    /// permuted), the first layer's user share once per request; returns x_L (x0 itself without
    /// layers, else `x`). `t` and `x` are [rows, n] scratch, `userPart` [n].
    func cross(x0: UnsafeMutablePointer<Float>, rows: Int, user: UnsafePointer<Float>, w crossW: [Tensor], b crossB: [Tensor],
               userPart: UnsafeMutablePointer<Float>, t: UnsafeMutablePointer<Float>, x: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        let count = rows * n
        var xl = x0
        for (l, w) in crossW.enumerated() {
            if l == 0 {
                firstProduct(x0: x0, rows: rows, user: user, w: w, b: crossB[0], userPart: userPart, into: t)
            } else {
                Kernels.gemm(m: rows, n: n, k: n, a: xl, lda: n, b: w.base, ldb: n, beta: 0, c: t, ldc: n, threads: 1)
                Kernels.biasActivate(.identity, t, bias: crossB[l].base, t, rows: rows, cols: n)
            }
            Kernels.mul(x0, t, t, count: count)
            Kernels.add(t, xl, x, count: count)
            xl = x
        }
        return xl
    }
}
