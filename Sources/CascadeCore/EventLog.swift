/// Events in columnar form with dense ids: what training and evaluation read.
///
/// Column `i` of every array is event `i`. `values` holds `.nan` where an event has no value.
/// `positions` holds the slot of an event on its served page (``unknownPosition`` where not
/// logged); it may be shorter than the other columns, the missing tail unknown (logs without any
/// position carry none). Memory is 21-23 bytes an event (10M events: ~230 MB).
public struct EventLog: Sendable {
    public var users: [Int32] = []
    public var items: [Int32] = []
    public var types: [UInt8] = []
    public var timestamps: [Double] = []
    public var values: [Float] = []
    public var positions: [UInt16] = []

    /// The `positions` entry of an event without a logged slot.
    public static let unknownPosition = UInt16.max

    /// The slot of event `i` on its page, nil when not logged.
    @inline(__always)
    public func position(_ i: Int) -> Int? {
        i < positions.count && positions[i] != Self.unknownPosition ? Int(positions[i]) : nil
    }

    /// Whether any event carries a slot.
    public var hasPositions: Bool { positions.contains { $0 != Self.unknownPosition } }

    public init() {}

    public init(capacity: Int) { reserveCapacity(capacity) }

    public var count: Int { users.count }

    public mutating func reserveCapacity(_ n: Int) {
        users.reserveCapacity(n); items.reserveCapacity(n); types.reserveCapacity(n)
        timestamps.reserveCapacity(n); values.reserveCapacity(n)
    }

    /// Appends one event; `position` is its slot on its page (nil: not logged).
    public mutating func append(user: Int32, item: Int32, type: UInt8, timestamp: Double, value: Float = .nan, position: Int? = nil) {
        if let position {
            padPositions(to: users.count)
            positions.append(UInt16(clamping: Swift.min(position, Int(Self.unknownPosition) - 1)))
        } else if positions.count == users.count && !positions.isEmpty {
            positions.append(Self.unknownPosition)
        }
        users.append(user); items.append(item); types.append(type)
        timestamps.append(timestamp); values.append(value)
    }

    public mutating func append(contentsOf other: EventLog) {
        if !other.positions.isEmpty {
            padPositions(to: users.count)
            positions += other.positions
        }
        users += other.users; items += other.items; types += other.types
        timestamps += other.timestamps; values += other.values
    }

    /// Fills `positions` with unknown slots up to `n` entries.
    mutating func padPositions(to n: Int) {
        if positions.count < n { positions += repeatElement(Self.unknownPosition, count: n - positions.count) }
    }

    /// The events at `indices`, in that order.
    public func subset(_ indices: some Sequence<Int>) -> EventLog {
        var out = EventLog()
        for i in indices {
            out.append(user: users[i], item: items[i], type: types[i], timestamp: timestamps[i], value: values[i], position: position(i))
        }
        return out
    }

    /// The largest timestamp, or 0 for an empty log.
    public var maxTimestamp: Double { timestamps.max() ?? 0 }
    public var minTimestamp: Double { timestamps.min() ?? 0 }

    /// Event positions grouped by user, each group sorted by (timestamp, position): a CSR whose
    /// row `u` lists user `u`'s events oldest first. O(n log n) in the worst case, O(n) when the
    /// log is already in time order.
    public func indexByUser(userCount: Int) -> (offsets: [Int], events: [Int]) {
        var offsets = [Int](repeating: 0, count: userCount + 1)
        for u in users { offsets[Int(u) + 1] += 1 }
        for u in 0..<userCount { offsets[u + 1] += offsets[u] }
        var fill = offsets
        var order = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let u = Int(users[i])
            order[fill[u]] = i
            fill[u] += 1
        }
        timestamps.withUnsafeBufferPointer { ts in
            for u in 0..<userCount {
                let lo = offsets[u], hi = offsets[u + 1]
                if hi - lo < 2 { continue }
                var sorted = true
                for j in (lo + 1)..<hi where ts[order[j]] < ts[order[j - 1]] { sorted = false; break }
                if !sorted {
                    order[lo..<hi].sort { ts[$0] != ts[$1] ? ts[$0] < ts[$1] : $0 < $1 }
                }
            }
        }
        return (offsets, order)
    }
}
