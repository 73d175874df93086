import Foundation

/// The accepted range of every numeric field of an event, declared once and checked by
/// ``Event/validate(now:)``, which every door goes through: the HTTP API, the importers and both
/// stores' batch writes. A value outside its range is refused with the field, the value, the range
/// and (for timestamps) the likely unit mistake, and nothing of its batch is stored.
///
/// Why these bounds: loops and decays over time are only as safe as the timestamps they see. An
/// event dated in the year 5138 (milliseconds sent where seconds are expected) would make every
/// "newest" read and every trending decay measure from that instant, so feedback from the future
/// is refused outright; the past is open back to 1970, which holds every public dataset.
public enum FieldRanges {
    /// The earliest accepted timestamp: 1970-01-01T00:00:00Z (seconds since 1970 UTC).
    public static let earliestTimestamp: Double = 0
    /// How far past the receiving machine's clock an event may be dated (clock skew between
    /// clients and servers), in seconds: one day.
    public static let futureTimestampSlack: Double = 86_400
    /// The largest accepted magnitude of an event's `value` (seconds watched, a rating, a price).
    /// Values are kept as 32-bit floats by the trainers; 1e9 keeps them exact to well below one
    /// unit of any of those quantities and far from overflow.
    public static let maxValueMagnitude: Double = 1e9

    /// The largest accepted slot of an event's `position` (0 is the top of the page): pages are
    /// at most this long plus one. Kept in 16 bits by ``EventLog``.
    public static let maxPosition = 9_999

    /// Nil when `position` is an accepted slot, else why not.
    public static func positionProblem(_ position: Int) -> String? {
        (0...maxPosition).contains(position) ? nil
            : "position \(position) is outside the accepted range 0...\(maxPosition) (0-based slot on the page, top = 0)"
    }

    /// The accepted timestamps at wall-clock time `now` (seconds since 1970 UTC).
    public static func timestamps(now: Double) -> ClosedRange<Double> {
        earliestTimestamp...(max(earliestTimestamp, now) + futureTimestampSlack)
    }

    /// Nil when `ts` is an accepted timestamp at `now`, else why not (without the field name).
    public static func timestampProblem(_ ts: Double, now: Double) -> String? {
        guard ts.isFinite else { return "timestamp is not finite" }
        let range = timestamps(now: now)
        if range.contains(ts) { return nil }
        var why = "timestamp \(format(ts)) is outside the accepted range \(format(range.lowerBound))...\(format(range.upperBound.rounded(.down))) "
            + "(seconds since 1970-01-01 UTC, at most \(Int(futureTimestampSlack)) s past this machine's clock)"
        // A hint only where the value divided by the unit lands after 1973, where modern logs live.
        for (unit, scale) in [("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)]
        where ts > range.upperBound && range.contains(ts / scale) && ts / scale >= 1e8 {
            why += "; it reads as \(unit): divide by \(format(scale))"
            break
        }
        return why
    }

    /// Nil when `value` is accepted, else why not.
    public static func valueProblem(_ value: Double) -> String? {
        guard value.isFinite else { return "value is not finite" }
        guard abs(value) <= maxValueMagnitude else {
            return "value \(format(value)) is outside the accepted range -\(format(maxValueMagnitude))...\(format(maxValueMagnitude))"
        }
        return nil
    }

    /// Integers without a fraction or exponent where they fit, so messages repeat what was sent.
    static func format(_ v: Double) -> String {
        if v.isFinite, v == v.rounded(), abs(v) < 1e18 { return String(Int64(v)) }
        return "\(v)"
    }
}
