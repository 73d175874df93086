/// One declared option of a settings struct: its key, what it means, which values it takes, and
/// how it reads and writes as text. A struct declares its settings once (a list of these) and
/// every door reaches them through it: the config file, `CASCADE_*` environment variables,
/// `--set key=value`, experiment overrides, and `cascade config init`, which writes every key with
/// its doc and default.
///
/// Values travel as text in the config file's literal syntax: `300`, `0.9`, `true`, `max`,
/// `36,64` for a list, `none` for an absent optional.
public struct Setting<Root>: @unchecked Sendable {
    /// The key, relative to the struct (`neighbours`); tables prefix it (`channel.itemcf.neighbours`).
    public let key: String
    public private(set) var doc: String
    /// What values are allowed, for messages and `config init` ("an integer in 1...10000").
    public let allowed: String
    /// The current value as text.
    public let read: (Root) -> String
    /// Parses `text` and stores it; false (nothing stored) when the value is not allowed.
    let parse: (inout Root, String) -> Bool
    /// For a family of keys under `key.<name>.<rest>` (the scenes): stores one entry, given the
    /// part of the key after `key.`; nil for a plain setting.
    let entry: ((inout Root, _ rest: String, _ value: String) throws(CascadeError) -> Void)?
    /// What `config init` writes for a family (commented-out lines), in place of a value.
    public let example: [String]

    public init(key: String, doc: String, allowed: String, read: @escaping (Root) -> String, parse: @escaping (inout Root, String) -> Bool) {
        self.key = key
        self.doc = doc
        self.allowed = allowed
        self.read = read
        self.parse = parse
        entry = nil
        example = []
    }

    /// A family of keys `key.<name>.<rest>`, each stored by `entry` (which refuses what it does
    /// not accept, naming the key). `read` shows every entry, for comparisons.
    public init(family key: String, doc: String, allowed: String, example: [String], read: @escaping (Root) -> String,
                entry: @escaping (inout Root, _ rest: String, _ value: String) throws(CascadeError) -> Void) {
        self.key = key
        self.doc = doc
        self.allowed = allowed
        self.read = read
        self.example = example
        parse = { _, _ in false }
        self.entry = entry
    }

    public var isFamily: Bool { entry != nil }

    /// Stores `text`; a value outside ``allowed`` is refused naming the key, and changes nothing.
    public func write(_ root: inout Root, _ text: String) throws(CascadeError) {
        guard parse(&root, text) else { throw .invalid("\(key) = \(text): must be \(allowed)") }
    }

    /// Stores the entry `fullKey` (`key.<name>.<rest>`) of a family; refused unless `fullKey` is
    /// under this family, and whatever the family's entry refuses. Nothing changes on refusal.
    public func write(_ root: inout Root, key fullKey: String, _ text: String) throws(CascadeError) {
        guard let entry, fullKey.hasPrefix(key + ".") else { throw .invalid("\(fullKey): not a key of \(key)") }
        var copy = root
        try entry(&copy, String(fullKey.dropFirst(key.count + 1)), text)
        root = copy
    }

    /// The same setting with another doc (a doc completed where the setting is assembled).
    public func documented(_ doc: String) -> Setting {
        var s = self
        s.doc = doc
        return s
    }

    /// The same setting on a larger struct that holds `Root` at `path`, under `prefix.`.
    public func scoped<Outer>(_ prefix: String, _ path: WritableKeyPath<Outer, Root>) -> Setting<Outer> {
        let parse = self.parse, read = self.read
        let full = prefix.isEmpty ? key : "\(prefix).\(key)"
        if let entry {
            return Setting<Outer>(family: full, doc: doc, allowed: allowed, example: example, read: { read($0[keyPath: path]) },
                                  entry: { (o: inout Outer, rest: String, value: String) throws(CascadeError) in try entry(&o[keyPath: path], rest, value) })
        }
        return Setting<Outer>(key: full, doc: doc, allowed: allowed,
                              read: { read($0[keyPath: path]) }, parse: { parse(&$0[keyPath: path], $1) })
    }

    /// The same setting reached through a getter and setter (parameters kept in a dictionary).
    public func scoped<Outer>(_ prefix: String, get: @escaping (Outer) -> Root, set: @escaping (inout Outer, Root) -> Void) -> Setting<Outer> {
        let parse = self.parse, read = self.read
        return Setting<Outer>(key: prefix.isEmpty ? key : "\(prefix).\(key)", doc: doc, allowed: allowed, read: { read(get($0)) },
                              parse: { outer, text in
                                  var inner = get(outer)
                                  guard parse(&inner, text) else { return false }
                                  set(&outer, inner)
                                  return true
                              })
    }
}

extension Setting {
    /// A setting whose text parses to a `V` (nil: refused) that `valid` accepts, stored at `path`.
    static func value<V>(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, V>, allowed: String,
                         show: @escaping (V) -> String, parse: @escaping (String) -> V?, _ valid: @escaping (V) -> Bool = { _ in true }) -> Setting {
        Setting(key: key, doc: doc, allowed: allowed, read: { show($0[keyPath: path]) }, parse: { r, text in
            guard let v = parse(text.trimmed), valid(v) else { return false }
            r[keyPath: path] = v
            return true
        })
    }

    /// An optional: `none` clears it.
    static func optional<V>(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, V?>, allowed: String,
                            show: @escaping (V) -> String, parse: @escaping (String) -> V?, _ valid: @escaping (V) -> Bool) -> Setting {
        value(key, doc, path, allowed: allowed + ", or none", show: { $0.map(show) ?? "none" },
              parse: { $0 == "none" ? .some(nil) : parse($0).map { .some($0) } }, { $0.map(valid) ?? true })
    }

    public static func int(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Int>, _ range: ClosedRange<Int>) -> Setting {
        value(key, doc, path, allowed: "an integer \(describe(range))", show: String.init, parse: { Int($0) }, range.contains)
    }

    public static func optionalInt(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Int?>, _ range: ClosedRange<Int>) -> Setting {
        optional(key, doc, path, allowed: "an integer \(describe(range))", show: String.init, parse: { Int($0) }, range.contains)
    }

    /// A Float; `allowed` describes `valid` ("> 0", "in [0, 1]").
    public static func float(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Float>, _ allowed: String,
                             _ valid: @escaping (Float) -> Bool) -> Setting {
        value(key, doc, path, allowed: "a number \(allowed)", show: { formatNumber(Double($0)) }, parse: { Float($0) }) { $0.isFinite && valid($0) }
    }

    public static func optionalFloat(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Float?>, _ allowed: String,
                                     _ valid: @escaping (Float) -> Bool) -> Setting {
        optional(key, doc, path, allowed: "a number \(allowed)", show: { formatNumber(Double($0)) }, parse: { Float($0) }) { $0.isFinite && valid($0) }
    }

    /// A Double stored in `unit`s of the written value (86_400 stores days given as seconds).
    public static func double(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Double>, _ allowed: String,
                              unit: Double = 1, _ valid: @escaping (Double) -> Bool) -> Setting {
        value(key, doc, path, allowed: "a number \(allowed)", show: { formatNumber($0 / unit) },
              parse: { t in Double(t).flatMap { $0.isFinite && valid($0) ? $0 * unit : nil } })
    }

    public static func optionalDouble(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Double?>, _ allowed: String,
                                      unit: Double = 1, _ valid: @escaping (Double) -> Bool) -> Setting {
        optional(key, doc, path, allowed: "a number \(allowed)", show: { formatNumber($0 / unit) },
                 parse: { t in Double(t).flatMap { $0.isFinite && valid($0) ? $0 * unit : nil } }) { _ in true }
    }

    /// true or false (also yes/no and 1/0, as experiment configs write them).
    public static func bool(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Bool>) -> Setting {
        value(key, doc, path, allowed: "true or false", show: { $0 ? "true" : "false" }, parse: parseBool)
    }

    /// An optional Bool: true, false or none.
    public static func optionalBool(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Bool?>) -> Setting {
        optional(key, doc, path, allowed: "true or false", show: { $0 ? "true" : "false" }, parse: parseBool) { _ in true }
    }

    /// One of an enumeration's raw values.
    public static func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, E>) -> Setting
    where E.RawValue == String {
        value(key, doc, path, allowed: "one of \(E.allCases.map(\.rawValue).joined(separator: ", "))", show: \.rawValue, parse: { E(rawValue: $0) })
    }

    /// One of the named values.
    public static func named<V: Equatable>(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, V>, _ values: KeyValuePairs<String, V>) -> Setting {
        let table = Array(values)
        return value(key, doc, path, allowed: "one of \(table.map(\.key).joined(separator: ", "))",
                     show: { v in table.first { $0.value == v }?.key ?? "?" }, parse: { t in table.first { $0.key == t }?.value })
    }

    /// The values of a comma-separated list, nil when one does not parse.
    static func list<V>(_ text: String, _ parse: (String) -> V?) -> [V]? {
        let parts = text.split(separator: ",").map { String($0).trimmed }
        let values = parts.compactMap(parse)
        return values.count == parts.count ? values : nil
    }

    /// A comma-separated list of integers, each in `range`.
    public static func intList(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, [Int]>, _ range: ClosedRange<Int>,
                               allowEmpty: Bool = false) -> Setting {
        value(key, doc, path, allowed: "a list of integers \(describe(range))\(allowEmpty ? "" : ", not empty")",
              show: { $0.map(String.init).joined(separator: ",") }, parse: { list($0, Int.init) }) { (allowEmpty || !$0.isEmpty) && $0.allSatisfy(range.contains) }
    }

    /// A list of integers as ``intList``, or `none` for absent (the model's own default).
    public static func optionalIntList(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, [Int]?>, _ range: ClosedRange<Int>) -> Setting {
        optional(key, doc, path, allowed: "a list of integers \(describe(range)), not empty", show: { $0.map(String.init).joined(separator: ",") },
                 parse: { list($0, Int.init) }) { !$0.isEmpty && $0.allSatisfy(range.contains) }
    }

    /// A comma-separated list of numbers that `valid` accepts, or `none` for absent.
    public static func optionalDoubleList(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, [Double]?>, _ allowed: String,
                                          _ valid: @escaping ([Double]) -> Bool) -> Setting {
        optional(key, doc, path, allowed: allowed, show: { $0.map { String($0) }.joined(separator: ",") },
                 parse: { list($0, Double.init) }, valid)
    }

    /// A list of words as ``stringList``, or `none` for absent.
    public static func optionalStringList(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, [String]?>, _ allowed: String,
                                          _ valid: @escaping ([String]) -> Bool) -> Setting {
        optional(key, doc, path, allowed: allowed, show: { $0.joined(separator: ",") },
                 parse: { t in t.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty } }, valid)
    }

    /// A comma-separated list of words.
    public static func stringList(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, [String]>, _ allowed: String,
                                  _ valid: @escaping ([String]) -> Bool) -> Setting {
        value(key, doc, path, allowed: allowed, show: { $0.joined(separator: ",") },
              parse: { t in t.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty } }, valid)
    }

    /// true/yes/1 or false/no/0 (experiment configs write all three forms).
    static func parseBool(_ t: String) -> Bool? {
        switch t.lowercased() {
        case "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: return nil
        }
    }

    static func describe(_ r: ClosedRange<Int>) -> String {
        r.upperBound == Int.max ? ">= \(r.lowerBound)" : "in \(r.lowerBound)...\(r.upperBound)"
    }
}

/// Shortest text that reads back to the same number (`0.9`, not `0.8999999761581421`).
public func formatNumber(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    let f = Float(v)
    return Double(f) == v ? "\(f)" : "\(v)"
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
