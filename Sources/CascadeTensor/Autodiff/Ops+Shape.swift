/// Shape ops: concatenation, split, slice, axis permutation and broadcasting to a shape.
/// Each is a copy with O(n) forward and backward; slices scatter their gradient straight into
/// the input's gradient buffer, so splitting into k pieces costs O(n), not O(k n).
extension Variable {
    /// Views a shape as [outer, extent, inner] around `axis`.
    static func around(_ s: Shape, _ axis: Int) -> (outer: Int, extent: Int, inner: Int) {
        let inner = s.stride(axis), extent = s[axis]
        return (s.count / Swift.max(extent * inner, 1), extent, inner)
    }

    /// Joins `parts` along `axis`; all other dimensions must agree. O(n).
    public static func concat(_ parts: [Variable], axis: Int) throws -> Variable {
        guard let first = parts.first else {
            throw TensorError.invalidArgument(op: "concat", reason: "needs at least one input")
        }
        let s0 = first.value.shape
        guard axis >= 0, axis < s0.rank else {
            throw TensorError.invalidArgument(op: "concat", reason: "axis \(axis) out of range for \(s0)")
        }
        var total = 0
        for p in parts {
            try first.sameTape(p, "concat")
            let s = p.value.shape
            var same = s.rank == s0.rank
            if same { for k in 0..<s.rank where k != axis && s[k] != s0[k] { same = false } }
            guard same else {
                throw TensorError.shapeMismatch(op: "concat(axis: \(axis))", lhs: s0, rhs: s,
                                                reason: "all dimensions but the concatenation axis must agree")
            }
            total += s[axis]
        }
        var dims = s0.dims
        dims[axis] = total
        let out = Tensor(uninitializedShape: Shape(dims))
        let outer = around(out.shape, axis).outer, inner = s0.stride(axis)
        var start = 0
        var starts: [Int] = []
        for p in parts {
            let e = p.value.shape[axis]
            starts.append(start)
            for o in 0..<outer {
                (out.base + (o * total + start) * inner).update(from: p.value.base + o * e * inner, count: e * inner)
            }
            start += e
        }
        return first.tape.record(out, inputs: parts, name: "concat") { tape, g in
            for (p, st) in zip(parts, starts) where tape.needsGradient(p) {
                let e = p.value.shape[axis]
                let d = Tensor(uninitializedShape: p.value.shape)
                for o in 0..<outer {
                    (d.base + o * e * inner).update(from: g.base + (o * total + st) * inner, count: e * inner)
                }
                try tape.accumulate(p, d, fresh: true)
            }
        }
    }

    /// Entries `range` along `axis` (a copy). O(output) forward and backward.
    public func slice(axis: Int, _ range: Range<Int>) throws -> Variable {
        let s = value.shape
        guard axis >= 0, axis < s.rank else {
            throw TensorError.invalidArgument(op: "slice", reason: "axis \(axis) out of range for \(s)")
        }
        guard range.lowerBound >= 0, range.upperBound <= s[axis] else {
            throw TensorError.invalidArgument(op: "slice",
                                              reason: "range \(range.lowerBound)..<\(range.upperBound) outside 0..<\(s[axis]) on axis \(axis) of \(s)")
        }
        let (outer, extent, inner) = Variable.around(s, axis)
        var dims = s.dims
        dims[axis] = range.count
        let out = Tensor(uninitializedShape: Shape(dims))
        let n = range.count * inner, lo = range.lowerBound
        for o in 0..<outer {
            (out.base + o * n).update(from: value.base + (o * extent + lo) * inner, count: n)
        }
        return tape.record(out, input: self, name: "slice") { tape, g in
            guard let buf = tape.gradientBuffer(for: self) else { return }
            for o in 0..<outer {
                Kernels.add(buf.base + (o * extent + lo) * inner, g.base + o * n, buf.base + (o * extent + lo) * inner, count: n)
            }
        }
    }

    /// Consecutive pieces of the given sizes along `axis`; the sizes must add up to the extent.
    public func split(_ sizes: [Int], axis: Int) throws -> [Variable] {
        guard axis >= 0, axis < value.rank else {
            throw TensorError.invalidArgument(op: "split", reason: "axis \(axis) out of range for \(value.shape)")
        }
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == value.shape[axis] else {
            throw TensorError.invalidArgument(op: "split", reason: "sizes \(sizes) must add up to \(value.shape[axis]) (axis \(axis) of \(value.shape))")
        }
        var start = 0
        return try sizes.map { n in
            defer { start += n }
            return try slice(axis: axis, start..<(start + n))
        }
    }

    /// Swaps two axes. O(n).
    public func transposed(_ a: Int, _ b: Int) throws -> Variable {
        guard a >= 0, b >= 0, a < value.rank, b < value.rank else {
            throw TensorError.invalidArgument(op: "transposed", reason: "axes \(a), \(b) out of range for \(value.shape)")
        }
        var perm = Array(0..<value.rank)
        perm.swapAt(a, b)
        return try permuted(perm)
    }

    /// Reorders the axes: output axis k is input axis perm[k] (rank <= 4). O(n).
    public func permuted(_ perm: [Int]) throws -> Variable {
        let s = value.shape
        guard perm.count == s.rank, Set(perm) == Set(0..<s.rank) else {
            throw TensorError.invalidArgument(op: "permuted", reason: "\(perm) is not a permutation of the axes of \(s)")
        }
        if perm == Array(0..<s.rank) { return self }
        let out = Tensor(uninitializedShape: Shape(perm.map { s[$0] }))
        Variable.permute(value, perm, into: out)
        var inverse = perm
        for (k, p) in perm.enumerated() { inverse[p] = k }
        return tape.record(out, input: self, name: "permute") { tape, g in
            let d = Tensor(uninitializedShape: s)
            Variable.permute(g, inverse, into: d)
            try tape.accumulate(self, d, fresh: true)
        }
    }

    /// Writes x with axes reordered by perm into `out` (shape already permuted).
    static func permute(_ x: Tensor, _ perm: [Int], into out: Tensor) {
        let s = x.shape, pad = 4 - s.rank
        // Extents of the output and, for each output axis, the input stride it walks.
        var ext = [Int](repeating: 1, count: 4), st = [Int](repeating: 0, count: 4)
        for k in 0..<s.rank { ext[pad + k] = s[perm[k]]; st[pad + k] = s.stride(perm[k]) }
        let src = x.base, dst = out.base
        var o = 0
        for i0 in 0..<ext[0] {
            for i1 in 0..<ext[1] {
                for i2 in 0..<ext[2] {
                    let b = i0 * st[0] + i1 * st[1] + i2 * st[2]
                    if st[3] == 1 {
                        (dst + o).update(from: src + b, count: ext[3])
                        o += ext[3]
                    } else {
                        for i3 in 0..<ext[3] { dst[o] = src[b + i3 * st[3]]; o += 1 }
                    }
                }
            }
        }
    }

    /// Broadcasts to `dims` (NumPy rules: extents of 1 or missing leading ones stretch).
    /// Backward sums over the stretched dimensions. O(output).
    public func expanded(to dims: [Int]) throws -> Variable {
        let target = try Shape(validating: dims)
        let s = value.shape
        if s == target { return self }
        let bc = try Broadcast(s, target, op: "expanded(to:)")
        guard bc.out == target else {
            throw TensorError.shapeMismatch(op: "expanded(to:)", lhs: s, rhs: target, reason: "cannot broadcast to the target")
        }
        let out = Tensor(uninitializedShape: target)
        let src = value.base, dst = out.base
        bc.forEach { o, i, _ in dst[o] = src[i] }
        return tape.record(out, input: self, name: "expand") { tape, g in
            try tape.accumulate(self, Broadcast.reduce(g, to: s))
        }
    }
}
