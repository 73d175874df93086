/// JSON text written by hand, for documents written in bulk or on hot paths (a catalog of a
/// million items, every served page) where `JSONEncoder` costs about 10x the data: strings
/// escaped per RFC 8259 (quote, backslash and control characters; everything else as UTF-8),
/// numbers in Swift's shortest round-trip form, maps with their keys sorted so equal values give
/// equal bytes. `JSONDecoder` reads it back. O(output length).
public struct JSONText {
    public var text = ""
    /// Whether the next ``key(_:)`` is the first of its object.
    var first = true

    public init(capacity: Int = 128) { text.reserveCapacity(capacity) }

    public mutating func open() { text += "{"; first = true }
    public mutating func close() { text += "}"; first = false }

    /// `"key":`, after a comma unless it is the object's first.
    public mutating func key(_ k: String) {
        if !first { text += "," }
        first = false
        string(k)
        text += ":"
    }

    /// A finite number (the caller validates: JSON has no NaN or infinity).
    public mutating func number(_ x: Double) {
        if x == x.rounded(), abs(x) < 1e15 { text += String(Int64(x)) } else { text += "\(x)" }
    }

    public mutating func number(_ x: Int) { text += String(x) }

    public mutating func bool(_ b: Bool) { text += b ? "true" : "false" }

    public mutating func string(_ s: String) {
        text += "\""
        var plain = true
        for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C { plain = false; break }
        if plain {
            text += s
        } else {
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                case "\n": text += "\\n"
                case "\r": text += "\\r"
                case "\t": text += "\\t"
                default:
                    if ch.value < 0x20 {
                        let hex = String(ch.value, radix: 16)
                        text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    } else {
                        text.unicodeScalars.append(ch)
                    }
                }
            }
        }
        text += "\""
    }

    public mutating func stringArray(_ a: [String]) { array(a) { $0.string($1) } }
    public mutating func numberArray(_ a: [Double]) { array(a) { $0.number($1) } }

    mutating func array<V>(_ a: [V], _ element: (inout JSONText, V) -> Void) {
        text += "["
        for (n, v) in a.enumerated() {
            if n > 0 { text += "," }
            element(&self, v)
        }
        text += "]"
    }

    public mutating func stringMap(_ m: [String: String]) { map(m) { $0.string($1) } }
    public mutating func numberMap(_ m: [String: Double]) { map(m) { $0.number($1) } }
    public mutating func intMap(_ m: [String: Int]) { map(m) { $0.number($1) } }

    mutating func map<V>(_ m: [String: V], _ value: (inout JSONText, V) -> Void) {
        open()
        for k in m.keys.sorted() {
            key(k)
            value(&self, m[k]!)
        }
        close()
    }
}
