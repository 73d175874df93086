import CascadeCore

/// An ``EventLog`` divided into a training part and a test part.
///
/// `trainIndices` and `testIndices` are positions in the source log, ascending, so `train` and
/// `test` (the events at those positions, see ``EventLog/subset(_:)``) keep the source order.
/// Events whose type does not take part in the split are in neither part.
public struct EventSplit: Sendable {
    public var train: EventLog
    public var test: EventLog
    public var trainIndices: [Int]
    public var testIndices: [Int]

    /// Builds both parts from `source`; indices must be valid positions in it.
    public init(source: EventLog, trainIndices: [Int], testIndices: [Int]) {
        self.trainIndices = trainIndices
        self.testIndices = testIndices
        self.train = source.subset(trainIndices)
        self.test = source.subset(testIndices)
    }
}

/// Time-respecting ways to split an ``EventLog`` for offline evaluation: per user
/// (``perUser(log:userCount:testFraction:positiveTypes:)``), leave-one-out
/// (``leaveOneOut(log:userCount:positiveTypes:)``) and global (``global(log:trainFraction:positiveTypes:)``).
///
/// Which events count: every split first keeps only events whose type code is in
/// `positiveTypes` and ignores the rest (they land in neither part), just as the top-K judge
/// reads only the interactions that pass its rating filter. The default,
/// ``defaultPositiveTypes``, is every built-in type with a positive weight in
/// ``EventTypeRegistry`` (click, like, favorite, share, comment, follow, purchase, watch,
/// completion); impressions (weight 0) and dislikes (weight -1) are left out. Use
/// ``positiveTypes(in:)`` for a custom registry and ``allTypes`` to keep everything (for
/// example a click-through log whose impressions are the negatives).
public enum TemporalSplit {
    /// Codes of the built-in event types whose weight is positive.
    public static let defaultPositiveTypes: Set<UInt8> = positiveTypes(in: EventTypeRegistry())

    /// Every code, 0...255.
    public static let allTypes: Set<UInt8> = Set(0...255)

    /// Codes whose weight in `registry` is greater than 0.
    public static func positiveTypes(in registry: EventTypeRegistry) -> Set<UInt8> {
        Set(registry.entries.filter { $0.weight > 0 }.map(\.code))
    }

    /// A 256-entry lookup table: `mask[code]` is true when `code` is in `types`.
    static func mask(_ types: Set<UInt8>) -> [Bool] {
        var m = [Bool](repeating: false, count: 256)
        for t in types { m[Int(t)] = true }
        return m
    }

    /// Positions of the events whose type is in `types`, ascending. Checks that every counted
    /// event has a user in `0..<userCount` (when given) and a finite timestamp.
    static func countedPositions(_ log: EventLog, types: Set<UInt8>, userCount: Int?) throws(CascadeError) -> [Int] {
        if let userCount, userCount < 0 { throw .invalid("userCount must not be negative, got \(userCount)") }
        let m = mask(types)
        var kept: [Int] = []
        kept.reserveCapacity(log.count)
        for i in 0..<log.count where m[Int(log.types[i])] {
            if let userCount {
                let u = log.users[i]
                guard u >= 0, Int(u) < userCount else {
                    throw .invalid("event \(i): user \(u) is outside 0..<\(userCount)")
                }
            }
            guard log.timestamps[i].isFinite else { throw .invalid("event \(i): timestamp is not finite") }
            kept.append(i)
        }
        return kept
    }
}
