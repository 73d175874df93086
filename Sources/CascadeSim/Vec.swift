import Foundation

/// Vector helpers over raw rows of `d` floats.
enum Vec {
    /// Writes a uniformly random direction of norm `scale` to `out[0..<d]`.
    @inline(__always)
    static func randomDirection(_ out: UnsafeMutablePointer<Float>, _ d: Int, scale: Float, _ rng: inout Xoshiro256) {
        var n: Float = 0
        for k in 0..<d { let x = rng.normalFloat(); out[k] = x; n += x * x }
        let f = n > 0 ? scale / n.squareRoot() : 0
        for k in 0..<d { out[k] *= f }
    }

    /// `out += scale * x`.
    @inline(__always)
    static func add(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ d: Int, scale: Float = 1) {
        for k in 0..<d { out[k] += scale * x[k] }
    }

    /// Scales `out` to unit length (left alone when zero).
    @inline(__always)
    static func normalize(_ out: UnsafeMutablePointer<Float>, _ d: Int) {
        var n: Float = 0
        for k in 0..<d { n += out[k] * out[k] }
        guard n > 0 else { return }
        let f = 1 / n.squareRoot()
        for k in 0..<d { out[k] *= f }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        var s: Float = 0
        for k in 0..<d { s += a[k] * b[k] }
        return s
    }
}
