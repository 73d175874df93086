import CascadeCore
/// Embedding lookups: gathering rows of a table by id, and the matching scatter-add that
/// accumulates gradients back into the table (duplicate ids add up).
extension Kernels {
    /// out[i, :] = table[ids[i], :] for i in 0..<count, rows of `cols` floats. Ids are not
    /// checked here (the `Tensor` API checks them). Parallel over ids when large.
    /// O(count cols); random access, so large tables are bound by memory latency.
    public static func gatherRows(table: UnsafePointer<Float>, cols: Int, ids: UnsafePointer<Int32>, count: Int,
                                  out: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        let t = count * cols >= 1 << 15 ? Parallel.resolve(threads) : 1
        let pt = UncheckedBox(table), pi = UncheckedBox(ids), po = UncheckedBox(out)
        Parallel.ranges(count, threads: t, grain: 256) { r in
            gatherRange(pt.value, cols, pi.value, r, po.value)
        }
    }

    static func gatherRange(_ table: UnsafePointer<Float>, _ cols: Int, _ ids: UnsafePointer<Int32>, _ r: Range<Int>,
                            _ out: UnsafeMutablePointer<Float>) {
        if cols == 16 {
            let src = UnsafeRawPointer(table), dst = UnsafeMutableRawPointer(out)
            for i in r {
                let v = src.loadUnaligned(fromByteOffset: Int(ids[i]) * 64, as: SIMD16<Float>.self)
                dst.storeBytes(of: v, toByteOffset: i * 64, as: SIMD16<Float>.self)
            }
        } else if cols % 8 == 0 {
            for i in r {
                let src = UnsafeRawPointer(table + Int(ids[i]) * cols), dst = UnsafeMutableRawPointer(out + i * cols)
                var o = 0
                while o < cols * 4 {
                    dst.storeBytes(of: src.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), toByteOffset: o, as: SIMD8<Float>.self)
                    o += 32
                }
            }
        } else {
            for i in r { (out + i * cols).update(from: table + Int(ids[i]) * cols, count: cols) }
        }
    }

    /// table[ids[i], :] += values[i, :] for i in 0..<count; duplicate ids accumulate, in order
    /// of i. With several threads, the table rows are split into one contiguous range per
    /// thread; a counting pass lists, in order, the updates falling in each range, and each
    /// thread applies only its own list. Results are deterministic and race-free.
    /// Narrow rows (cols < 64) stay on one thread: there each update is a random
    /// read-modify-write bound by memory latency, and on a 1M x 16 table two threads were
    /// measured no faster than one while the partition pass adds ~4 ns per id.
    /// O(count cols) work plus O(count) for the partition (and 4 bytes of scratch per id).
    public static func scatterAddRows(table: UnsafeMutablePointer<Float>, tableRows: Int, cols: Int,
                                      ids: UnsafePointer<Int32>, count: Int, values: UnsafePointer<Float>,
                                      threads: Int? = nil) {
        let worthSplitting = cols >= 64 && count * cols >= 1 << 16 && count <= Int(Int32.max) && tableRows > 1
        let t = worthSplitting ? Swift.min(Parallel.resolve(threads), tableRows) : 1
        if t == 1 {
            for i in 0..<count { axpyKernel(1, values + i * cols, table + Int(ids[i]) * cols, cols) }
            return
        }
        // Thread p owns rows [p * per, (p + 1) * per); the owner of a row is the number of
        // boundaries at or below it (compares, not divisions, in the per-id loops).
        let per = (tableRows + t - 1) / t
        let order = UnsafeMutablePointer<Int32>.allocate(capacity: count)
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: 2 * (t + 1))
        defer { order.deallocate(); starts.deallocate() }
        let fill = starts + (t + 1)
        starts.initialize(repeating: 0, count: 2 * (t + 1))
        @inline(__always) func owner(_ id: Int32) -> Int {
            var o = 0
            for q in 1..<t { o += Int(id) >= q * per ? 1 : 0 }
            return o
        }
        for i in 0..<count { starts[owner(ids[i]) + 1] += 1 }
        for p in 0..<t { starts[p + 1] += starts[p] }
        fill.update(from: starts, count: t + 1)
        for i in 0..<count {
            let p = owner(ids[i])
            order[fill[p]] = Int32(truncatingIfNeeded: i)
            fill[p] += 1
        }
        let bounds = UncheckedBox(UnsafePointer(starts))
        let pt = UncheckedBox(table), pi = UncheckedBox(ids), pv = UncheckedBox(values), po = UncheckedBox(order)
        Parallel.for(t) { p in
            for j in bounds.value[p]..<bounds.value[p + 1] {
                let i = Int(po.value[j])
                axpyKernel(1, pv.value + i * cols, pt.value + Int(pi.value[i]) * cols, cols)
            }
        }
    }
}

extension Reference {
    /// Row-by-row gather. O(count cols).
    public static func gatherRows(table: UnsafePointer<Float>, cols: Int, ids: [Int32]) -> [Float] {
        ids.flatMap { id in (0..<cols).map { table[Int(id) * cols + $0] } }
    }

    /// Element-by-element scatter-add into a copy of the table. O(count cols).
    public static func scatterAddRows(table: [Float], cols: Int, ids: [Int32], values: [Float]) -> [Float] {
        var t = table
        for (i, id) in ids.enumerated() { for j in 0..<cols { t[Int(id) * cols + j] += values[i * cols + j] } }
        return t
    }
}

extension Tensor {
    /// Rows of this [rows, d] table selected by `ids`: shape ids.shape + [d] (ids of rank <= 3).
    /// Throws `indexOutOfRange` for the first id outside 0..<rows. O(ids.count d).
    public func gather(_ ids: IndexTensor, threads: Int? = nil) throws -> Tensor {
        guard rank == 2 else {
            throw TensorError.invalidArgument(op: "gather", reason: "table must have rank 2, got \(shape)")
        }
        guard ids.shape.rank < Shape.maxRank else {
            throw TensorError.invalidArgument(op: "gather", reason: "ids of shape \(ids.shape) would give rank \(ids.shape.rank + 1)")
        }
        try checkIds(ids, op: "gather")
        let out = Tensor(uninitializedShape: Shape(ids.shape.dims + [shape[1]]))
        Kernels.gatherRows(table: base, cols: shape[1], ids: ids.base, count: ids.count, out: out.base, threads: threads)
        return out
    }

    /// In place: self[ids[i], :] += values[i, :] (the gradient of `gather`); duplicates add up.
    /// `values` must hold ids.count rows of length d (e.g. shape ids.shape + [d]). O(ids.count d).
    public func scatterAdd(_ ids: IndexTensor, _ values: Tensor, threads: Int? = nil) throws {
        guard rank == 2 else {
            throw TensorError.invalidArgument(op: "scatterAdd", reason: "table must have rank 2, got \(shape)")
        }
        guard values.shape.last == shape[1], values.count == ids.count * shape[1] else {
            throw TensorError.shapeMismatch(op: "scatterAdd", lhs: shape, rhs: values.shape,
                                            reason: "values need \(ids.count) rows of length \(shape[1]) for ids of shape \(ids.shape)")
        }
        try checkIds(ids, op: "scatterAdd")
        Kernels.scatterAddRows(table: base, tableRows: shape[0], cols: shape[1], ids: ids.base, count: ids.count,
                               values: values.base, threads: threads)
    }

    func checkIds(_ ids: IndexTensor, op: String) throws {
        let rows = Int32(clamping: shape[0]), p = ids.base
        for i in 0..<ids.count where p[i] < 0 || p[i] >= rows {
            throw TensorError.indexOutOfRange(op: op, index: Int(p[i]), bound: shape[0])
        }
    }
}
