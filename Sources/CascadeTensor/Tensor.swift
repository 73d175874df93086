import Foundation

/// A dense Float32 tensor: contiguous, row-major, rank 1 to 4.
///
/// **Storage semantics: shared, with explicit copies.** A `Tensor` is a small value (shape,
/// offset, reference to a `TensorStorage`). Copying the value, `reshaped`, `rows(_:)` and
/// `row(_:)` all produce views of the *same* memory in O(1): a write through any of them is
/// seen by all. Call `copy()` for an independent tensor. This is the behaviour training needs
/// (optimizers update parameters in place, gradients accumulate into preallocated buffers) and
/// keeps every view free of hidden copies. Element writes use `nonmutating set`.
///
/// Operations that produce new values (`matmul`, `relu()`, ...) allocate a fresh result; the
/// `into:`/in-place variants write into existing tensors. Every public op checks shapes and
/// throws `TensorError` naming the op and both shapes. The kernels behind the ops work on raw
/// pointers (`Kernels`), so a differentiation tape can record ops at this level and express
/// each backward pass with the same kernels (GEMM with transposes, scatter-add for gather, ...).
public struct Tensor: Sendable, CustomStringConvertible {
    public let shape: Shape
    public let storage: TensorStorage<Float>
    /// Element offset of this view's first element within `storage`.
    public let offset: Int

    /// Creates a view; `offset + shape.count` must lie within the storage.
    public init(storage: TensorStorage<Float>, offset: Int = 0, shape: Shape) {
        precondition(offset >= 0 && offset + shape.count <= storage.count,
                     "view \(shape) at offset \(offset) exceeds storage of \(storage.count) elements")
        self.storage = storage
        self.offset = offset
        self.shape = shape
    }

    /// A tensor of `shape` filled with `value`. O(count).
    public init(shape: Shape, repeating value: Float = 0) {
        self.init(storage: TensorStorage(count: shape.count, repeating: value), shape: shape)
    }

    /// A tensor of the given dimensions filled with `value`; stops with a message on a bad shape.
    public init(shape dims: [Int], repeating value: Float = 0) {
        self.init(shape: Shape(dims), repeating: value)
    }

    /// A tensor whose elements are not initialized; every element must be written before it
    /// is read. O(1).
    public init(uninitializedShape shape: Shape) {
        self.init(storage: TensorStorage(uninitializedCount: shape.count), shape: shape)
    }

    /// A tensor holding `values` in row-major order. Throws when the count does not match.
    public init(shape dims: [Int], values: [Float]) throws {
        let s = try Shape(validating: dims)
        guard values.count == s.count else {
            throw TensorError.invalidArgument(
                op: "Tensor(shape:values:)", reason: "shape \(s) needs \(s.count) values, got \(values.count)")
        }
        self.init(uninitializedShape: s)
        let p = storage.pointer
        values.withUnsafeBufferPointer { if let src = $0.baseAddress { p.update(from: src, count: values.count) } }
    }

    /// A rank-1 tensor of `values`.
    public init(_ values: [Float]) {
        try! self.init(shape: [values.count], values: values)
    }

    /// A rank-2 tensor from equal-length rows; stops with a message on ragged rows.
    public init(rows: [[Float]]) {
        let n = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == n }, "Tensor(rows:): rows have different lengths")
        try! self.init(shape: [rows.count, n], values: rows.flatMap { $0 })
    }

    /// Uniform values in `range`, deterministic for a seed. O(count).
    public static func uniform(_ dims: [Int], in range: ClosedRange<Float> = -1...1, seed: UInt64) -> Tensor {
        let t = Tensor(uninitializedShape: Shape(dims))
        var rng = TensorRandom(seed: seed)
        let lo = range.lowerBound, width = range.upperBound - range.lowerBound
        let p = t.base
        for i in 0..<t.count { p[i] = lo + width * rng.nextUnitFloat() }
        return t
    }

    /// Normally distributed values (Box-Muller), deterministic for a seed. O(count).
    public static func normal(_ dims: [Int], mean: Float = 0, std: Float = 1, seed: UInt64) -> Tensor {
        let t = Tensor(uninitializedShape: Shape(dims))
        var rng = TensorRandom(seed: seed)
        let p = t.base
        var i = 0
        while i < t.count {
            let u1 = Swift.max(rng.nextUnitFloat(), 1e-12), u2 = rng.nextUnitFloat()
            let r = (-2 * Foundation.log(u1)).squareRoot()
            p[i] = mean + std * r * Foundation.cos(2 * .pi * u2)
            if i + 1 < t.count { p[i + 1] = mean + std * r * Foundation.sin(2 * .pi * u2) }
            i += 2
        }
        return t
    }

    // MARK: Properties

    public var count: Int { shape.count }
    public var rank: Int { shape.rank }
    /// Pointer to the first element of this view. Valid only while this tensor (or another view
    /// of the same storage) is still used afterwards; when that is unclear, use
    /// `withUnsafeBufferPointer`, which keeps the storage alive for the closure.
    @inlinable public var base: UnsafeMutablePointer<Float> { storage.pointer + offset }

    /// True when both tensors view the same storage.
    public func sharesStorage(with other: Tensor) -> Bool { storage === other.storage }

    // MARK: Element access

    /// Element at a full index (one component per dimension). Indices are checked with a message
    /// naming the shape in debug builds; release builds of this module (-Ounchecked) skip it.
    public subscript(indices: Int...) -> Float {
        get { base[flatIndex(indices)] }
        nonmutating set { base[flatIndex(indices)] = newValue }
    }

    func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == rank, "index \(indices) has \(indices.count) components for tensor of shape \(shape)")
        var flat = 0
        for (axis, i) in indices.enumerated() {
            precondition(i >= 0 && i < shape[axis], "index \(indices) out of range for shape \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }

    /// Row-major copy of the elements. O(count).
    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Calls `body` with the elements; the pointer must not escape.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: base, count: count)) }
    }

    /// Calls `body` with writable elements; the pointer must not escape.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeMutableBufferPointer(start: base, count: count)) }
    }

    // MARK: Views and copies

    /// A view with new dimensions and the same elements, sharing storage. One dimension may be
    /// -1 and is then inferred. Throws `TensorError.invalidReshape` naming both shapes. O(1).
    public func reshaped(_ dims: [Int]) throws -> Tensor {
        var resolved = dims
        let unknown = dims.indices.filter { dims[$0] == -1 }
        if unknown.count > 1 { throw TensorError.invalidReshape(from: shape, to: dims) }
        if let u = unknown.first {
            let known = dims.enumerated().filter { $0.offset != u }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else { throw TensorError.invalidReshape(from: shape, to: dims) }
            resolved[u] = count / known
        }
        guard let s = try? Shape(validating: resolved), s.count == count else {
            throw TensorError.invalidReshape(from: shape, to: dims)
        }
        return Tensor(storage: storage, offset: offset, shape: s)
    }

    /// A view of rows `range` along the first dimension, sharing storage. O(1).
    public func rows(_ range: Range<Int>) throws -> Tensor {
        guard range.lowerBound >= 0, range.upperBound <= shape[0] else {
            throw TensorError.invalidArgument(
                op: "rows", reason: "range \(range.lowerBound)..<\(range.upperBound) is outside 0..<\(shape[0]) of shape \(shape)")
        }
        let stride = shape.stride(0)
        return Tensor(storage: storage, offset: offset + range.lowerBound * stride, shape: shape.replacingFirst(range.count))
    }

    /// A view of entry `i` along the first dimension with that dimension dropped (rank - 1),
    /// sharing storage. Rank-1 tensors throw: use the subscript. O(1).
    public func row(_ i: Int) throws -> Tensor {
        guard rank >= 2 else {
            throw TensorError.invalidArgument(op: "row", reason: "tensor of shape \(shape) has no rows to view; use the subscript")
        }
        guard i >= 0, i < shape[0] else { throw TensorError.indexOutOfRange(op: "row", index: i, bound: shape[0]) }
        let dims = Array(shape.dims.dropFirst())
        return Tensor(storage: storage, offset: offset + i * shape.stride(0), shape: Shape(dims))
    }

    /// An independent tensor with the same shape and values. O(count).
    public func copy() -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.base.update(from: base, count: count)
        return t
    }

    /// Copies `source`'s values into this tensor (same element count required; shapes may differ
    /// only in how the elements are grouped). O(count).
    public func assign(_ source: Tensor) throws {
        guard source.count == count else {
            throw TensorError.shapeMismatch(op: "assign", lhs: shape, rhs: source.shape, reason: "element counts differ")
        }
        base.update(from: source.base, count: count)
    }

    /// Sets every element to `value`. O(count).
    public func fill(_ value: Float) { base.update(repeating: value, count: count) }

    public var description: String {
        let shown = UnsafeBufferPointer(start: base, count: Swift.min(count, 8)).map { "\($0)" }.joined(separator: ", ")
        return "Tensor\(shape)[\(shown)\(count > 8 ? ", ..." : "")]"
    }
}
