/// NumPy broadcasting for rank <= 4: shapes are aligned on their last dimension; a dimension of
/// 1 (or a missing leading one) stretches to the other operand's extent.
struct Broadcast {
    /// Output extents padded to rank 4 (leading ones).
    let dims: (Int, Int, Int, Int)
    let out: Shape
    /// Element strides of each operand in the padded output index space (0 where broadcast).
    let strideA: (Int, Int, Int, Int)
    let strideB: (Int, Int, Int, Int)

    init(_ a: Shape, _ b: Shape, op: String) throws {
        let rank = Swift.max(a.rank, b.rank)
        var outDims = [Int](repeating: 1, count: rank)
        for k in 0..<rank {
            let da = k < rank - a.rank ? 1 : a[k - (rank - a.rank)]
            let db = k < rank - b.rank ? 1 : b[k - (rank - b.rank)]
            guard da == db || da == 1 || db == 1 else {
                throw TensorError.shapeMismatch(op: op, lhs: a, rhs: b,
                                                reason: "dimension \(k) differs (\(da) vs \(db)) and neither is 1")
            }
            outDims[k] = da == 1 ? db : da
        }
        out = Shape(outDims)
        let padded = [Int](repeating: 1, count: 4 - rank) + outDims
        dims = (padded[0], padded[1], padded[2], padded[3])
        strideA = Broadcast.strides(a, paddedTo: padded)
        strideB = Broadcast.strides(b, paddedTo: padded)
    }

    /// Strides of `s` in a rank-4 index space of extents `padded` (0 where `s` has extent 1).
    static func strides(_ s: Shape, paddedTo padded: [Int]) -> (Int, Int, Int, Int) {
        var st = [Int](repeating: 0, count: 4)
        var running = 1
        for k in stride(from: 3, through: 0, by: -1) {
            let j = k - (4 - s.rank)
            let extent = j >= 0 ? s[j] : 1
            st[k] = extent == 1 ? 0 : running
            running *= extent
        }
        _ = padded
        return (st[0], st[1], st[2], st[3])
    }

    /// Calls body(outIndex, aIndex, bIndex) for every output element in row-major order.
    @inline(__always)
    func forEach(_ body: (Int, Int, Int) -> Void) {
        var o = 0
        for i0 in 0..<dims.0 {
            for i1 in 0..<dims.1 {
                for i2 in 0..<dims.2 {
                    let ba = i0 * strideA.0 + i1 * strideA.1 + i2 * strideA.2
                    let bb = i0 * strideB.0 + i1 * strideB.1 + i2 * strideB.2
                    for i3 in 0..<dims.3 {
                        body(o, ba + i3 * strideA.3, bb + i3 * strideB.3)
                        o += 1
                    }
                }
            }
        }
    }

    /// Sums `g` (of the broadcast output shape) down to `shape`, one of the operand shapes.
    static func reduce(_ g: Tensor, to shape: Shape) -> Tensor {
        if g.shape == shape { return g }
        let out = Tensor(shape: shape)
        // Fast path: `shape` is a suffix of g's shape (bias-like): add rows.
        if shape.count > 0, g.count % shape.count == 0, isSuffix(shape, of: g.shape) {
            let rows = g.count / shape.count, n = shape.count
            for r in 0..<rows { Kernels.add(out.base, g.base + r * n, out.base, count: n) }
            return out
        }
        let padded = [Int](repeating: 1, count: 4 - g.rank) + g.shape.dims
        let st = strides(shape, paddedTo: padded)
        let src = g.base, dst = out.base
        var o = 0
        for i0 in 0..<padded[0] {
            for i1 in 0..<padded[1] {
                for i2 in 0..<padded[2] {
                    let b = i0 * st.0 + i1 * st.1 + i2 * st.2
                    for i3 in 0..<padded[3] { dst[b + i3 * st.3] += src[o]; o += 1 }
                }
            }
        }
        return out
    }

    /// True when `s` equals the trailing dimensions of `of` (leading ones of `s` ignored).
    static func isSuffix(_ s: Shape, of big: Shape) -> Bool {
        var dims = s.dims
        while dims.count > 1 && dims.first == 1 { dims.removeFirst() }
        guard dims.count <= big.rank else { return false }
        return Array(big.dims.suffix(dims.count)) == dims
    }
}
