/// Timestamps as importers accept them, all converted to seconds since 1970-01-01 UTC:
///
/// - unix seconds, integer or fractional: `1704164645`, `1704164645.25`;
/// - unix milliseconds: any number whose magnitude is above 1e11 (1e11 seconds is the year
///   5138, so such values can only be milliseconds) is divided by 1000;
/// - ISO 8601 date-times: `2024-01-02T03:04:05Z`, with or without fractional seconds
///   (`...05.123Z`), with an offset (`+02:00`, `+0200`, `-05`) or `Z`; a space may stand for
///   the `T`; seconds may be left out (`2024-01-02T03:04Z`); a date alone (`2024-01-02`) is
///   midnight UTC, and a date-time without any zone is read as UTC.
///
/// Anything else is not a timestamp.
public enum TimestampParser {
    /// Numbers above this magnitude are unix milliseconds.
    public static let millisecondsThreshold = 1e11

    /// Seconds since 1970 UTC, or nil when `text` is not a timestamp.
    public static func parse(_ text: String) -> Double? {
        var copy = text
        return copy.withUTF8 { parse($0, 0..<$0.count) }
    }

    /// How numbers are read (ISO 8601 texts are unaffected).
    public enum Unit: String, Sendable, CaseIterable {
        /// Seconds, and milliseconds above ``millisecondsThreshold`` (the default).
        case auto
        /// Always seconds: a number in milliseconds is then out of range and refused.
        case seconds = "s"
        /// Always milliseconds.
        case milliseconds = "ms"
    }

    static func parse(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Double? {
        parse(b, range, unit: .auto)?.seconds
    }

    /// Seconds, and whether a number was divided by 1000 to get them.
    static func parse(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, unit: Unit) -> (seconds: Double, milliseconds: Bool)? {
        let r = Bytes.trimmed(b, range)
        guard !r.isEmpty else { return nil }
        if r.count >= 10 && b[r.lowerBound + 4] == 45 && b[r.lowerBound + 7] == 45 {
            return iso8601(b, r).map { ($0, false) }
        }
        guard let v = Bytes.double(b, r), v.isFinite else { return nil }
        return fromNumber(v, unit: unit)
    }

    /// `text` as seconds with `unit`, and whether it was read as milliseconds.
    static func parse(_ text: String, unit: Unit) -> (seconds: Double, milliseconds: Bool)? {
        var copy = text
        return copy.withUTF8 { parse($0, 0..<$0.count, unit: unit) }
    }

    /// Applies the milliseconds rule to a number.
    static func fromNumber(_ v: Double) -> Double? { fromNumber(v, unit: .auto)?.seconds }

    static func fromNumber(_ v: Double, unit: Unit) -> (seconds: Double, milliseconds: Bool)? {
        guard v.isFinite else { return nil }
        switch unit {
        case .auto: return abs(v) > millisecondsThreshold ? (v / 1000, true) : (v, false)
        case .seconds: return (v, false)
        case .milliseconds: return (v / 1000, true)
        }
    }

    private static func iso8601(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Double? {
        var i = r.lowerBound
        let end = r.upperBound
        func digits(_ n: Int) -> Int? {
            guard i + n <= end else { return nil }
            var v = 0
            for k in 0..<n {
                let d = b[i + k] &- 48
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < end, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year, month) else { return nil }
        var seconds = Double(daysFromCivil(year, month, day) * 86_400)
        if i == end { return seconds }
        guard b[i] == 84 || b[i] == 116 || b[i] == 32 else { return nil }  // T, t or space
        i += 1
        guard let hour = digits(2), expect(58), let minute = digits(2), hour < 24, minute < 60 else { return nil }
        seconds += Double(hour * 3600 + minute * 60)
        if i < end && b[i] == 58 {
            i += 1
            guard let second = digits(2), second <= 60 else { return nil }
            seconds += Double(second)
            if i < end && (b[i] == 46 || b[i] == 44) {
                i += 1
                var scale = 0.1
                var fraction = 0.0
                let start = i
                while i < end, b[i] &- 48 < 10 {
                    fraction += Double(b[i] &- 48) * scale
                    scale *= 0.1
                    i += 1
                }
                guard i > start else { return nil }
                seconds += fraction
            }
        }
        if i == end { return seconds }
        if (b[i] == 90 || b[i] == 122) && i + 1 == end { return seconds }  // Z or z
        guard b[i] == 43 || b[i] == 45 else { return nil }
        let sign = b[i] == 45 ? -1 : 1
        i += 1
        guard let oh = digits(2), oh <= 18 else { return nil }
        var om = 0
        if i < end {
            _ = expect(58)
            guard let m = digits(2), m < 60 else { return nil }
            om = m
        }
        guard i == end else { return nil }
        // Local time = UTC + offset, so UTC = local - offset.
        return seconds - Double(sign * (oh * 3600 + om * 60))
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the given proleptic Gregorian date (negative before it).
    /// Counts whole 400-year eras (146097 days each) from 0000-03-01, so that the leap day
    /// falls at the end of each counted year.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
