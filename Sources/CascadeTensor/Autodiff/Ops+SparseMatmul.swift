import CascadeCore
/// A compressed-sparse-row matrix of Float32 values: the operand of graph propagation
/// (normalized adjacency matrices in LightGCN and other graph models).
public struct CSRMatrix: Sendable {
    public let rows: Int
    public let cols: Int
    /// rows + 1 offsets into `indices`/`values`.
    public let offsets: [Int]
    public let indices: [Int32]
    public let values: [Float]

    /// Builds a matrix and checks its structure (offsets nondecreasing, columns in range).
    public init(rows: Int, cols: Int, offsets: [Int], indices: [Int32], values: [Float]) throws {
        guard offsets.count == rows + 1, offsets.first == 0, offsets.last == indices.count, indices.count == values.count else {
            throw TensorError.invalidArgument(op: "CSRMatrix", reason: "\(rows) rows need \(rows + 1) offsets from 0 to the entry count, and one value per index")
        }
        for r in 0..<rows where offsets[r + 1] < offsets[r] {
            throw TensorError.invalidArgument(op: "CSRMatrix", reason: "offsets decrease at row \(r)")
        }
        if let bad = indices.first(where: { $0 < 0 || Int($0) >= cols }) {
            throw TensorError.indexOutOfRange(op: "CSRMatrix", index: Int(bad), bound: cols)
        }
        self.rows = rows
        self.cols = cols
        self.offsets = offsets
        self.indices = indices
        self.values = values
    }

    /// out[rows, d] = self x dense[cols, d]. O(nnz d).
    public func multiply(_ dense: UnsafePointer<Float>, d: Int, into out: UnsafeMutablePointer<Float>, threads: Int? = nil) {
        let po = UncheckedBox(out), pd = UncheckedBox(dense)
        offsets.withUnsafeBufferPointer { off in indices.withUnsafeBufferPointer { idx in values.withUnsafeBufferPointer { val in
            let o = UncheckedBox(off.baseAddress!), ix = UncheckedBox(idx.baseAddress!), v = UncheckedBox(val.baseAddress!)
            Parallel.ranges(rows, threads: rows * d >= 1 << 15 ? threads : 1, grain: 64) { range in
                for r in range {
                    let dst = po.value + r * d
                    dst.update(repeating: 0, count: d)
                    for e in o.value[r]..<o.value[r + 1] {
                        Kernels.axpy(alpha: v.value[e], x: pd.value + Int(ix.value[e]) * d, y: dst, count: d)
                    }
                }
            }
        } } }
    }

    /// out[cols, d] += self^T x dense[rows, d] (the backward of `multiply`). One thread: rows
    /// scatter into shared output rows. O(nnz d).
    public func multiplyTransposedAdding(_ dense: UnsafePointer<Float>, d: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            for e in offsets[r]..<offsets[r + 1] {
                Kernels.axpy(alpha: values[e], x: dense + r * d, y: out + Int(indices[e]) * d, count: d)
            }
        }
    }
}

extension Variable {
    /// m x self for a sparse m [rows, cols] and self [cols, d]: shape [rows, d]. The graph
    /// propagation step of LightGCN-style models. Backward: dself = m^T g. O(nnz d) both ways.
    public func sparseProduct(_ m: CSRMatrix) throws -> Variable {
        guard value.rank == 2, value.shape[0] == m.cols else {
            throw TensorError.shapeMismatch(op: "sparseProduct", lhs: Shape(m.rows, m.cols), rhs: value.shape,
                                            reason: "dense operand must be [\(m.cols), d]")
        }
        let d = value.shape[1]
        let out = Tensor(uninitializedShape: Shape(m.rows, d))
        m.multiply(value.base, d: d, into: out.base, threads: tape.threads)
        return tape.record(out, input: self, name: "sparseProduct") { tape, g in
            let dx = Tensor(shape: self.value.shape)
            m.multiplyTransposedAdding(g.base, d: d, into: dx.base)
            try tape.accumulate(self, dx, fresh: true)
        }
    }
}
