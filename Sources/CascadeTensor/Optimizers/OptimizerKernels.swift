/// SIMD building blocks of the optimizer updates: per-element update loops over raw pointers,
/// eight lanes at a time, with the tail padded into a vector (so each update formula is written
/// once, for SIMD8), plus the gradient checks and clipping. All O(n), no allocation.
enum OptimizerKernels {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
    }

    @inline(__always)
    static func loadTail(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int) -> V {
        var v = V()
        for j in i..<n { v[j - i] = p[j] }
        return v
    }

    @inline(__always)
    static func storeTail(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
        for j in i..<n { p[j] = v[j - i] }
    }

    /// w, g: f(&w, g) over n elements.
    @inline(__always)
    static func apply(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ n: Int,
                      _ f: (inout V, V) -> Void) {
        var i = 0
        while i + 8 <= n {
            var wv = load(w, i)
            f(&wv, load(g, i))
            store(wv, w, i)
            i += 8
        }
        if i < n {
            var wv = loadTail(w, i, n)
            f(&wv, loadTail(g, i, n))
            storeTail(wv, w, i, n)
        }
    }

    /// w, g and one state slot s: f(&w, g, &s).
    @inline(__always)
    static func apply(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>,
                      _ n: Int, _ f: (inout V, V, inout V) -> Void) {
        var i = 0
        while i + 8 <= n {
            var wv = load(w, i), sv = load(s, i)
            f(&wv, load(g, i), &sv)
            store(wv, w, i)
            store(sv, s, i)
            i += 8
        }
        if i < n {
            var wv = loadTail(w, i, n), sv = loadTail(s, i, n)
            f(&wv, loadTail(g, i, n), &sv)
            storeTail(wv, w, i, n)
            storeTail(sv, s, i, n)
        }
    }

    /// w, g and two state slots: f(&w, g, &s0, &s1).
    @inline(__always)
    static func apply(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s0: UnsafeMutablePointer<Float>,
                      _ s1: UnsafeMutablePointer<Float>, _ n: Int, _ f: (inout V, V, inout V, inout V) -> Void) {
        var i = 0
        while i + 8 <= n {
            var wv = load(w, i), a = load(s0, i), b = load(s1, i)
            f(&wv, load(g, i), &a, &b)
            store(wv, w, i)
            store(a, s0, i)
            store(b, s1, i)
            i += 8
        }
        if i < n {
            var wv = loadTail(w, i, n), a = loadTail(s0, i, n), b = loadTail(s1, i, n)
            f(&wv, loadTail(g, i, n), &a, &b)
            storeTail(wv, w, i, n)
            storeTail(a, s0, i, n)
            storeTail(b, s1, i, n)
        }
    }

    /// Index of the first NaN or infinite element, nil when all are finite. One vector pass
    /// (x * 0 is NaN exactly for non-finite x), then a scalar search only on failure.
    static func firstNonFinite(_ x: UnsafePointer<Float>, _ n: Int) -> Int? {
        var acc = V(), i = 0
        while i + 8 <= n {
            acc += load(x, i) * 0
            i += 8
        }
        var bad = false
        for j in 0..<8 where acc[j] != 0 { bad = true }
        for j in i..<n where !x[j].isFinite { bad = true }
        guard bad else { return nil }
        for j in 0..<n where !x[j].isFinite { return j }
        return nil
    }

    /// Sum of squares, accumulated in Float per 8-lane chunk and returned as Double. O(n).
    static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var acc = V(), i = 0
        var total = 0.0
        while i + 8 <= n {
            let v = load(x, i)
            acc = acc.addingProduct(v, v)
            i += 8
            if i & 4095 == 0 { total += Double(acc.sum()); acc = V() }  // bound Float rounding
        }
        total += Double(acc.sum())
        for j in i..<n { total += Double(x[j]) * Double(x[j]) }
        return total
    }

    /// Clamps every element to [-limit, limit] in place.
    static func clamp(_ x: UnsafeMutablePointer<Float>, _ n: Int, limit: Float) {
        let hi = V(repeating: limit), lo = V(repeating: -limit)
        Kernels.unary(UnsafePointer(x), x, n) { v in
            let a = v.replacing(with: hi, where: v .> hi)
            return a.replacing(with: lo, where: a .< lo)
        }
    }

    /// Lane-wise square root of x >= 0 in vector instructions (the standard library's SIMD
    /// `squareRoot()` runs lane by lane with a libm fallback). Reciprocal square root from the
    /// exponent-halving estimate, two Newton steps, then one FMA-corrected step on the root:
    /// within 1 ulp for normal inputs, exact for 0 and +inf; subnormal inputs (below 1.2e-38)
    /// are flushed to 0. O(1) per lane. `@_transparent`: `@inline(__always)` left it an
    /// out-of-line call inside the update loops.
    @_transparent
    static func sqrt(_ x: V) -> V {
        let tiny = V(repeating: Float.leastNormalMagnitude)
        let xc = x.replacing(with: tiny, where: x .< tiny)
        var y = unsafeBitCast(0x5F37_5A86 &- (unsafeBitCast(xc, to: SIMD8<UInt32>.self) &>> 1), to: V.self)
        let h = xc * 0.5
        y = y * (1.5 - h * y * y)
        y = y * (1.5 - h * y * y)
        var s = xc * y
        let r = xc.addingProduct(-s, s)  // x - s^2 with one rounding
        s = s.addingProduct(r, y * 0.5)
        s = s.replacing(with: 0, where: x .< tiny)
        return s.replacing(with: x, where: x .== .infinity)
    }

    /// Lane-wise |x| by clearing the sign bit.
    @inline(__always)
    static func abs(_ x: V) -> V { VectorMath.abs(x) }

    /// Lane-wise `magnitude` carrying the sign of `sign` (copysign).
    @inline(__always)
    static func copySign(_ magnitude: V, _ sign: V) -> V {
        let m = unsafeBitCast(magnitude, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF
        let s = unsafeBitCast(sign, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(m | s, to: V.self)
    }
}
