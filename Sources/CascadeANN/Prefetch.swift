/// Software prefetch for the graph walks.
///
/// A graph search is bound by memory latency: the next vectors to compare are scattered over
/// the whole index, so each distance starts with a cache miss. Asking for all of a node's
/// unvisited neighbours at once, before computing any distance, lets those misses overlap.
/// Swift has no prefetch API; `llvm.prefetch` is LLVM's portable intrinsic (it lowers to
/// `prefetcht0` on x86-64 and `prfm` on arm64) and is bound here by symbol name. The hint never
/// faults and never changes results, so at worst it is a no-op.
@_silgen_name("llvm.prefetch.p0")
private func llvmPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ dataCache: Int32)

enum Prefetch {
    /// Hints that the 64-byte line holding `address` will be read soon (keep in all cache levels).
    @inline(__always)
    static func read(_ address: UnsafeRawPointer) { llvmPrefetch(address, 0, 3, 1) }

    /// Hints every line of `bytes` bytes from `address`.
    @inline(__always)
    static func read(_ address: UnsafeRawPointer, bytes: Int) {
        var offset = 0
        while offset < bytes {
            llvmPrefetch(address + offset, 0, 3, 1)
            offset += 64
        }
    }
}
