#if DEBUG
import Foundation
#endif

/// Distance kernels over padded rows.
///
/// Every index stores vectors padded with zeros to a multiple of 16 components (`paddedDimension`),
/// so the kernels run whole `SIMD16<Float>` steps (two AVX2 registers) with no scalar tail; the
/// zero padding adds nothing to a dot product or a squared difference. Products use
/// `addingProduct`, which lowers to FMA (Swift does not contract `a * b + c` on its own).
/// O(d) per call.
enum DistanceKernels {
    /// Rounds a dimension up to the padded row length.
    @inline(__always)
    static func paddedDimension(_ d: Int) -> Int { (d + 15) & ~15 }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Sum of the 16 lanes (pairwise halves, which lower to vector adds).
    @inline(__always)
    static func sum(_ v: SIMD16<Float>) -> Float {
        let h = v.lowHalf + v.highHalf
        let q = h.lowHalf + h.highHalf
        return (q[0] + q[2]) + (q[1] + q[3])
    }

    /// Dot product of two padded rows of `dp` components.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dp: Int) -> Float {
        #if DEBUG
        if unoptimized { return scalarDot(a, b, dp) }
        #endif
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= dp {
            acc0 = acc0.addingProduct(load(a, i), load(b, i))
            acc1 = acc1.addingProduct(load(a, i + 16), load(b, i + 16))
            i += 32
        }
        if i < dp { acc0 = acc0.addingProduct(load(a, i), load(b, i)) }
        return sum(acc0 + acc1)
    }

    /// Squared Euclidean distance of two padded rows of `dp` components.
    @inline(__always)
    static func l2sq(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dp: Int) -> Float {
        #if DEBUG
        if unoptimized { return scalarL2sq(a, b, dp) }
        #endif
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= dp {
            let t0 = load(a, i) - load(b, i)
            let t1 = load(a, i + 16) - load(b, i + 16)
            acc0 = acc0.addingProduct(t0, t0)
            acc1 = acc1.addingProduct(t1, t1)
            i += 32
        }
        if i < dp {
            let t = load(a, i) - load(b, i)
            acc0 = acc0.addingProduct(t, t)
        }
        return sum(acc0 + acc1)
    }

    /// Dot products of four query rows against one base row, sharing the base loads.
    @inline(__always)
    static func dot4(_ q: UnsafePointer<Float>, _ qStride: Int, _ b: UnsafePointer<Float>, _ dp: Int)
        -> SIMD4<Float>
    {
        #if DEBUG
        if unoptimized {
            return SIMD4(scalarDot(q, b, dp), scalarDot(q + qStride, b, dp), scalarDot(q + 2 * qStride, b, dp),
                         scalarDot(q + 3 * qStride, b, dp))
        }
        #endif
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var i = 0
        while i < dp {
            let x = load(b, i)
            a0 = a0.addingProduct(load(q, i), x)
            a1 = a1.addingProduct(load(q, qStride + i), x)
            a2 = a2.addingProduct(load(q, 2 * qStride + i), x)
            a3 = a3.addingProduct(load(q, 3 * qStride + i), x)
            i += 16
        }
        return SIMD4(sum(a0), sum(a1), sum(a2), sum(a3))
    }

    /// Squared distances of four query rows to one base row, sharing the base loads.
    @inline(__always)
    static func l2sq4(_ q: UnsafePointer<Float>, _ qStride: Int, _ b: UnsafePointer<Float>, _ dp: Int)
        -> SIMD4<Float>
    {
        #if DEBUG
        if unoptimized {
            return SIMD4(scalarL2sq(q, b, dp), scalarL2sq(q + qStride, b, dp), scalarL2sq(q + 2 * qStride, b, dp),
                         scalarL2sq(q + 3 * qStride, b, dp))
        }
        #endif
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var i = 0
        while i < dp {
            let x = load(b, i)
            let t0 = load(q, i) - x, t1 = load(q, qStride + i) - x
            let t2 = load(q, 2 * qStride + i) - x, t3 = load(q, 3 * qStride + i) - x
            a0 = a0.addingProduct(t0, t0)
            a1 = a1.addingProduct(t1, t1)
            a2 = a2.addingProduct(t2, t2)
            a3 = a3.addingProduct(t3, t3)
            i += 16
        }
        return SIMD4(sum(a0), sum(a1), sum(a2), sum(a3))
    }
}

#if DEBUG
extension DistanceKernels {
    /// Unoptimised builds run the generic SIMD types lane by lane through witness tables, about
    /// 50x slower than plain loops; debug builds therefore use these scalar loops unless
    /// `CASCADE_ANN_SIMD=1` asks for the SIMD path (release builds always use it).
    static let unoptimized = ProcessInfo.processInfo.environment["CASCADE_ANN_SIMD"] != "1"

    // `while` loops and plain arithmetic: in -Onone, range iteration and generic SIMD
    // operations are out-of-line generic calls, while Int/Float operators are transparent.
    static func scalarDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dp: Int) -> Float {
        var s0: Float = 0, s1: Float = 0
        var i = 0
        while i < dp {
            s0 += a.advanced(by: i).pointee * b.advanced(by: i).pointee
            s1 += a.advanced(by: i + 1).pointee * b.advanced(by: i + 1).pointee
            i += 2
        }
        return s0 + s1
    }

    static func scalarL2sq(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dp: Int) -> Float {
        var s0: Float = 0, s1: Float = 0
        var i = 0
        while i < dp {
            let t0 = a.advanced(by: i).pointee - b.advanced(by: i).pointee
            let t1 = a.advanced(by: i + 1).pointee - b.advanced(by: i + 1).pointee
            s0 += t0 * t0
            s1 += t1 * t1
            i += 2
        }
        return s0 + s1
    }
}
#endif

/// A distance where smaller is better, chosen at compile time so the search loops specialise.
/// `.innerProduct` and `.cosine` use the negated dot product, `.l2` the squared distance.
protocol DistanceSpace: SendableMetatype {
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dp: Int) -> Float
    static func distance4(_ q: UnsafePointer<Float>, _ qStride: Int, _ b: UnsafePointer<Float>, _ dp: Int)
        -> SIMD4<Float>
}

enum L2Space: DistanceSpace {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dp: Int) -> Float {
        DistanceKernels.l2sq(a, b, dp)
    }
    @inline(__always)
    static func distance4(_ q: UnsafePointer<Float>, _ qStride: Int, _ b: UnsafePointer<Float>, _ dp: Int)
        -> SIMD4<Float>
    {
        DistanceKernels.l2sq4(q, qStride, b, dp)
    }
}

enum NegativeDotSpace: DistanceSpace {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dp: Int) -> Float {
        -DistanceKernels.dot(a, b, dp)
    }
    @inline(__always)
    static func distance4(_ q: UnsafePointer<Float>, _ qStride: Int, _ b: UnsafePointer<Float>, _ dp: Int)
        -> SIMD4<Float>
    {
        -DistanceKernels.dot4(q, qStride, b, dp)
    }
}
