/// A sparse matrix in compressed sparse row form: the entries of row `r` are
/// `columns[offsets[r]..<offsets[r+1]]` with `values` alongside, columns ascending within a row.
public struct SparseMatrix: Sendable, Equatable {
    public let rowCount: Int
    public let columnCount: Int
    public let offsets: [Int]
    public let columns: [Int32]
    public let values: [Float]

    public init(rowCount: Int, columnCount: Int, offsets: [Int], columns: [Int32], values: [Float]) {
        precondition(offsets.count == rowCount + 1 && columns.count == values.count && offsets.last == columns.count,
                     "SparseMatrix: offsets/columns/values disagree")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.offsets = offsets
        self.columns = columns
        self.values = values
    }

    public var nonZeroCount: Int { columns.count }

    /// Number of entries in row `r`.
    @inlinable public func rowLength(_ r: Int) -> Int { offsets[r + 1] - offsets[r] }

    /// The range of row `r` in `columns` and `values`.
    @inlinable public func rowRange(_ r: Int) -> Range<Int> { offsets[r]..<offsets[r + 1] }

    /// The value at (r, c), 0 when absent. O(log row length).
    public func value(row r: Int, column c: Int32) -> Float {
        var lo = offsets[r], hi = offsets[r + 1]
        while lo < hi {
            let mid = (lo + hi) / 2
            if columns[mid] < c { lo = mid + 1 } else { hi = mid }
        }
        return lo < offsets[r + 1] && columns[lo] == c ? values[lo] : 0
    }

    /// The transpose, by counting sort: O(nnz + rows + columns). Columns stay ascending.
    public func transposed() -> SparseMatrix {
        var tOffsets = [Int](repeating: 0, count: columnCount + 1)
        for c in columns { tOffsets[Int(c) + 1] += 1 }
        for c in 0..<columnCount { tOffsets[c + 1] += tOffsets[c] }
        var fill = tOffsets
        var tColumns = [Int32](repeating: 0, count: nonZeroCount)
        var tValues = [Float](repeating: 0, count: nonZeroCount)
        for r in 0..<rowCount {
            for j in rowRange(r) {
                let c = Int(columns[j])
                let p = fill[c]
                tColumns[p] = Int32(r)
                tValues[p] = values[j]
                fill[c] = p + 1
            }
        }
        return SparseMatrix(rowCount: columnCount, columnCount: rowCount, offsets: tOffsets, columns: tColumns, values: tValues)
    }
}
