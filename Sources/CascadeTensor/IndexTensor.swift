/// Int32 ids (item/user/feature ids for embedding lookups), contiguous row-major, rank 1 to 4.
/// Same storage semantics as `Tensor`: views share memory, `copy()` makes an independent one.
public struct IndexTensor: Sendable, CustomStringConvertible {
    public let shape: Shape
    public let storage: TensorStorage<Int32>
    public let offset: Int

    /// Ids of a rank-1 tensor.
    public init(_ ids: [Int32]) {
        try! self.init(shape: [ids.count], ids: ids)
    }

    /// Ids converted from `Int`; stops with a message if one does not fit in Int32.
    public init(_ ids: [Int]) {
        self.init(ids.map { id -> Int32 in
            guard let v = Int32(exactly: id) else { fatalError("IndexTensor: id \(id) does not fit in Int32") }
            return v
        })
    }

    /// Ids in row-major order for `dims`; throws when the count does not match.
    public init(shape dims: [Int], ids: [Int32]) throws {
        let s = try Shape(validating: dims)
        guard ids.count == s.count else {
            throw TensorError.invalidArgument(op: "IndexTensor(shape:ids:)", reason: "shape \(s) needs \(s.count) ids, got \(ids.count)")
        }
        self.init(storage: TensorStorage(uninitializedCount: s.count), offset: 0, shape: s)
        let p = base
        ids.withUnsafeBufferPointer { if let src = $0.baseAddress { p.update(from: src, count: ids.count) } }
    }

    /// Zero ids of `shape`.
    public init(shape: Shape) {
        self.init(storage: TensorStorage(count: shape.count, repeating: 0), offset: 0, shape: shape)
    }

    public init(storage: TensorStorage<Int32>, offset: Int, shape: Shape) {
        precondition(offset >= 0 && offset + shape.count <= storage.count,
                     "view \(shape) at offset \(offset) exceeds storage of \(storage.count) elements")
        self.storage = storage
        self.offset = offset
        self.shape = shape
    }

    public var count: Int { shape.count }
    @inlinable public var base: UnsafeMutablePointer<Int32> { storage.pointer + offset }

    /// Id at a flat (row-major) position.
    public subscript(i: Int) -> Int32 {
        get { precondition(i >= 0 && i < count, "index \(i) out of range 0..<\(count)"); return base[i] }
        nonmutating set { precondition(i >= 0 && i < count, "index \(i) out of range 0..<\(count)"); base[i] = newValue }
    }

    public func toArray() -> [Int32] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// A view with new dimensions, sharing storage. O(1).
    public func reshaped(_ dims: [Int]) throws -> IndexTensor {
        guard let s = try? Shape(validating: dims), s.count == count else {
            throw TensorError.invalidReshape(from: shape, to: dims)
        }
        return IndexTensor(storage: storage, offset: offset, shape: s)
    }

    /// An independent copy. O(count).
    public func copy() -> IndexTensor {
        let t = IndexTensor(storage: TensorStorage(uninitializedCount: count), offset: 0, shape: shape)
        t.base.update(from: base, count: count)
        return t
    }

    public var description: String {
        let shown = UnsafeBufferPointer(start: base, count: Swift.min(count, 8)).map { "\($0)" }.joined(separator: ", ")
        return "IndexTensor\(shape)[\(shown)\(count > 8 ? ", ..." : "")]"
    }
}
