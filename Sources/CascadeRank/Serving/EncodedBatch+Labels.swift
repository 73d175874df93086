import CascadeTensor

extension EncodedBatch {
    /// The same rows with `labels` [rows, tasks] (e.g. several task columns joined after encoding).
    public func replacingLabels(_ labels: Tensor?) throws -> EncodedBatch {
        if let l = labels, l.rank != 2 || l.shape[0] != rows {
            throw RankError.data("labels must be [\(rows), tasks], got \(l.shape)")
        }
        return EncodedBatch(rows: rows, sparseIds: sparseIds, bags: bags, dense: dense, labels: labels, histories: histories, positions: positions)
    }
}
