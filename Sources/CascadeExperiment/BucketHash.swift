/// The hash that puts users into buckets.
///
/// A user's bucket in a layer is `bucket(user, salt: layer name)`: the 64-bit FNV-1a hash of the
/// UTF-8 bytes of `salt`, a 0x1F separator byte and `user`, passed through the SplitMix64
/// finaliser (FNV-1a alone mixes its last bytes poorly, and ids such as `u1`, `u2`, ... differ only
/// there), then mapped to `0..<buckets` by the multiply-high method (`(h * buckets) >> 64`).
///
/// Because each layer salts the hash with its own name, a user's buckets in two layers are
/// independent: layers are orthogonal (Tang et al. 2010, "Overlapping Experiment Infrastructure",
/// Google; seed 004, 分层实验). The function is fixed by its definition, not by the Swift
/// standard library's per-process seeded `Hasher`, so assignments are the same on every machine
/// and in every process: a report can recompute them from the config and the user ids alone.
public enum BucketHash {
    static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// 64-bit FNV-1a of `bytes`, continuing from `state`.
    @inline(__always)
    static func fnv1a<S: Sequence<UInt8>>(_ bytes: S, state: UInt64 = fnvOffset) -> UInt64 {
        var h = state
        for b in bytes {
            h ^= UInt64(b)
            h = h &* fnvPrime
        }
        return h
    }

    /// The SplitMix64 finaliser (Steele, Lea and Flood 2014): a bijection with full avalanche.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The salted 64-bit hash of `user`.
    public static func hash(_ user: String, salt: String) -> UInt64 {
        var h = fnv1a(salt.utf8)
        h = fnv1a(CollectionOfOne(UInt8(0x1F)), state: h)
        h = fnv1a(user.utf8, state: h)
        return mix(h)
    }

    /// The bucket of `user` in `0..<buckets` under `salt`.
    /// - Precondition: `buckets >= 1`.
    public static func bucket(_ user: String, salt: String, buckets: Int) -> Int {
        precondition(buckets >= 1, "BucketHash.bucket: buckets must be >= 1, got \(buckets)")
        return Int(hash(user, salt: salt).multipliedFullWidth(by: UInt64(buckets)).high)
    }
}
