import CascadeCore
import Foundation

/// How two vectors are compared.
public enum VectorMetric: String, Sendable, CaseIterable, Codable {
    /// Dot product; larger is more similar (maximum inner product search).
    case innerProduct
    /// Cosine similarity; vectors and queries are L2-normalised on the way in, then compared by
    /// dot product. Zero vectors are rejected because they have no direction.
    case cosine
    /// Squared Euclidean distance; smaller is more similar.
    case l2

    /// Stable one-byte code used in artifacts.
    var code: UInt8 {
        switch self {
        case .innerProduct: return 0
        case .cosine: return 1
        case .l2: return 2
        }
    }

    init(code: UInt8, what: String) throws(CascadeError) {
        switch code {
        case 0: self = .innerProduct
        case 1: self = .cosine
        case 2: self = .l2
        default: throw .corrupt("\(what): unknown metric code \(code)")
        }
    }

    /// Converts an internal distance (smaller is better for every metric) to the public score.
    @inline(__always)
    func score(fromDistance d: Float) -> Float { self == .l2 ? d : -d }
}

/// One search hit: the caller's id and its score.
public typealias VectorHit = (id: Int32, score: Float)

/// A searchable set of fixed-dimension Float32 vectors, each under a caller-chosen `Int32` id.
///
/// Conventions shared by every index (as in faiss, batches are row-major):
/// - `add` and `search` take `n x dimension` row-major buffers: row `i` is
///   `vectors[i * dimension ..< (i + 1) * dimension]`.
/// - **Scores.** Results come best first. For `.innerProduct` the score is the dot product and for
///   `.cosine` the cosine similarity (larger is better, results descend). For `.l2` the score is the
///   *squared* Euclidean distance (smaller is better, results ascend). Ties break toward the
///   smaller id in the exact index.
/// - **Bad input** (a buffer that is not a whole number of rows, a row with NaN or infinity, a zero
///   row under `.cosine`, an id already present or repeated in the batch, a count mismatch) throws
///   ``CascadeError/invalid(_:)`` naming what, which row and why, and leaves the index unchanged.
/// - **Threads.** `search` may run from many threads at once; `add`, `remove` and `search` are
///   serialised against each other by a readers-writer lock inside each index.
/// - **Artifacts.** `serialized()` returns a self-describing little-endian artifact (see
///   `ByteWriter`); `load(_:what:)` checks every length and reference, so a truncated or foreign
///   artifact is an error naming it, never a crash.
public protocol VectorIndex: AnyObject, Sendable {
    /// Number of components of every vector.
    var dimension: Int { get }
    /// How vectors are compared.
    var metric: VectorMetric { get }
    /// Number of live (searchable, not removed) vectors.
    var count: Int { get }
    /// Whether `remove(ids:)` is supported.
    var supportsRemoval: Bool { get }

    /// Adds `ids.count` vectors given as an `ids.count x dimension` row-major buffer.
    func add(_ vectors: [Float], ids: [Int32]) throws(CascadeError)

    /// For each row of the `n x dimension` query buffer, the `k` best live vectors, best first
    /// (see the score convention above). `threads` bounds the worker threads used across queries.
    func search(_ queries: [Float], k: Int, threads: Int) throws(CascadeError) -> [[VectorHit]]

    /// Removes the given ids; unknown ids are ignored. Returns how many were removed. Throws when
    /// the index does not support removal.
    @discardableResult
    func remove(ids: [Int32]) throws(CascadeError) -> Int

    /// The index as a versioned binary artifact.
    func serialized() -> [UInt8]

    /// Rebuilds an index from `serialized()` output. `what` names the artifact in errors.
    static func load(_ bytes: [UInt8], what: String) throws(CascadeError) -> Self
}

extension VectorIndex {
    /// Searches with every core.
    public func search(_ queries: [Float], k: Int) throws(CascadeError) -> [[VectorHit]] {
        try search(queries, k: k, threads: Parallel.coreCount)
    }

    /// Writes `serialized()` to `path` atomically.
    public func save(to path: String) throws(CascadeError) {
        do {
            try Data(serialized()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .storage("cannot write index artifact \(path): \(error.localizedDescription)")
        }
    }

    /// Loads an artifact written by `save(to:)`; errors name the file.
    public static func load(from path: String) throws(CascadeError) -> Self {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .notFound("cannot read index artifact \(path): \(error.localizedDescription)")
        }
        return try load([UInt8](data), what: path)
    }
}
