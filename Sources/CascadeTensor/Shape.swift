/// The extents of a tensor: rank 1 to 4, each dimension >= 0, stored inline (no allocation).
/// Layout is always contiguous row-major, so the strides follow from the dimensions.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
    /// Highest rank a tensor may have.
    public static let maxRank = 4

    public let rank: Int
    var d0: Int, d1: Int, d2: Int, d3: Int

    /// Builds a shape, stopping the program with a message naming the dimensions when the rank
    /// is not 1...4 or a dimension is negative. Use `init(validating:)` to get an error instead.
    public init(_ dims: [Int]) {
        do { try self.init(validating: dims) } catch { fatalError("\(error)") }
    }

    /// Variadic form of `init(_:)`: `Shape(32, 64)`.
    public init(_ dims: Int...) { self.init(dims) }

    /// Builds a shape or throws `TensorError.invalidArgument` naming the bad dimensions.
    public init(validating dims: [Int]) throws {
        let text = "[" + dims.map(String.init).joined(separator: ", ") + "]"
        guard (1...Self.maxRank).contains(dims.count) else {
            throw TensorError.invalidArgument(op: "shape", reason: "rank of \(text) must be 1...\(Self.maxRank)")
        }
        guard dims.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: "shape", reason: "negative dimension in \(text)")
        }
        rank = dims.count
        d0 = dims[0]
        d1 = dims.count > 1 ? dims[1] : 1
        d2 = dims.count > 2 ? dims[2] : 1
        d3 = dims.count > 3 ? dims[3] : 1
    }

    /// The dimensions as an array (allocates; meant for display and tests).
    public var dims: [Int] { (0..<rank).map { self[$0] } }

    /// Extent of dimension `i` (0-based, must be < rank).
    public subscript(i: Int) -> Int {
        precondition(i >= 0 && i < rank, "dimension \(i) out of range for \(self)")
        switch i {
        case 0: return d0
        case 1: return d1
        case 2: return d2
        default: return d3
        }
    }

    /// Number of elements.
    public var count: Int { d0 * d1 * d2 * d3 }

    /// Extent of the last dimension: the length of one contiguous row.
    public var last: Int { self[rank - 1] }

    /// Product of all dimensions but the last: the number of rows when the tensor is seen as a
    /// matrix of `rows x last`.
    public var rows: Int {
        var p = 1
        for i in 0..<(rank - 1) { p *= self[i] }
        return p
    }

    /// Row-major stride of dimension `i` in elements.
    public func stride(_ i: Int) -> Int {
        var s = 1
        var j = rank - 1
        while j > i { s *= self[j]; j -= 1 }
        return s
    }

    /// The same shape with the first dimension replaced.
    public func replacingFirst(_ n: Int) -> Shape {
        var s = self
        s.d0 = n
        return s
    }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
