import Foundation

/// What a user has been shown, as a ring of Bloom filters over time windows, so exposures
/// expire: an impression at time t is remembered while t is within the last `windows` windows
/// of `windowSeconds` each (seed 004: exposure filtering with Bloom filters; old exposures age out
/// so good items may come back).
///
/// Each window's filter is sized for `expectedPerWindow` impressions at rate `p / windows`, so the
/// union of all windows keeps a false-positive rate of about `p` (union bound). A lookup checks
/// every live window: O(windows x k). Inserting is O(k). Memory: windows x m bits.
public struct ExposureFilter: Sendable, Equatable {
    public let windowSeconds: Double
    public let windows: Int
    public let expectedPerWindow: Int
    public let falsePositiveRate: Double
    /// Live windows, oldest first: (window number = floor(t / windowSeconds), filter).
    public private(set) var ring: [(window: Int64, filter: BloomFilter)] = []

    public static func == (a: ExposureFilter, b: ExposureFilter) -> Bool {
        a.windowSeconds == b.windowSeconds && a.windows == b.windows && a.expectedPerWindow == b.expectedPerWindow
            && a.falsePositiveRate == b.falsePositiveRate && a.ring.map(\.window) == b.ring.map(\.window)
            && a.ring.map(\.filter) == b.ring.map(\.filter)
    }

    /// - Parameters:
    ///   - windowSeconds: length of one window (default one day).
    ///   - windows: windows remembered (default 7: exposures expire after 6 to 7 days).
    ///   - expectedPerWindow: impressions a user sees in a window at most, for sizing.
    ///   - falsePositiveRate: target rate over all windows together.
    public init(windowSeconds: Double = 86_400, windows: Int = 7, expectedPerWindow: Int = 2_000,
                falsePositiveRate: Double = 0.01) throws(CascadeError) {
        guard windowSeconds > 0, windowSeconds.isFinite else { throw .invalid("exposure filter: window length must be positive, got \(windowSeconds)") }
        guard windows >= 1, windows <= 1_000 else { throw .invalid("exposure filter: windows must be in 1...1000, got \(windows)") }
        guard expectedPerWindow >= 1 else { throw .invalid("exposure filter: expected impressions per window must be positive, got \(expectedPerWindow)") }
        guard falsePositiveRate > 0, falsePositiveRate < 1 else { throw .invalid("exposure filter: false-positive rate must be in (0, 1), got \(falsePositiveRate)") }
        self.windowSeconds = windowSeconds
        self.windows = windows
        self.expectedPerWindow = expectedPerWindow
        self.falsePositiveRate = falsePositiveRate
    }

    func windowNumber(_ t: Double) -> Int64 { Int64((t / windowSeconds).rounded(.down)) }

    /// Drops windows that have expired by time `now`.
    public mutating func expire(now: Double) {
        let oldest = windowNumber(now) - Int64(windows) + 1
        ring.removeAll { $0.window < oldest }
    }

    /// The key of an item: a hash of its external id, so filters stay valid in every process
    /// whatever dense index the item has there.
    public static func key(_ itemId: String) -> UInt64 { BloomFilter.fnv1a(itemId) }

    /// Records that the item with `key` was shown at time `t`. Impressions older than the live
    /// windows are ignored.
    public mutating func insert(_ item: UInt64, at t: Double) {
        guard t.isFinite else { return }
        let w = windowNumber(t)
        if let newest = ring.last?.window, w < newest - Int64(windows) + 1 { return }
        if let i = ring.firstIndex(where: { $0.window == w }) {
            ring[i].filter.insert(item)
            return
        }
        let p = falsePositiveRate / Double(windows)
        var f = BloomFilter(bits: BloomFilter.optimalBitCount(expected: expectedPerWindow, falsePositiveRate: p),
                            hashes: BloomFilter.optimalHashCount(bits: BloomFilter.optimalBitCount(expected: expectedPerWindow, falsePositiveRate: p), expected: expectedPerWindow))
        f.insert(item)
        ring.append((w, f))
        ring.sort { $0.window < $1.window }
        if let newest = ring.last?.window { ring.removeAll { $0.window < newest - Int64(windows) + 1 } }
    }

    /// Whether the item with `key` was (probably) shown within the live windows as of `now`.
    public func contains(_ item: UInt64, now: Double) -> Bool {
        let oldest = windowNumber(now) - Int64(windows) + 1
        for (w, f) in ring where w >= oldest && f.contains(item) { return true }
        return false
    }

    static let magic = "CEXP"

    public func serialized() -> Data {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(windowSeconds)
        w.write(Int64(windows))
        w.write(Int64(expectedPerWindow))
        w.write(falsePositiveRate)
        w.write(Int64(ring.count))
        for (n, f) in ring {
            w.write(n)
            w.write(Int64(f.bitCount))
            w.write(Int64(f.hashCount))
            w.write(Int64(f.insertedCount))
            w.write(array: f.words)
        }
        return w.data
    }

    public init(serialized data: Data) throws(CascadeError) {
        var r = try ByteReader(data, magic: Self.magic, what: "exposure filter")
        guard r.version == 1 else { throw .corrupt("exposure filter: unknown version \(r.version)") }
        try self.init(windowSeconds: try r.readDouble("window"), windows: Int(try r.read(Int64.self, "windows")),
                      expectedPerWindow: Int(try r.read(Int64.self, "expected")), falsePositiveRate: try r.readDouble("rate"))
        let n = try r.read(Int64.self, "ring size")
        guard n >= 0, n <= Int64(windows) else { throw .corrupt("exposure filter: \(n) windows stored, at most \(windows) allowed") }
        for _ in 0..<n {
            let number = try r.read(Int64.self, "window number")
            let bits = Int(try r.read(Int64.self, "bits")), hashes = Int(try r.read(Int64.self, "hashes"))
            let inserted = Int(try r.read(Int64.self, "inserted"))
            let words = try r.readArray(UInt64.self, "words")
            guard bits > 0, hashes > 0, hashes < 64 else { throw .corrupt("exposure filter: bad window sizing (\(bits) bits, \(hashes) hashes)") }
            ring.append((number, try BloomFilter(bits: bits, hashes: hashes, words: words, inserted: inserted)))
        }
    }
}
