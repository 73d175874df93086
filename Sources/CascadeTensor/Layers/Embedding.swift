/// Embedding tables: one learned row per id (Embedding) or one pooled row per bag of ids
/// (EmbeddingBag). Tables start N(0, 1 / dim) and are `sparse` parameters by default: a
/// backward pass hands the optimizer only the looked-up rows (`Parameter.rowGrads`).
///
/// **Hashing.** With `hashed: true`, arbitrary ids (Int64 or Int32, any range, e.g. raw
/// feature values) are mapped into the `rows` buckets by Fibonacci hashing with Lemire's
/// range reduction: `h = id * 0x9E3779B97F4A7C15 (mod 2^64)`, `bucket = (h * rows) >> 64`
/// (the high half of a 128-bit product). It is fixed, stateless and platform-independent, so
/// saved models keep their buckets; distinct ids may share a bucket (the hashing trick,
/// Weinberger et al. 2009). Without hashing, ids must lie in 0..<rows (checked).
public final class Embedding: ParameterContainer {
    public let name: String
    /// The table [rows, dim], named `<name>.table`.
    public let table: Parameter
    public let hashed: Bool
    public var rows: Int { table.shape[0] }
    public var dim: Int { table.shape[1] }

    public init(name: String, rows: Int, dim: Int, hashed: Bool = false, sparse: Bool = true, seed: UInt64 = 1) {
        precondition(rows > 0 && dim > 0, "Embedding \(name): rows and dim must be positive")
        self.name = name
        self.hashed = hashed
        table = Parameter("\(name).table", Embedding.initialTable(rows, dim, Initializer.seed(seed, name)), sparse: sparse)
    }

    public var parameters: [Parameter] { [table] }

    static func initialTable(_ rows: Int, _ dim: Int, _ seed: UInt64) -> Tensor {
        Tensor.normal([rows, dim], std: 1 / Float(dim).squareRoot(), seed: seed)
    }

    /// Bucket of `id` among `rows`: high half of (id * 0x9E3779B97F4A7C15 mod 2^64) * rows. O(1).
    @inlinable public static func bucket(_ id: Int64, rows: Int) -> Int32 {
        let h = UInt64(bitPattern: id) &* 0x9E37_79B9_7F4A_7C15
        return Int32(truncatingIfNeeded: h.multipliedFullWidth(by: UInt64(rows)).high)
    }

    /// Bucketed ids of the given shape (default [ids.count]). O(n).
    public static func bucketIds(_ ids: [Int64], rows: Int, shape: [Int]? = nil) throws -> IndexTensor {
        try IndexTensor(shape: shape ?? [ids.count], ids: ids.map { bucket($0, rows: rows) })
    }

    /// The ids as used for lookup: bucketed when hashed, unchanged otherwise.
    func resolve(_ ids: IndexTensor) -> IndexTensor {
        guard hashed else { return ids }
        let out = IndexTensor(shape: ids.shape)
        for i in 0..<ids.count { out.base[i] = Embedding.bucket(Int64(ids.base[i]), rows: rows) }
        return out
    }

    /// Rows for `ids` (rank <= 3): shape ids.shape + [dim]. O(ids.count dim) both ways.
    public func callAsFunction(_ ids: IndexTensor, tape: Tape) throws -> Variable {
        do {
            return try tape.parameter(table).gather(resolve(ids))
        } catch TensorError.indexOutOfRange(_, let index, let bound) {
            throw TensorError.indexOutOfRange(op: "Embedding \(name)", index: index, bound: bound)
        }
    }

    /// Rows for 64-bit raw ids, always hashed into the buckets: shape [ids.count, dim].
    public func callAsFunction(hashing ids: [Int64], tape: Tape) throws -> Variable {
        try tape.parameter(table).gather(Embedding.bucketIds(ids, rows: rows))
    }
}

/// An embedding table whose lookups are pooled per bag (Paszke et al., PyTorch EmbeddingBag):
/// a multi-valued feature (tags of an item, recent categories of a user) becomes one [dim]
/// vector per example by the sum or mean of its ids' rows. Bags are CSR: `offsets` has B + 1
/// entries, bag b is ids[offsets[b]..<offsets[b + 1]]; an empty bag gives zeros. Uses the fused
/// `gatherSegment`, so no [ids.count, dim] intermediate exists. O(ids.count dim) both ways.
public final class EmbeddingBag: ParameterContainer {
    public let name: String
    public let table: Parameter
    public let mode: SegmentReduction
    public let hashed: Bool
    public var rows: Int { table.shape[0] }
    public var dim: Int { table.shape[1] }

    public init(name: String, rows: Int, dim: Int, mode: SegmentReduction = .sum, hashed: Bool = false,
                sparse: Bool = true, seed: UInt64 = 1) {
        precondition(rows > 0 && dim > 0, "EmbeddingBag \(name): rows and dim must be positive")
        self.name = name
        self.mode = mode
        self.hashed = hashed
        table = Parameter("\(name).table", Embedding.initialTable(rows, dim, Initializer.seed(seed, name)), sparse: sparse)
    }

    public var parameters: [Parameter] { [table] }

    /// Pooled rows [B, dim] for B = offsets.count - 1 bags.
    public func callAsFunction(_ ids: IndexTensor, offsets: [Int], tape: Tape) throws -> Variable {
        var resolved = ids
        if hashed {
            resolved = IndexTensor(shape: ids.shape)
            for i in 0..<ids.count { resolved.base[i] = Embedding.bucket(Int64(ids.base[i]), rows: rows) }
        }
        do {
            return try tape.parameter(table).gatherSegment(resolved, offsets: offsets, mode: mode)
        } catch TensorError.indexOutOfRange(_, let index, let bound) {
            throw TensorError.indexOutOfRange(op: "EmbeddingBag \(name)", index: index, bound: bound)
        } catch TensorError.invalidArgument(_, let reason) {
            throw TensorError.invalidArgument(op: "EmbeddingBag \(name)", reason: reason)
        }
    }
}
