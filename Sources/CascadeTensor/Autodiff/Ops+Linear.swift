/// Matrix products on the tape. For C = op(A) op(B): dA and dB are GEMMs of dC with the other
/// operand (transposes swapped as needed), accumulated with beta = 1 into fresh buffers.
extension Variable {
    /// op(self) x op(other) for rank-2 operands. O(m n k) forward, 2 m n k backward.
    public func matmul(_ other: Variable, transposeSelf ta: Bool = false, transposeOther tb: Bool = false) throws -> Variable {
        try sameTape(other, "matmul")
        let a = self, b = other
        let threads = tape.threads
        let out = try a.value.matmul(b.value, transposeSelf: ta, transposeOther: tb, threads: threads)
        let (m, k, n) = try Tensor.productDims("matmul", a.value, ta, b.value, tb)
        return tape.record(out, a, b, name: "matmul") { tape, g in
            if tape.needsGradient(a) {
                let da = Tensor(uninitializedShape: a.value.shape)
                // A stored m x k: dA = dC op(B)^T; stored k x m (ta): dA = op(B) dC^T.
                if !ta {
                    Kernels.gemm(transA: false, transB: !tb, m: m, n: k, k: n, a: g.base, lda: n,
                                 b: b.value.base, ldb: b.value.shape[1], beta: 0, c: da.base, ldc: k, threads: threads)
                } else {
                    Kernels.gemm(transA: tb, transB: true, m: k, n: m, k: n, a: b.value.base, lda: b.value.shape[1],
                                 b: g.base, ldb: n, beta: 0, c: da.base, ldc: m, threads: threads)
                }
                try tape.accumulate(a, da, fresh: true)
            }
            if tape.needsGradient(b) {
                let db = Tensor(uninitializedShape: b.value.shape)
                // B stored k x n: dB = op(A)^T dC; stored n x k (tb): dB = dC^T op(A).
                if !tb {
                    Kernels.gemm(transA: !ta, transB: false, m: k, n: n, k: m, a: a.value.base, lda: a.value.shape[1],
                                 b: g.base, ldb: n, beta: 0, c: db.base, ldc: n, threads: threads)
                } else {
                    Kernels.gemm(transA: true, transB: ta, m: n, n: k, k: m, a: g.base, lda: n,
                                 b: a.value.base, ldb: a.value.shape[1], beta: 0, c: db.base, ldc: k, threads: threads)
                }
                try tape.accumulate(b, db, fresh: true)
            }
        }
    }

    /// Batched product of rank-3 operands [B, M, K] x [B, K, N] -> [B, M, N] (with optional
    /// transposes of the last two dimensions of either). A rank-2 `other` is shared by every
    /// batch entry. O(B m n k).
    public func batchedMatmul(_ other: Variable, transposeSelf ta: Bool = false, transposeOther tb: Bool = false) throws -> Variable {
        try sameTape(other, "batchedMatmul")
        let a = self, b = other, av = a.value, bv = b.value
        guard av.rank == 3, bv.rank == 3 || bv.rank == 2, bv.rank == 2 || bv.shape[0] == av.shape[0] else {
            throw TensorError.shapeMismatch(op: "batchedMatmul", lhs: av.shape, rhs: bv.shape,
                                            reason: "needs [B, M, K] x [B, K, N] (or a shared [K, N])")
        }
        let batch = av.shape[0], shared = bv.rank == 2
        let ar = av.shape[1], ac = av.shape[2]
        let br = shared ? bv.shape[0] : bv.shape[1], bcn = shared ? bv.shape[1] : bv.shape[2]
        let m = ta ? ac : ar, k = ta ? ar : ac
        let k2 = tb ? bcn : br, n = tb ? br : bcn
        guard k == k2 else {
            throw TensorError.shapeMismatch(op: "batchedMatmul", lhs: av.shape, rhs: bv.shape,
                                            reason: "inner dimensions differ (\(k) vs \(k2))")
        }
        let threads = tape.threads
        let out = Tensor(uninitializedShape: Shape(batch, m, n))
        let aStride = ar * ac, bStride = shared ? 0 : br * bcn, cStride = m * n
        for i in 0..<batch {
            Kernels.gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: av.base + i * aStride, lda: ac,
                         b: bv.base + i * bStride, ldb: bcn, beta: 0, c: out.base + i * cStride, ldc: n, threads: threads)
        }
        return tape.record(out, a, b, name: "batchedMatmul") { tape, g in
            if tape.needsGradient(a) {
                let da = Tensor(uninitializedShape: av.shape)
                for i in 0..<batch {
                    let gi = g.base + i * cStride, bi = bv.base + i * bStride, di = da.base + i * aStride
                    if !ta {
                        Kernels.gemm(transA: false, transB: !tb, m: m, n: k, k: n, a: gi, lda: n, b: bi, ldb: bcn,
                                     beta: 0, c: di, ldc: k, threads: threads)
                    } else {
                        Kernels.gemm(transA: tb, transB: true, m: k, n: m, k: n, a: bi, lda: bcn, b: gi, ldb: n,
                                     beta: 0, c: di, ldc: m, threads: threads)
                    }
                }
                try tape.accumulate(a, da, fresh: true)
            }
            if tape.needsGradient(b) {
                let db = Tensor(shape: bv.shape)
                for i in 0..<batch {
                    let gi = g.base + i * cStride, ai = av.base + i * aStride, di = db.base + i * bStride
                    let beta: Float = shared ? 1 : 0
                    if !tb {
                        Kernels.gemm(transA: !ta, transB: false, m: k, n: n, k: m, a: ai, lda: ac, b: gi, ldb: n,
                                     beta: beta, c: di, ldc: n, threads: threads)
                    } else {
                        Kernels.gemm(transA: true, transB: ta, m: n, n: k, k: m, a: gi, lda: n, b: ai, ldb: ac,
                                     beta: beta, c: di, ldc: k, threads: threads)
                    }
                }
                try tape.accumulate(b, db, fresh: true)
            }
        }
    }

    /// A dense layer in one node: act(self W + bias) for self [B, in], W [in, out], bias [out].
    /// The bias add and activation are fused into the GEMM's epilogue pass, and the backward
    /// uses the output (relu, sigmoid, tanh derivatives are functions of it). O(B in out).
    public func linear(_ weight: Variable, _ bias: Variable?, activation act: Activation = .identity) throws -> Variable {
        try sameTape(weight, "linear")
        let x = self, w = weight
        guard x.value.rank == 2, w.value.rank == 2, x.value.shape[1] == w.value.shape[0] else {
            throw TensorError.shapeMismatch(op: "linear", lhs: x.value.shape, rhs: w.value.shape,
                                            reason: "needs input [B, in] and weight [in, out]")
        }
        let rows = x.value.shape[0], nIn = w.value.shape[0], nOut = w.value.shape[1]
        if let b = bias {
            try sameTape(b, "linear")
            guard b.value.count == nOut else {
                throw TensorError.shapeMismatch(op: "linear", lhs: w.value.shape, rhs: b.value.shape,
                                                reason: "bias must have \(nOut) elements")
            }
        }
        let threads = tape.threads
        let out = Tensor(uninitializedShape: Shape(rows, nOut))
        Kernels.gemm(m: rows, n: nOut, k: nIn, a: x.value.base, lda: nIn, b: w.value.base, ldb: nOut,
                     beta: 0, c: out.base, ldc: nOut, threads: threads)
        if let b = bias {
            Kernels.biasActivate(act, out.base, bias: b.value.base, out.base, rows: rows, cols: nOut)
        } else if act != .identity {
            Kernels.activate(act, out.base, out.base, count: out.count)
        }
        let inputs = bias.map { [x, w, $0] } ?? [x, w]
        return tape.record(out, inputs: inputs, name: "linear(\(act.rawValue))") { tape, g in
            // dz = g * act'(z), expressed with the output.
            let dz: Tensor
            if act == .identity { dz = g } else {
                dz = Tensor(uninitializedShape: g.shape)
                Kernels.activationBackward(act, output: out.base, grad: g.base, dz.base, count: g.count)
            }
            if let b = bias, tape.needsGradient(b) {
                let db = Tensor(uninitializedShape: Shape(nOut))
                Kernels.columnSums(dz.base, rows: rows, cols: nOut, db.base)
                try tape.accumulate(b, db, fresh: true)
            }
            if tape.needsGradient(w) {
                let dw = Tensor(uninitializedShape: w.value.shape)
                Kernels.gemm(transA: true, m: nIn, n: nOut, k: rows, a: x.value.base, lda: nIn, b: dz.base, ldb: nOut,
                             beta: 0, c: dw.base, ldc: nOut, threads: threads)
                try tape.accumulate(w, dw, fresh: true)
            }
            if tape.needsGradient(x) {
                let dx = Tensor(uninitializedShape: x.value.shape)
                Kernels.gemm(transB: true, m: rows, n: nIn, k: nOut, a: dz.base, lda: nOut, b: w.value.base, ldb: nOut,
                             beta: 0, c: dx.base, ldc: nIn, threads: threads)
                try tape.accumulate(x, dx, fresh: true)
            }
        }
    }
}
