import CascadeCore
import Foundation

/// Why one row was rejected. Thrown (typed) inside row parsing, turned into a ``BadRow``.
struct RowError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Loads a whole file as bytes. Large files are memory-mapped, so pages are read as the
/// parser walks forward rather than copied up front.
enum FileLoader {
    static func load(_ path: String) throws(CascadeError) -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .badInput(file: path, line: 0, reason: "no such file")
        }
        if isDirectory.boolValue { throw .badInput(file: path, line: 0, reason: "is a directory, expected a file") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .badInput(file: path, line: 0, reason: "cannot read file: \(error.localizedDescription)")
        }
    }
}

/// Walks a byte buffer line by line. Lines end at `\n`; a `\r` before it is dropped.
struct LineCursor {
    let buf: UnsafeBufferPointer<UInt8>
    private(set) var pos: Int
    /// 1-based number of the line last returned by ``next()``.
    private(set) var line = 0

    init(_ buf: UnsafeBufferPointer<UInt8>) {
        self.buf = buf
        pos = Bytes.bomLength(buf)
    }

    /// The next line as a half-open byte range, or nil at the end of the buffer.
    mutating func next() -> Range<Int>? {
        let count = buf.count
        guard pos < count else { return nil }
        line += 1
        let start = pos
        var end: Int
        if let p = memchr(buf.baseAddress! + start, 10, count - start) {
            end = buf.baseAddress!.distance(to: p.assumingMemoryBound(to: UInt8.self))
            pos = end + 1
        } else {
            end = count
            pos = count
        }
        if end > start && buf[end - 1] == 13 { end -= 1 }
        return start..<end
    }
}

enum Bytes {
    static func bomLength(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0
    }

    /// Whether the range holds only spaces and tabs.
    @inline(__always)
    static func isBlank(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        var i = r.lowerBound
        while i < r.upperBound {
            if b[i] != 32 && b[i] != 9 { return false }
            i += 1
        }
        return true
    }

    /// The range without leading and trailing spaces and tabs.
    @inline(__always)
    static func trimmed(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi && (b[lo] == 32 || b[lo] == 9) { lo += 1 }
        while hi > lo && (b[hi - 1] == 32 || b[hi - 1] == 9) { hi -= 1 }
        return lo..<hi
    }

    /// Splits `r` on a one-byte separator into `out` (cleared first).
    @inline(__always)
    static func split(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, on sep: UInt8, into out: inout [Range<Int>]) {
        out.removeAll(keepingCapacity: true)
        var start = r.lowerBound
        var i = start
        while i < r.upperBound {
            if b[i] == sep {
                out.append(start..<i)
                start = i + 1
            }
            i += 1
        }
        out.append(start..<r.upperBound)
    }

    /// Splits `r` on a multi-byte separator (such as `::`) into `out` (cleared first).
    static func split(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, on sep: [UInt8], into out: inout [Range<Int>]) {
        if sep.count == 1 { return split(b, r, on: sep[0], into: &out) }
        out.removeAll(keepingCapacity: true)
        var start = r.lowerBound
        var i = start
        let n = sep.count
        while i + n <= r.upperBound {
            var match = true
            for k in 0..<n where b[i + k] != sep[k] { match = false; break }
            if match {
                out.append(start..<i)
                i += n
                start = i
            } else {
                i += 1
            }
        }
        out.append(start..<r.upperBound)
    }

    /// UTF-8 text of the range, or nil when the bytes are not valid UTF-8.
    @inline(__always)
    static func utf8(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        let slice = UnsafeBufferPointer(rebasing: b[r])
        var ascii = true
        for c in slice where c >= 0x80 { ascii = false; break }
        // ASCII is valid UTF-8; the non-generic decoding initializer is the fastest way in.
        if ascii { return String(decoding: slice, as: UTF8.self) }
        return String(validating: slice, as: UTF8.self)
    }

    /// The number of line breaks, to size arrays before parsing.
    static func lineCount(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = b.baseAddress else { return 0 }
        var n = 0
        var p = 0
        while p < b.count, let hit = memchr(base + p, 10, b.count - p) {
            n += 1
            p = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + 1
        }
        return n
    }

    /// ISO Latin 1 text of the range: every byte is one character, so it never fails.
    static func latin1(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        var ascii = true
        for i in r where b[i] >= 0x80 { ascii = false; break }
        if ascii { return String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }
        var s = String.UnicodeScalarView()
        for i in r { s.append(Unicode.Scalar(b[i])) }
        return String(s)
    }

    /// UTF-8 text, falling back to ISO Latin 1 when the bytes are not valid UTF-8.
    static func text(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        utf8(b, r) ?? latin1(b, r)
    }

    /// The range as text for an error message: at most 40 characters, never failing.
    static func display(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        let cut = r.count > 40 ? r.lowerBound..<(r.lowerBound + 40) : r
        return text(b, cut) + (r.count > 40 ? "..." : "")
    }

    /// Parses a decimal number (`-12`, `3.5`, `1e-3`, `.5`); nil when the text is not a number.
    /// Non-finite spellings (`inf`, `nan`) and overflowing values parse to non-finite doubles,
    /// which callers reject with their own message.
    ///
    /// Numbers of at most 15 significant digits with a decimal exponent within ±22 are exact
    /// in one multiplication or division (both operands are exact doubles); anything else goes
    /// through the standard library's correctly rounded conversion.
    static func double(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Double? {
        let r = trimmed(b, range)
        var i = r.lowerBound
        let end = r.upperBound
        guard i < end else { return nil }
        var negative = false
        if b[i] == 45 || b[i] == 43 { negative = b[i] == 45; i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exp10 = 0
        var sawDigit = false
        var slow = false
        while i < end, b[i] &- 48 < 10 {
            let d = UInt64(b[i] &- 48)
            sawDigit = true
            if mantissa != 0 || d != 0 {
                if digits < 19 { mantissa = mantissa &* 10 &+ d; digits += 1 } else { exp10 += 1; slow = true }
            }
            i += 1
        }
        if i < end && b[i] == 46 {
            i += 1
            while i < end, b[i] &- 48 < 10 {
                let d = UInt64(b[i] &- 48)
                sawDigit = true
                if mantissa == 0 && d == 0 {
                    exp10 -= 1
                } else if digits < 19 {
                    mantissa = mantissa &* 10 &+ d; digits += 1; exp10 -= 1
                } else {
                    slow = true
                }
                i += 1
            }
        }
        guard sawDigit else { return slowDouble(b, r) }
        if i < end && (b[i] == 101 || b[i] == 69) {
            i += 1
            var expNegative = false
            if i < end && (b[i] == 45 || b[i] == 43) { expNegative = b[i] == 45; i += 1 }
            var e = 0
            var expDigits = 0
            while i < end, b[i] &- 48 < 10 {
                if e < 100_000 { e = e * 10 + Int(b[i] &- 48) }
                expDigits += 1
                i += 1
            }
            guard expDigits > 0 else { return nil }
            exp10 += expNegative ? -e : e
        }
        guard i == end else { return slowDouble(b, r) }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        if slow || digits > 15 || exp10 < -22 || exp10 > 22 { return slowDouble(b, r) }
        var v = Double(mantissa)
        if exp10 > 0 { v *= powersOf10[exp10] } else if exp10 < 0 { v /= powersOf10[-exp10] }
        return negative ? -v : v
    }

    private static func slowDouble(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Double? {
        guard r.count <= 400, let s = utf8(b, r) else { return nil }
        // Only plain decimal spellings and inf/nan words; no hexadecimal floats.
        if s.contains(where: { $0 == "x" || $0 == "X" || $0 == "p" || $0 == "P" }) { return nil }
        return Double(s)
    }

    private static let powersOf10: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses a boolean: true/false, yes/no, 1/0, t/f, y/n (any case); nil otherwise.
    static func bool(_ s: String) -> Bool? {
        switch s.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "1", "t", "y": return true
        case "false", "no", "0", "f", "n": return false
        default: return nil
        }
    }
}

extension Data {
    /// Calls `body` with the data's bytes as an unsafe buffer (empty data gives an empty buffer).
    func withBuffer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withUnsafeBytes { raw in try body(raw.bindMemory(to: UInt8.self)) }
    }
}
