/// Embedding lookups on the tape. The backward of a gather is a scatter-add of the output
/// gradient into the table's rows; for a sparse `Parameter` (an embedding table) the rows are
/// handed to the parameter as a `RowGradient` instead, so no dense table-sized gradient exists.
extension Variable {
    /// Rows of this [rows, d] table selected by `ids`: shape ids.shape + [d]. Ids outside
    /// 0..<rows throw, naming the op, the id and the table size. O(ids.count d) both ways.
    public func gather(_ ids: IndexTensor) throws -> Variable {
        let table = self
        let out = try table.value.gather(ids, threads: tape.threads)
        return tape.record(out, input: table, name: "gather") { tape, g in
            if let p = tape.parameter(of: table), p.sparse {
                try p.addRowGradient(ids: ids, values: g)
            } else if let buf = tape.gradientBuffer(for: table) {
                Kernels.scatterAddRows(table: buf.base, tableRows: table.value.shape[0], cols: table.value.shape[1],
                                       ids: ids.base, count: ids.count, values: g.base, threads: tape.threads)
            }
        }
    }
}
