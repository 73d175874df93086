import CascadeTensor

/// Tape-free forward helpers of the serving paths: no graph, no gradient buffers, outputs
/// written into caller-owned memory.
enum DenseForward {
    /// y[rows, out] = act(x W + b) for `layer`, x [rows, in] with row stride `ldx`, y with row
    /// stride `ldy` (both default to packed). One GEMM plus the fused bias/activation pass. O(rows in out).
    static func linear(_ layer: Linear, _ x: UnsafePointer<Float>, rows: Int, ldx: Int? = nil,
                       _ y: UnsafeMutablePointer<Float>, ldy: Int? = nil) {
        let nIn = layer.inputSize, nOut = layer.outputSize
        let lx = ldx ?? nIn, ly = ldy ?? nOut
        guard rows > 0 else { return }
        Kernels.gemm(m: rows, n: nOut, k: nIn, a: x, lda: lx, b: layer.weight.value.base, ldb: nOut,
                     beta: 0, c: y, ldc: ly, threads: 1)
        epilogue(layer, y, rows: rows, ldy: ly)
    }

    /// The bias add and activation of `layer` on y[rows, out] (row stride `ldy`) that already holds x W.
    static func epilogue(_ layer: Linear, _ y: UnsafeMutablePointer<Float>, rows: Int, ldy: Int) {
        let nOut = layer.outputSize
        if let b = layer.bias {
            if ldy == nOut {
                Kernels.biasActivate(layer.activation, y, bias: b.value.base, y, rows: rows, cols: nOut)
            } else {
                for r in 0..<rows { Kernels.biasActivate(layer.activation, y + r * ldy, bias: b.value.base, y + r * ldy, rows: 1, cols: nOut) }
            }
        } else if layer.activation != .identity {
            if ldy == nOut { Kernels.activate(layer.activation, y, y, count: rows * nOut) } else {
                for r in 0..<rows { Kernels.activate(layer.activation, y + r * ldy, y + r * ldy, count: nOut) }
            }
        }
    }

    /// An MLP's layers over x [rows, sizes[0]] into a new [rows, sizes.last] tensor (no norms or dropout).
    static func mlp(_ linears: [Linear], _ x: Tensor) -> Tensor {
        var h = x
        for l in linears {
            let y = Tensor(uninitializedShape: Shape(x.shape[0], l.outputSize))
            linear(l, h.base, rows: x.shape[0], y.base)
            h = y
        }
        return h
    }
}
