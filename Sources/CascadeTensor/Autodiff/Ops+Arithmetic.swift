/// Broadcasting add, subtract, multiply, divide, and scalar forms, with their backward passes.
/// Equal shapes and a trailing-suffix operand (a bias row) take SIMD paths; other broadcasts go
/// through a rank-4 index walk. Backward sums the output gradient over broadcast dimensions.
/// All O(output count).
extension Variable {
    enum BinaryKind { case add, sub, mul, div }

    static func binary(_ a: Variable, _ b: Variable, _ kind: BinaryKind, _ op: String) throws -> Variable {
        try a.sameTape(b, op)
        let tape = a.tape
        let av = a.value, bv = b.value
        let out: Tensor
        let bc: Broadcast?
        if av.shape == bv.shape {
            bc = nil
            out = Tensor(uninitializedShape: av.shape)
            switch kind {
            case .add: Kernels.add(av.base, bv.base, out.base, count: out.count)
            case .sub: Kernels.sub(av.base, bv.base, out.base, count: out.count)
            case .mul: Kernels.mul(av.base, bv.base, out.base, count: out.count)
            case .div: Kernels.div(av.base, bv.base, out.base, count: out.count)
            }
        } else {
            let b4 = try Broadcast(av.shape, bv.shape, op: op)
            bc = b4
            out = Tensor(uninitializedShape: b4.out)
            let pa = av.base, pb = bv.base, po = out.base
            switch kind {
            case .add: b4.forEach { po[$0] = pa[$1] + pb[$2] }
            case .sub: b4.forEach { po[$0] = pa[$1] - pb[$2] }
            case .mul: b4.forEach { po[$0] = pa[$1] * pb[$2] }
            case .div: b4.forEach { po[$0] = pa[$1] / pb[$2] }
            }
        }
        return tape.record(out, a, b, name: op) { tape, g in
            let needA = tape.needsGradient(a), needB = tape.needsGradient(b)
            // Per-element gradients in the output shape, then reduced to each operand's shape.
            func expand(_ t: Tensor) -> (Tensor, Bool) {
                // Returns t broadcast to the output shape (a copy unless shapes match).
                if t.shape == out.shape { return (t, false) }
                let e = Tensor(uninitializedShape: out.shape)
                let b4 = bc!
                let src = t.base, dst = e.base
                if t.shape == av.shape { b4.forEach { o, i, _ in dst[o] = src[i] } } else { b4.forEach { o, _, j in dst[o] = src[j] } }
                return (e, true)
            }
            switch kind {
            case .add:
                if needA { try tape.accumulate(a, Broadcast.reduce(g, to: av.shape)) }
                if needB { try tape.accumulate(b, Broadcast.reduce(g, to: bv.shape)) }
            case .sub:
                if needA { try tape.accumulate(a, Broadcast.reduce(g, to: av.shape)) }
                if needB {
                    let n = Tensor(uninitializedShape: g.shape)
                    Kernels.scale(g.base, by: -1, n.base, count: g.count)
                    try tape.accumulate(b, Broadcast.reduce(n, to: bv.shape), fresh: true)
                }
            case .mul:
                if needA {
                    let (be, _) = expand(bv)
                    let t = Tensor(uninitializedShape: g.shape)
                    Kernels.mul(g.base, be.base, t.base, count: g.count)
                    try tape.accumulate(a, Broadcast.reduce(t, to: av.shape), fresh: true)
                }
                if needB {
                    let (ae, _) = expand(av)
                    let t = Tensor(uninitializedShape: g.shape)
                    Kernels.mul(g.base, ae.base, t.base, count: g.count)
                    try tape.accumulate(b, Broadcast.reduce(t, to: bv.shape), fresh: true)
                }
            case .div:
                let (be, _) = expand(bv)
                // d/da = g / b; d/db = -g * out / b.
                let ga = Tensor(uninitializedShape: g.shape)
                Kernels.div(g.base, be.base, ga.base, count: g.count)
                if needB {
                    let gb = Tensor(uninitializedShape: g.shape)
                    Kernels.mul(ga.base, out.base, gb.base, count: g.count)
                    Kernels.scale(gb.base, by: -1, gb.base, count: g.count)
                    try tape.accumulate(b, Broadcast.reduce(gb, to: bv.shape), fresh: true)
                }
                if needA { try tape.accumulate(a, Broadcast.reduce(ga, to: av.shape), fresh: true) }
            }
        }
    }

    public static func + (a: Variable, b: Variable) throws -> Variable { try binary(a, b, .add, "add") }
    public static func - (a: Variable, b: Variable) throws -> Variable { try binary(a, b, .sub, "sub") }
    public static func * (a: Variable, b: Variable) throws -> Variable { try binary(a, b, .mul, "mul") }
    public static func / (a: Variable, b: Variable) throws -> Variable { try binary(a, b, .div, "div") }

    /// alpha * self + beta (scalars). O(n).
    public func affine(scale alpha: Float, shift beta: Float = 0) -> Variable {
        let out = Tensor(uninitializedShape: value.shape)
        Kernels.scale(value.base, by: alpha, out.base, count: out.count)
        if beta != 0 { Kernels.addScalar(out.base, beta, out.base, count: out.count) }
        return tape.record(out, input: self, name: "affine") { tape, g in
            let d = Tensor(uninitializedShape: g.shape)
            Kernels.scale(g.base, by: alpha, d.base, count: g.count)
            try tape.accumulate(self, d, fresh: true)
        }
    }

    public static func * (a: Variable, s: Float) -> Variable { a.affine(scale: s) }
    public static func * (s: Float, a: Variable) -> Variable { a.affine(scale: s) }
    public static func + (a: Variable, s: Float) -> Variable { a.affine(scale: 1, shift: s) }
    public static func - (a: Variable, s: Float) -> Variable { a.affine(scale: 1, shift: -s) }
    public static prefix func - (a: Variable) -> Variable { a.affine(scale: -1) }
}

extension Kernels {
    /// out = x / y. O(n).
    public static func div(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        binary(x, y, out, n) { $0 / $1 }
    }

    /// out = x + s. O(n).
    public static func addScalar(_ x: UnsafePointer<Float>, _ s: Float, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        let v = SIMD8(repeating: s)
        unary(x, out, n) { $0 + v }
    }
}
