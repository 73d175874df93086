/// Packing of op(A) and op(B) blocks into the micro-panel layouts `GemmKernel` reads
/// (see there). Packing makes the kernel's loads contiguous whatever the transposes, and pads
/// partial panels with zeros so edge tiles run the same code. O(rows x cols) per block.
enum GemmPacking {
    /// Packs the mc x kc block of op(A) whose top-left element is op(A)[i0, p0] into
    /// ceil(mc/6) panels of 6*kc floats each.
    static func packA(transA: Bool, a: UnsafePointer<Float>, lda: Int, i0: Int, p0: Int,
                      mc: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
        let mr = GemmKernel.mr
        let panels = (mc + mr - 1) / mr, whole = mc / mr
        if !transA {
            // op(A)[i, p] = a[i*lda + p]: gather 6 row streams into interleaved columns.
            for panel in 0..<panels {
                let rows = Swift.min(mr, mc - panel * mr)
                let d = dst + panel * mr * kc
                let i = i0 + panel * mr
                if rows == mr {
                    let r0 = a + i * lda + p0, r1 = r0 + lda, r2 = r1 + lda
                    let r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda
                    for p in 0..<kc {
                        let q = d + p * mr
                        q[0] = r0[p]; q[1] = r1[p]; q[2] = r2[p]
                        q[3] = r3[p]; q[4] = r4[p]; q[5] = r5[p]
                    }
                } else {
                    for p in 0..<kc {
                        let q = d + p * mr
                        for r in 0..<mr { q[r] = r < rows ? a[(i + r) * lda + p0 + p] : 0 }
                    }
                }
            }
        } else {
            // op(A)[i, p] = a[p*lda + i]: row p of a holds the values for every panel. Walk the
            // rows once (p outer) so each cache line of a is read once, even when lda is a
            // large power of two and the rows collide in the L1 sets.
            for p in 0..<kc {
                let s = a + (p0 + p) * lda + i0
                var q = dst + p * mr
                for panel in 0..<whole {
                    let v = s + panel * mr
                    q[0] = v[0]; q[1] = v[1]; q[2] = v[2]; q[3] = v[3]; q[4] = v[4]; q[5] = v[5]
                    q += mr * kc
                }
                if whole < panels {
                    let rows = mc - whole * mr, v = s + whole * mr
                    for r in 0..<mr { q[r] = r < rows ? v[r] : 0 }
                }
            }
        }
    }

    /// Packs the kc x nc block of op(B) whose top-left element is op(B)[p0, j0] into
    /// ceil(nc/16) panels of 16*kc floats each.
    static func packB(transB: Bool, b: UnsafePointer<Float>, ldb: Int, p0: Int, j0: Int,
                      kc: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
        let nr = GemmKernel.nr
        var panel = 0
        while panel * nr < nc {
            let cols = Swift.min(nr, nc - panel * nr)
            let d = dst + panel * nr * kc
            let j = j0 + panel * nr
            if !transB {
                // op(B)[p, j] = b[p*ldb + j]: 16 contiguous values per p.
                for p in 0..<kc {
                    let s = b + (p0 + p) * ldb + j, q = d + p * nr
                    if cols == nr {
                        UnsafeMutableRawPointer(q).storeBytes(
                            of: UnsafeRawPointer(s).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                    } else {
                        for c in 0..<nr { q[c] = c < cols ? s[c] : 0 }
                    }
                }
            } else {
                // op(B)[p, j] = b[j*ldb + p]: each column is a contiguous row of b.
                for c in 0..<cols {
                    let s = b + (j + c) * ldb + p0
                    var q = d + c
                    for p in 0..<kc { q.pointee = s[p]; q += nr }
                }
                if cols < nr {
                    for p in 0..<kc { for c in cols..<nr { d[p * nr + c] = 0 } }
                }
            }
            panel += 1
        }
    }
}
