import Foundation

/// Pointwise activations, fused after a bias add in dense layers.
public enum Activation: String, Sendable, CaseIterable {
    case identity, relu, sigmoid, tanh
}

/// Element-wise kernels over contiguous buffers, eight or sixteen lanes at a time. Every
/// kernel is O(n) and allows `out` to alias an input exactly (in-place use).
extension Kernels {
    /// out = x + y.
    public static func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        binary(x, y, out, n) { $0 + $1 }
    }

    /// out = x - y.
    public static func sub(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        binary(x, y, out, n) { $0 - $1 }
    }

    /// out = x * y (Hadamard product).
    public static func mul(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        binary(x, y, out, n) { $0 * $1 }
    }

    /// out = alpha * x + beta * y (fused; alpha = 1, beta = -lr gives an SGD step).
    public static func axpby(alpha: Float, _ x: UnsafePointer<Float>, beta: Float, _ y: UnsafePointer<Float>,
                             _ out: UnsafeMutablePointer<Float>, count n: Int) {
        let a = SIMD8(repeating: alpha), b = SIMD8(repeating: beta)
        binary(x, y, out, n) { $0 * a + $1 * b }
    }

    /// out = alpha * x.
    public static func scale(_ x: UnsafePointer<Float>, by alpha: Float, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        let a = SIMD8(repeating: alpha)
        unary(x, out, n) { $0 * a }
    }

    /// out = act(x).
    public static func activate(_ act: Activation, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        switch act {
        case .identity: if UnsafePointer(out) != x { out.update(from: x, count: n) }
        case .relu: unary(x, out, n) { $0.replacing(with: 0, where: $0 .< 0) }  // vmaxps
        case .sigmoid: unary(x, out, n) { VectorMath.sigmoid($0) }
        case .tanh: unary(x, out, n) { VectorMath.tanh($0) }
        }
    }

    /// out[i, j] = act(x[i, j] + bias[j]) over a rows x cols matrix: the fused epilogue of a
    /// dense layer. O(rows cols).
    public static func biasActivate(_ act: Activation, _ x: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                    _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for i in 0..<rows {
            let xr = x + i * cols, orow = out + i * cols
            switch act {
            case .identity: binary(xr, bias, orow, cols) { $0 + $1 }
            case .relu: binary(xr, bias, orow, cols) { let s = $0 + $1; return s.replacing(with: 0, where: s .< 0) }
            case .sigmoid: binary(xr, bias, orow, cols) { VectorMath.sigmoid($0 + $1) }
            case .tanh: binary(xr, bias, orow, cols) { VectorMath.tanh($0 + $1) }
            }
        }
    }

    /// Backward of `activate` in terms of its output y: out = grad * act'(x), where act' is
    /// written with y (relu: y > 0; sigmoid: y(1-y); tanh: 1-y^2).
    public static func activationBackward(_ act: Activation, output y: UnsafePointer<Float>, grad: UnsafePointer<Float>,
                                          _ out: UnsafeMutablePointer<Float>, count n: Int) {
        switch act {
        case .identity: if UnsafePointer(out) != grad { out.update(from: grad, count: n) }
        case .relu: binary(y, grad, out, n) { $1.replacing(with: 0, where: $0 .<= 0) }
        case .sigmoid: binary(y, grad, out, n) { $1 * $0 * (1 - $0) }
        case .tanh: binary(y, grad, out, n) { $1 * (1 - $0 * $0) }
        }
    }

    /// Applies `f` to 8-lane chunks; the tail is padded into a temporary vector.
    @inline(__always)
    static func unary(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int,
                      _ f: (SIMD8<Float>) -> SIMD8<Float>) {
        let xr = UnsafeRawPointer(x), orw = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 8 <= n {
            let r = f(xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            orw.storeBytes(of: r, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        if i < n {
            var v = SIMD8<Float>()
            for j in i..<n { v[j - i] = x[j] }
            let r = f(v)
            for j in i..<n { out[j] = r[j - i] }
        }
    }

    /// Applies `f` to 8-lane chunks of two inputs; the tail is padded into temporaries.
    @inline(__always)
    static func binary(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int,
                       _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) {
        let xr = UnsafeRawPointer(x), yr = UnsafeRawPointer(y), orw = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 8 <= n {
            let r = f(xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
                      yr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            orw.storeBytes(of: r, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        if i < n {
            var u = SIMD8<Float>(), v = SIMD8<Float>()
            for j in i..<n { u[j - i] = x[j]; v[j - i] = y[j] }
            let r = f(u, v)
            for j in i..<n { out[j] = r[j - i] }
        }
    }
}

extension Reference {
    /// Scalar activation with libm. O(1).
    public static func activate(_ act: Activation, _ x: Float) -> Float {
        switch act {
        case .identity: return x
        case .relu: return Swift.max(x, 0)
        case .sigmoid: return Float(1 / (1 + Foundation.exp(-Double(x))))
        case .tanh: return Float(Foundation.tanh(Double(x)))
        }
    }

    /// Scalar activation derivative from the output y (see `Kernels.activationBackward`).
    public static func activationDerivative(_ act: Activation, output y: Float) -> Float {
        switch act {
        case .identity: return 1
        case .relu: return y > 0 ? 1 : 0
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        }
    }
}

// MARK: - Tensor API

extension Tensor {
    func requireSameShape(_ other: Tensor, _ op: String) throws {
        guard shape == other.shape else {
            throw TensorError.shapeMismatch(op: op, lhs: shape, rhs: other.shape, reason: "shapes must be equal")
        }
    }

    /// Element-wise sum; shapes must be equal. O(count).
    public func adding(_ other: Tensor) throws -> Tensor {
        try requireSameShape(other, "add")
        let out = Tensor(uninitializedShape: shape)
        Kernels.add(base, other.base, out.base, count: count)
        return out
    }

    /// Element-wise difference; shapes must be equal. O(count).
    public func subtracting(_ other: Tensor) throws -> Tensor {
        try requireSameShape(other, "sub")
        let out = Tensor(uninitializedShape: shape)
        Kernels.sub(base, other.base, out.base, count: count)
        return out
    }

    /// Element-wise product; shapes must be equal. O(count).
    public func multiplying(_ other: Tensor) throws -> Tensor {
        try requireSameShape(other, "mul")
        let out = Tensor(uninitializedShape: shape)
        Kernels.mul(base, other.base, out.base, count: count)
        return out
    }

    /// alpha * self. O(count).
    public func scaled(by alpha: Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        Kernels.scale(base, by: alpha, out.base, count: count)
        return out
    }

    /// In place: self = alpha * self. O(count).
    public func scale(by alpha: Float) { Kernels.scale(base, by: alpha, base, count: count) }

    /// In place: self += alpha * other (axpy); shapes must be equal. O(count).
    public func add(_ other: Tensor, scaledBy alpha: Float = 1) throws {
        try requireSameShape(other, "add(_:scaledBy:)")
        Kernels.axpy(alpha: alpha, x: other.base, y: base, count: count)
    }

    /// act(self) as a new tensor. O(count).
    public func applying(_ act: Activation) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        Kernels.activate(act, base, out.base, count: count)
        return out
    }

    public func relu() -> Tensor { applying(.relu) }
    public func sigmoid() -> Tensor { applying(.sigmoid) }
    public func tanh() -> Tensor { applying(.tanh) }

    /// act(self + bias) with `bias` broadcast over rows: bias has shape [last] (the length of a
    /// row). The fused epilogue of a dense layer. O(count).
    public func addingBias(_ bias: Tensor, activation act: Activation = .identity) throws -> Tensor {
        guard bias.rank == 1, bias.count == shape.last else {
            throw TensorError.shapeMismatch(op: "addingBias", lhs: shape, rhs: bias.shape,
                                            reason: "bias must have shape [\(shape.last)]")
        }
        let out = Tensor(uninitializedShape: shape)
        Kernels.biasActivate(act, base, bias: bias.base, out.base, rows: shape.rows, cols: shape.last)
        return out
    }
}
