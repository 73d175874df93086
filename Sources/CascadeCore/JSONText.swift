/// JSON text written by hand, for payloads written on hot paths (the served-page log) where
/// `JSONEncoder` costs more than the data: strings escaped per RFC 8259 (quote, backslash and
/// control characters; everything else as UTF-8), numbers in Swift's shortest round-trip form.
/// O(output length).
public struct JSONText {
    public private(set) var text = ""

    public init(capacity: Int = 256) { text.reserveCapacity(capacity) }

    public mutating func raw(_ s: String) { text += s }

    public mutating func string(_ s: String) {
        text.append("\"")
        var clean = true
        for u in s.utf8 where u < 0x20 || u == 0x22 || u == 0x5C { clean = false; break }
        if clean {
            text += s
        } else {
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                case "\n": text += "\\n"
                case "\r": text += "\\r"
                case "\t": text += "\\t"
                case let c where c.value < 0x20:
                    let hex = String(c.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: text.unicodeScalars.append(ch)
                }
            }
        }
        text.append("\"")
    }

    /// A finite number (JSON has no NaN or infinity: those are written as null).
    public mutating func number(_ x: Double) {
        guard x.isFinite else { text += "null"; return }
        if x == x.rounded(), abs(x) < 1e15 { text += String(Int64(x)) } else { text += String(x) }
    }

    public mutating func number(_ x: Int) { text += String(x) }

    /// `"key":` (the key escaped), after a comma unless `first`.
    public mutating func key(_ k: String, first: Bool = false) {
        if !first { text.append(",") }
        string(k)
        text.append(":")
    }
}
