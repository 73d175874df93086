/// Sums and means on the tape, over everything or over one axis, and reshape (a free view).
extension Variable {
    /// Sum of all elements, shape [1]. Backward broadcasts g. O(n).
    public func sum() -> Variable {
        let out = Tensor([value.sum()])
        let shape = value.shape
        return tape.record(out, input: self, name: "sum") { tape, g in
            try tape.accumulate(self, Tensor(shape: shape, repeating: g.base[0]), fresh: true)
        }
    }

    /// Mean of all elements, shape [1]. O(n).
    public func mean() -> Variable {
        let n = Float(Swift.max(value.count, 1))
        let out = Tensor([value.sum() / n])
        let shape = value.shape
        return tape.record(out, input: self, name: "mean") { tape, g in
            try tape.accumulate(self, Tensor(shape: shape, repeating: g.base[0] / n), fresh: true)
        }
    }

    /// Sum over `axis` (any axis of a rank <= 4 tensor); with `keepDims` the axis stays with
    /// extent 1, otherwise it is dropped (a rank-1 input gives shape [1]). O(n).
    public func sum(axis: Int, keepDims: Bool = false) throws -> Variable {
        try reduceAxis(axis, keepDims: keepDims, scale: 1, name: "sum(axis: \(axis))")
    }

    /// Mean over `axis`. O(n).
    public func mean(axis: Int, keepDims: Bool = false) throws -> Variable {
        guard axis >= 0, axis < value.rank else {
            throw TensorError.invalidArgument(op: "mean(axis:)", reason: "axis \(axis) out of range for \(value.shape)")
        }
        return try reduceAxis(axis, keepDims: keepDims, scale: 1 / Float(Swift.max(value.shape[axis], 1)),
                              name: "mean(axis: \(axis))")
    }

    private func reduceAxis(_ axis: Int, keepDims: Bool, scale: Float, name: String) throws -> Variable {
        let s = value.shape
        guard axis >= 0, axis < s.rank else {
            throw TensorError.invalidArgument(op: name, reason: "axis \(axis) out of range for \(s)")
        }
        // View as [outer, extent, inner].
        let extent = s[axis]
        let inner = s.stride(axis)
        let outer = s.count / Swift.max(extent * inner, 1)
        var dims = s.dims
        if keepDims { dims[axis] = 1 } else { dims.remove(at: axis) }
        if dims.isEmpty { dims = [1] }
        let out = Tensor(shape: dims)
        let x = value.base, o = out.base
        for a in 0..<outer {
            for e in 0..<extent {
                Kernels.add(o + a * inner, x + (a * extent + e) * inner, o + a * inner, count: inner)
            }
        }
        if scale != 1 { Kernels.scale(o, by: scale, o, count: out.count) }
        return tape.record(out, input: self, name: name) { tape, g in
            let d = Tensor(uninitializedShape: s)
            for a in 0..<outer {
                for e in 0..<extent {
                    Kernels.scale(g.base + a * inner, by: scale, d.base + (a * extent + e) * inner, count: inner)
                }
            }
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// The same elements with new dimensions (one may be -1). A view: no copy. O(1).
    public func reshaped(_ dims: [Int]) throws -> Variable {
        let out = try value.reshaped(dims)
        return tape.record(out, input: self, name: "reshape") { tape, g in
            try tape.accumulate(self, g)
        }
    }
}
