/// Eight-lane math for the activation, softmax and selection kernels, so those loops stay in
/// AVX2 registers instead of calling scalar libm once per element.
///
/// The standard library's generic SIMD helpers (`pointwiseMax`, `clamped`, `.max()`, mask
/// `any`, float-to-int conversion) currently compile to per-lane scalar loops, so everything
/// here is written with patterns that lower to single vector instructions: arithmetic,
/// `rounded`, integer shifts, bit casts, and `replacing(with:where:)` fed directly by one
/// comparison (which becomes vmaxps/vminps/vblendvps). `exp` is `@_transparent` because
/// `@inline(__always)` alone left it as an out-of-line call inside the element loops.
enum VectorMath {
    /// Lane-wise maximum; if `b` is NaN in a lane, `a` is kept (so a NaN never replaces a number).
    @inline(__always)
    static func max(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: a .< b) }

    /// Lane-wise maximum of 16 lanes, same NaN rule as `max`.
    @inline(__always)
    static func max(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: a .< b) }

    /// Largest lane (lanes compared pairwise; NaN lanes of the second half are skipped).
    @inline(__always)
    static func horizontalMax(_ v: SIMD8<Float>) -> Float {
        let q = v.lowHalf.replacing(with: v.highHalf, where: v.lowHalf .< v.highHalf)
        let a = q[0] < q[2] ? q[2] : q[0], b = q[1] < q[3] ? q[3] : q[1]
        return a < b ? b : a
    }

    /// Largest lane of 16.
    @inline(__always)
    static func horizontalMax(_ v: SIMD16<Float>) -> Float { horizontalMax(max(v.lowHalf, v.highHalf)) }

    /// |x| by clearing the sign bit.
    @inline(__always)
    static func abs(_ x: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    }

    /// e^x, relative error below 2e-7 for x in [-87, 88]. Inputs above ~88.37 saturate at
    /// about 2.4e38 instead of +inf; inputs below -87.3 give 0. O(1) per lane.
    @_transparent
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var xc = x.replacing(with: 88.376_26, where: x .> 88.376_26)
        xc = xc.replacing(with: -87.336_54, where: xc .< -87.336_54)
        // x = n ln2 + r with |r| <= ln2 / 2; ln2 split in two parts for an exact product.
        // Polynomial steps use addingProduct so they compile to FMA (Swift does not contract a * b + c).
        let n = (xc * 1.442_695_04).rounded(.toNearestOrEven)
        var r = xc.addingProduct(n, -0.693_359_375)
        r = r.addingProduct(n, 2.121_944_4e-4)
        var p = SIMD8<Float>(repeating: 1.398_199_95e-3).addingProduct(r, 1.987_569_15e-4)
        p = SIMD8<Float>(repeating: 8.333_451_9e-3).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 4.166_579_59e-2).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 1.666_666_55e-1).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 5.000_000_12e-1).addingProduct(p, r)
        p = (r + 1).addingProduct(p, r * r)
        // 2^n built in the exponent field: adding 1.5 * 2^23 puts the integer n in the low bits.
        let t = unsafeBitCast(n + 12_582_912, to: SIMD8<Int32>.self)
        let scale = unsafeBitCast((t &- 0x4B40_0000 &+ 127) &<< 23, to: SIMD8<Float>.self)
        let result = p * scale
        return result.replacing(with: 0, where: x .< -87.336_54)
    }

    /// 1 / (1 + e^-x), absolute error below 3e-7.
    @inline(__always)
    static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
        1 / (1 + exp(-x))
    }

    /// Hyperbolic tangent, absolute error below 3e-7 (odd polynomial near 0, exp elsewhere).
    @inline(__always)
    static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let ax = abs(x)
        let t = exp(-2 * ax)
        var y = (1 - t) / (1 + t)
        let x2 = ax * ax
        let small = ax * (1 + x2 * (-1.0 / 3 + x2 * (2.0 / 15)))
        y = y.replacing(with: small, where: ax .< 0.004)
        // Restore the sign of x.
        let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(unsafeBitCast(y, to: SIMD8<UInt32>.self) | sign, to: SIMD8<Float>.self)
    }
}
