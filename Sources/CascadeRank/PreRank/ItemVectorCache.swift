import CascadeTensor

/// Item-tower outputs of a ``ThreeTower`` cached by item key, so a pre-rank request computes the
/// item tower only for items it has not seen. Vectors are stored contiguously; a request's
/// candidate matrix is assembled from them (O(N vectorDim) copies) and fed to
/// ``ThreeTower/score(user:items:context:scratch:into:)``. When `capacity` items are stored the
/// cache is emptied before adding more (item vectors are cheap to recompute). Call ``removeAll()``
/// after the model's weights change. Not thread-safe: one per serving thread, or guard it.
public final class ItemVectorCache {
    public let model: ThreeTower
    public let capacity: Int
    private var index: [String: Int] = [:]
    private var store: [Float] = []
    /// Item-tower evaluations since creation (misses).
    public private(set) var computed = 0

    public init(model: ThreeTower, capacity: Int = 1_000_000) {
        self.model = model
        self.capacity = Swift.max(capacity, 1)
    }

    public var count: Int { index.count }

    public func removeAll() {
        index.removeAll(keepingCapacity: true)
        store.removeAll(keepingCapacity: true)
    }

    /// Item vectors [N, vectorDim] of the candidates: `keys[n]` identifies the item of row n of
    /// `batch` (only its item-side features are read, and only for missing keys).
    public func vectors(keys: [String], batch: EncodedBatch) throws -> Tensor {
        guard keys.count == batch.rows else { throw RankError.data("item vector cache: \(keys.count) keys for \(batch.rows) rows") }
        let d = model.config.vectorDim
        var missing: [Int] = []
        var seen = Set<String>()
        for (r, k) in keys.enumerated() where index[k] == nil && seen.insert(k).inserted { missing.append(r) }
        if !missing.isEmpty {
            if index.count + missing.count > capacity { removeAll() }
            let fresh = model.itemVectors(missing.count == batch.rows ? batch : batch.rows(missing))
            for (j, r) in missing.enumerated() {
                index[keys[r]] = store.count / d
                store.append(contentsOf: UnsafeBufferPointer(start: fresh.base + j * d, count: d))
            }
            computed += missing.count
        }
        let out = Tensor(uninitializedShape: Shape(keys.count, d))
        store.withUnsafeBufferPointer { s in
            for (n, k) in keys.enumerated() { (out.base + n * d).update(from: s.baseAddress! + index[k]! * d, count: d) }
        }
        return out
    }
}
