/// Segment pooling: rows of a [N, D] input reduced into S segments given by CSR offsets
/// (S + 1 nondecreasing offsets from 0 to N; segment s is rows offsets[s]..<offsets[s + 1]).
/// This is how multi-valued features (a bag of tags per example) become one vector per example.
/// Empty segments give zero rows. `gatherSegment` fuses the embedding lookup with the pooling
/// (an EmbeddingBag): it never materializes the [N, D] gathered rows in the forward pass.
public enum SegmentReduction: String, Sendable {
    case sum, mean
}

extension Variable {
    static func checkOffsets(_ offsets: [Int], rows: Int, op: String) throws {
        guard let first = offsets.first, first == 0, offsets.last == rows else {
            throw TensorError.invalidArgument(op: op, reason: "offsets must start at 0 and end at \(rows) (the row count), got \(offsets.prefix(4))...\(offsets.last.map(String.init) ?? "none")")
        }
        for s in 1..<offsets.count where offsets[s] < offsets[s - 1] {
            throw TensorError.invalidArgument(op: op, reason: "offsets decrease at segment \(s - 1) (\(offsets[s - 1]) > \(offsets[s]))")
        }
    }

    /// Per-segment scale: 1 for sums, 1 / length for means (0 for empty segments).
    static func segmentScales(_ offsets: [Int], _ mode: SegmentReduction) -> [Float] {
        (0..<(offsets.count - 1)).map { s in
            let n = offsets[s + 1] - offsets[s]
            return mode == .sum || n == 0 ? 1 : 1 / Float(n)
        }
    }

    /// Sum of rows in each segment of self [N, D]: shape [S, D]. O(N D) both ways.
    public func segmentSum(offsets: [Int]) throws -> Variable { try segmentReduce(offsets: offsets, mode: .sum) }

    /// Mean of rows in each segment (zeros for empty ones): shape [S, D]. O(N D) both ways.
    public func segmentMean(offsets: [Int]) throws -> Variable { try segmentReduce(offsets: offsets, mode: .mean) }

    /// Sum or mean of the rows of self [N, D] in each of the S = offsets.count - 1 segments.
    public func segmentReduce(offsets: [Int], mode: SegmentReduction) throws -> Variable {
        guard value.rank == 2 else {
            throw TensorError.invalidArgument(op: "segment\(mode == .sum ? "Sum" : "Mean")", reason: "input must be [N, D], got \(value.shape)")
        }
        let op = "segment\(mode == .sum ? "Sum" : "Mean")"
        let d = value.shape[1]
        try Variable.checkOffsets(offsets, rows: value.shape[0], op: op)
        let segments = offsets.count - 1
        let scales = Variable.segmentScales(offsets, mode)
        let out = Tensor(shape: [segments, d])
        for s in 0..<segments {
            let o = out.base + s * d
            for r in offsets[s]..<offsets[s + 1] { Kernels.add(o, value.base + r * d, o, count: d) }
            if scales[s] != 1 { Kernels.scale(o, by: scales[s], o, count: d) }
        }
        return tape.record(out, input: self, name: op) { tape, g in
            let dx = Tensor(uninitializedShape: self.value.shape)
            for s in 0..<segments {
                for r in offsets[s]..<offsets[s + 1] {
                    Kernels.scale(g.base + s * d, by: scales[s], dx.base + r * d, count: d)
                }
            }
            try tape.accumulate(self, dx, fresh: true)
        }
    }

    /// Fused lookup and pooling on this [rows, D] table: segment s of the output is the sum
    /// (or mean) of table rows ids[offsets[s]..<offsets[s + 1]]; shape [S, D]. Forward
    /// O(ids.count D) with no [N, D] intermediate. Backward: a sparse `Parameter` table gets a
    /// `RowGradient` (row i is the pooled gradient scaled for id i); any other table gets the
    /// rows scatter-added into its gradient. Ids outside the table throw, naming the id.
    public func gatherSegment(_ ids: IndexTensor, offsets: [Int], mode: SegmentReduction = .sum) throws -> Variable {
        let table = self
        guard table.value.rank == 2 else {
            throw TensorError.invalidArgument(op: "gatherSegment", reason: "table must be [rows, D], got \(table.value.shape)")
        }
        try table.value.checkIds(ids, op: "gatherSegment")
        try Variable.checkOffsets(offsets, rows: ids.count, op: "gatherSegment")
        let d = table.value.shape[1], segments = offsets.count - 1
        let scales = Variable.segmentScales(offsets, mode)
        let out = Tensor(shape: [segments, d])
        let tp = table.value.base, ip = ids.base
        for s in 0..<segments {
            let o = out.base + s * d
            for i in offsets[s]..<offsets[s + 1] { Kernels.add(o, tp + Int(ip[i]) * d, o, count: d) }
            if scales[s] != 1 { Kernels.scale(o, by: scales[s], o, count: d) }
        }
        return tape.record(out, input: table, name: "gatherSegment(\(mode.rawValue))") { tape, g in
            if let p = tape.parameter(of: table), p.sparse {
                let rowsGrad = Tensor(uninitializedShape: Shape(ids.count, d))
                for s in 0..<segments {
                    for i in offsets[s]..<offsets[s + 1] {
                        Kernels.scale(g.base + s * d, by: scales[s], rowsGrad.base + i * d, count: d)
                    }
                }
                try p.addRowGradient(ids: ids, values: rowsGrad)
            } else if let buf = tape.gradientBuffer(for: table) {
                let ip = ids.base
                for s in 0..<segments {
                    for i in offsets[s]..<offsets[s + 1] {
                        Kernels.axpy(alpha: scales[s], x: g.base + s * d, y: buf.base + Int(ip[i]) * d, count: d)
                    }
                }
            }
        }
    }
}
