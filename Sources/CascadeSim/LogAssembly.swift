import CascadeCore

/// Puts staged events in time order and builds the public log (impressions with their slots)
/// and impression truths.
///
/// Sessions overlap in time, so session order is not time order. Events are sorted by
/// (millisecond, staging index): within a session times never decrease, so every event keeps its
/// causes before it (a like after its click, a watch after its click). When both fit in 64 bits
/// the pair is one integer key sorted by LSD radix sort (11-bit digits, O(n) per pass); otherwise
/// a comparison sort orders a permutation. Timestamps are `start + ms / 1000`.
enum LogAssembly {
    static func assemble(_ s: StagingLog, start: Double) -> (log: EventLog, truths: [ImpressionTruth]) {
        let n = s.count
        var log = EventLog()
        guard n > 0 else { return (log, []) }
        let perm = order(s)

        log.users = gather(perm) { s.users[$0] }
        log.items = gather(perm) { s.items[$0] }
        log.types = gather(perm) { s.types[$0] }
        log.values = gather(perm) { s.values[$0] }
        log.timestamps = gather(perm) { start + Double(s.millis[$0]) / 1000 }

        var truthOf = [Int32](repeating: -1, count: n)
        for k in 0..<s.truthCount { truthOf[Int(s.truths[k].event)] = Int32(k) }
        var truths: [ImpressionTruth] = []
        truths.reserveCapacity(s.truthCount)
        for f in 0..<n {
            let k = truthOf[Int(perm[f])]
            if k >= 0 {
                var t = s.truths[Int(k)]
                t.event = Int32(f)
                truths.append(t)
            }
        }
        // Impressions carry their slot, as a served page's log does.
        log.positions = [UInt16](repeating: EventLog.unknownPosition, count: n)
        for t in truths { log.positions[Int(t.event)] = UInt16(t.position) }
        return (log, truths)
    }

    static func gather<T>(_ perm: [Int32], _ value: (Int) -> T) -> [T] {
        [T](unsafeUninitializedCapacity: perm.count) { out, initialized in
            perm.withUnsafeBufferPointer { p in
                for f in 0..<p.count { (out.baseAddress! + f).initialize(to: value(Int(p[f]))) }
            }
            initialized = perm.count
        }
    }

    /// Staging indices in time order.
    static func order(_ s: StagingLog) -> [Int32] {
        let n = s.count
        var sorted = true
        for k in 1..<max(1, n) where s.millis[k] < s.millis[k - 1] { sorted = false; break }
        if sorted { return (0..<n).map(Int32.init) }
        var maxMs: Int64 = 0
        for k in 0..<n { maxMs = max(maxMs, s.millis[k]) }
        let indexBits = max(1, Int.bitWidth - (n - 1).leadingZeroBitCount)
        let timeBits = max(1, Int64.bitWidth - maxMs.leadingZeroBitCount)
        guard indexBits + timeBits <= 64, n <= Int(Int32.max) else {
            var perm = (0..<n).map(Int32.init)
            perm.sort { a, b in
                let ta = s.millis[Int(a)], tb = s.millis[Int(b)]
                return ta != tb ? ta < tb : a < b
            }
            return perm
        }
        var keys = [UInt64](unsafeUninitializedCapacity: n) { out, initialized in
            for k in 0..<n { out[k] = UInt64(s.millis[k]) << UInt64(indexBits) | UInt64(k) }
            initialized = n
        }
        radixSort(&keys, bits: indexBits + timeBits)
        let mask = (UInt64(1) << UInt64(indexBits)) &- 1
        return keys.map { Int32(truncatingIfNeeded: $0 & mask) }
    }

    /// LSD radix sort of keys below `2^bits`, 11 bits a pass.
    static func radixSort(_ keys: inout [UInt64], bits: Int) {
        let n = keys.count, digit = 11, buckets = 1 << digit
        var other = [UInt64](repeating: 0, count: n)
        var counts = [Int](repeating: 0, count: buckets)
        var shift = 0
        while shift < bits {
            let sh = UInt64(shift), m = UInt64(buckets - 1)
            keys.withUnsafeBufferPointer { src in
                other.withUnsafeMutableBufferPointer { dst in
                    counts.withUnsafeMutableBufferPointer { c in
                        for b in 0..<buckets { c[b] = 0 }
                        for k in 0..<n { c[Int((src[k] >> sh) & m)] += 1 }
                        var sum = 0
                        for b in 0..<buckets { let x = c[b]; c[b] = sum; sum += x }
                        for k in 0..<n {
                            let b = Int((src[k] >> sh) & m)
                            dst[c[b]] = src[k]
                            c[b] += 1
                        }
                    }
                }
            }
            swap(&keys, &other)
            shift += digit
        }
    }
}
