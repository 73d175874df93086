import CascadeTensor

/// The per-row solve of implicit ALS by conjugate gradient (Takacs, Pilaszy and Tikk, "Applications
/// of the conjugate gradient method for implicit feedback collaborative filtering", RecSys 2011).
///
/// For one user (or item) with observed columns i, confidences c_i = 1 + e_i and preference 1 on
/// them (0 elsewhere, confidence 1), the normal equations of Hu, Koren and Volinsky (ICDM 2008) are
///
///     (G + sum_i e_i y_i y_i^T) x = sum_i c_i y_i,   G = Y^T Y + lambda I
///
/// with G shared by every row. CG never forms the matrix: a product A p costs one f x f GEMV with
/// G plus a dot and an axpy per observed column, O(f^2 + n f) for n columns and f factors. Warm-
/// started from the previous vector, a few steps a sweep are enough (3 by default); `steps >= f`
/// reaches the exact solution up to rounding. Each step lowers the row's quadratic objective, so
/// the ALS objective never rises. Scratch: 3f floats.
struct ImplicitCG {
    let factors: Int
    /// G = Y^T Y + lambda I, f x f row-major.
    let gram: UnsafePointer<Float>
    /// The fixed side's vectors, row-major with `factors` columns.
    let table: UnsafePointer<Float>

    /// Improves `x` in place with at most `steps` CG steps. `columns`/`extras` give the row's
    /// observed columns and their extra confidence e_i = c_i - 1. Stops early when the residual
    /// has shrunk by 1e-6 (relative) or the curvature vanishes.
    func solve(_ x: UnsafeMutablePointer<Float>, columns: UnsafePointer<Int32>, extras: UnsafePointer<Float>,
               count: Int, steps: Int, scratch: UnsafeMutablePointer<Float>) {
        let f = factors
        let r = scratch, p = scratch + f, ap = scratch + 2 * f
        // r = b - A x = -G x + sum_i (c_i - e_i y_i.x) y_i
        Kernels.gemv(trans: false, m: f, n: f, alpha: -1, a: gram, lda: f, x: x, y: r, threads: 1)
        for k in 0..<count {
            let y = table + Int(columns[k]) * f
            let e = extras[k]
            Kernels.axpy(alpha: 1 + e - e * Kernels.dot(y, x, count: f), x: y, y: r, count: f)
        }
        p.update(from: r, count: f)
        var rs = Kernels.dot(r, r, count: f)
        let stop = rs * 1e-12
        var step = 0
        while step < steps && rs > stop && rs > 0 {
            // ap = A p
            Kernels.gemv(trans: false, m: f, n: f, a: gram, lda: f, x: p, y: ap, threads: 1)
            for k in 0..<count {
                let y = table + Int(columns[k]) * f
                let e = extras[k]
                if e != 0 { Kernels.axpy(alpha: e * Kernels.dot(y, p, count: f), x: y, y: ap, count: f) }
            }
            let curvature = Kernels.dot(p, ap, count: f)
            guard curvature > 0, curvature.isFinite else { break }
            let a = rs / curvature
            Kernels.axpy(alpha: a, x: p, y: x, count: f)
            Kernels.axpy(alpha: -a, x: ap, y: r, count: f)
            let rsNew = Kernels.dot(r, r, count: f)
            let beta = rsNew / rs
            // p = r + beta p
            for j in 0..<f { p[j] = r[j] + beta * p[j] }
            rs = rsNew
            step += 1
        }
    }

    /// G = Y^T Y + lambda I for a table of `rows` vectors, by one GEMM. O(rows f^2).
    static func gram(_ table: UnsafePointer<Float>, rows: Int, factors f: Int, regularization: Float,
                     threads: Int, into g: UnsafeMutablePointer<Float>) {
        if rows == 0 {
            g.update(repeating: 0, count: f * f)
        } else {
            Kernels.gemm(transA: true, m: f, n: f, k: rows, a: table, lda: f, b: table, ldb: f,
                         c: g, ldc: f, threads: threads)
        }
        for j in 0..<f { g[j * f + j] += regularization }
    }
}
