/// A trainable tensor: weights, biases, embedding tables. Optimizers update `value` in place;
/// tapes add gradients to it.
///
/// Dense parameters collect their gradient in `grad` (allocated on first use, then reused).
/// Embedding tables declared `sparse` receive, from gathers, only the rows that were looked up
/// (`rowGrads`): a 1M-row table never gets a dense gradient, and the lazy optimizers touch only
/// those rows. A sparse table used by a dense op (a full product against all rows) still gets a
/// dense `grad`; optimizers apply both.
public final class Parameter: @unchecked Sendable {
    /// Unique within a model: the key in saved files.
    public let name: String
    /// Current value. Its shape never changes; optimizers write into it.
    public let value: Tensor
    /// Gradients flow into this parameter only when true (frozen layers set it false).
    public var trainable: Bool
    /// Embedding table whose gathers produce row gradients.
    public let sparse: Bool
    /// Dense gradient, nil until a dense gradient arrives.
    public private(set) var grad: Tensor?
    /// Row gradients from gathers of a sparse table, in arrival order (ids may repeat).
    public private(set) var rowGrads: [RowGradient] = []

    public init(_ name: String, _ value: Tensor, trainable: Bool = true, sparse: Bool = false) {
        self.name = name
        self.value = value
        self.trainable = trainable
        self.sparse = sparse
    }

    public var shape: Shape { value.shape }

    /// True when a dense or row gradient is pending.
    public var hasGradient: Bool { grad != nil || !rowGrads.isEmpty }

    /// Adds a dense gradient (same element count as the value).
    public func addGradient(_ g: Tensor) throws {
        guard g.count == value.count else {
            throw TensorError.shapeMismatch(op: "gradient of \(name)", lhs: value.shape, rhs: g.shape, reason: "element counts differ")
        }
        if let existing = grad {
            Kernels.add(existing.base, g.base, existing.base, count: g.count)
        } else {
            let d = spare ?? Tensor(uninitializedShape: value.shape)
            spare = nil
            d.base.update(from: g.base, count: g.count)
            grad = d
        }
    }

    /// Appends a row gradient: `values` row i is the gradient of table row `ids[i]`.
    public func addRowGradient(ids: IndexTensor, values: Tensor) throws {
        let cols = value.shape.last
        guard values.count == ids.count * cols else {
            throw TensorError.shapeMismatch(op: "row gradient of \(name)", lhs: value.shape, rhs: values.shape,
                                            reason: "\(ids.count) ids need \(ids.count) rows of \(cols)")
        }
        rowGrads.append(RowGradient(ids: ids, values: values))
    }

    /// Clears pending gradients, keeping the dense buffer (zeroed) for reuse.
    public func zeroGradient() {
        if let g = grad { g.fill(0); grad = nil; spare = g }
        rowGrads.removeAll(keepingCapacity: true)
    }
    private var spare: Tensor?

    /// The row gradients merged per distinct row, ids ascending: sums duplicates so a lazy
    /// optimizer sees each row once. O(n log n) for n gathered rows, O(n cols) to sum.
    public func coalescedRowGradient() -> RowGradient? {
        if rowGrads.isEmpty { return nil }
        let cols = value.shape.last
        var entries: [(id: Int32, src: UnsafeMutablePointer<Float>)] = []
        entries.reserveCapacity(rowGrads.reduce(0) { $0 + $1.ids.count })
        for rg in rowGrads {
            for i in 0..<rg.ids.count { entries.append((rg.ids.base[i], rg.values.base + i * cols)) }
        }
        entries.sort { $0.id < $1.id }
        var unique = 0
        for i in entries.indices where i == 0 || entries[i].id != entries[i - 1].id { unique += 1 }
        let ids = IndexTensor(shape: Shape(unique))
        let out = Tensor(shape: [unique, cols])
        var row = -1
        for i in entries.indices {
            if i == 0 || entries[i].id != entries[i - 1].id { row += 1; ids.base[row] = entries[i].id }
            Kernels.axpy(alpha: 1, x: entries[i].src, y: out.base + row * cols, count: cols)
        }
        return withExtendedLifetime(rowGrads) { RowGradient(ids: ids, values: out) }
    }

    /// The dense gradient including row gradients scattered in (tests and small tables).
    public func denseGradient() -> Tensor {
        let d = Tensor(shape: value.shape)
        if let g = grad { d.base.update(from: g.base, count: g.count) }
        let cols = value.shape.last
        for rg in rowGrads {
            Kernels.scatterAddRows(table: d.base, tableRows: value.shape.rows, cols: cols,
                                   ids: rg.ids.base, count: rg.ids.count, values: rg.values.base, threads: 1)
        }
        return d
    }
}

/// Gradient rows of an embedding table: `values` is [ids.count, cols].
public struct RowGradient {
    public let ids: IndexTensor
    public let values: Tensor
}

/// A named collection of parameters: what optimizers step and what files store.
public protocol ParameterContainer: AnyObject {
    /// Every parameter, in a stable order, names unique.
    var parameters: [Parameter] { get }
}

extension ParameterContainer {
    /// Clears every parameter's pending gradient.
    public func zeroGradients() { for p in parameters { p.zeroGradient() } }
    /// Number of scalar weights.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}
