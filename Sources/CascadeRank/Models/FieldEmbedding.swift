import CascadeTensor

/// The embedding side shared by every ranking model: one fused, sparse table of
/// `pipeline.tableRows` x `dim` (each field owns a contiguous id range, so one gather serves all
/// single-valued fields) plus a first-order weight table of `tableRows` x 1 for the linear terms.
/// Bags (multi-valued fields) are mean-pooled with a fused gather-and-pool.
///
/// Output of `fields`: [B, F, dim] for F = sparse fields + bags. O(B F dim) both ways; the
/// backward produces row gradients only (lazy optimizers touch only the rows in the batch).
public final class FieldEmbedding: ParameterContainer {
    public let dim: Int
    public let fieldCount: Int
    public let table: Parameter
    public let firstOrder: Parameter

    /// Behaviour sequences mean-pooled into extra fields (one per sequence feature), for models
    /// without an attention unit of their own (YouTube DNN's "watch vector").
    public let pooledHistories: Int

    /// `dim` 0 keeps only the first-order weights (logistic regression). `pooledHistories`
    /// sequences are appended to the fields, so `fieldCount` = fields + pooledHistories.
    public init(name: String, rows: Int, fields: Int, dim: Int, seed: UInt64, pooledHistories: Int = 0) {
        self.dim = dim
        self.pooledHistories = pooledHistories
        self.fieldCount = fields + pooledHistories
        table = Parameter("\(name).table", Tensor.normal([dim > 0 ? Swift.max(rows, 1) : 0, Swift.max(dim, 1)], std: 0.01, seed: seed), sparse: true)
        firstOrder = Parameter("\(name).first_order", Tensor(shape: [Swift.max(rows, 1), 1]), sparse: true)
    }

    public var parameters: [Parameter] { dim > 0 ? [table, firstOrder] : [firstOrder] }

    /// Field embeddings [B, F, dim].
    public func fields(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let t = tape.parameter(table)
        var parts: [Variable] = []
        let w = batch.sparseIds.shape.last
        if w > 0 && batch.sparseIds.count > 0 {
            parts.append(try t.gather(batch.sparseIds))  // [B, w, dim]
        }
        for bag in batch.bags {
            let pooled = try t.gatherSegment(bag.ids, offsets: bag.offsets, mode: .mean)  // [B, dim]
            parts.append(try pooled.reshaped([batch.rows, 1, dim]))
        }
        if pooledHistories > 0 {
            guard batch.histories.count == pooledHistories else {
                throw RankError.model("the model pools \(pooledHistories) behaviour sequences, the batch has \(batch.histories.count)")
            }
            for h in batch.histories {
                let n = h.ids.shape.last
                let steps = try t.gather(h.ids).masked(by: h.mask)            // [B, N, D], padding zeroed
                let inverse = Tensor(shape: [batch.rows, 1])
                for r in 0..<batch.rows {
                    var c: Float = 0
                    for j in 0..<n { c += h.mask.base[r * n + j] }
                    inverse.base[r] = 1 / Swift.max(c, 1)
                }
                let mean = try steps.sum(axis: 1) * tape.constant(inverse)      // [B, D]
                parts.append(try mean.reshaped([batch.rows, 1, dim]))
            }
        }
        guard !parts.isEmpty else { throw RankError.model("no embedded fields in the batch") }
        return parts.count == 1 ? parts[0] : try Variable.concat(parts, axis: 1)
    }

    /// Sum of the first-order weights of every field value: [B, 1].
    public func linearTerm(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let w = tape.parameter(firstOrder)
        var total = batch.sparseIds.shape.last > 0
            ? try w.gather(batch.sparseIds).sum(axis: 1)  // [B, fields, 1] -> [B, 1]
            : tape.constant(Tensor(shape: [batch.rows, 1]))
        for bag in batch.bags {
            total = try total + w.gatherSegment(bag.ids, offsets: bag.offsets, mode: .mean)
        }
        return total
    }
}

/// Dense numeric inputs as a variable [B, denseFields] (no gradient).
extension EncodedBatch {
    func denseInput(_ tape: Tape) -> Variable { tape.constant(dense) }
}
