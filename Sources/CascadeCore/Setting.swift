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
    public let doc: String
    /// What values are allowed, for messages and `config init` ("integer in 1...10000").
    public let allowed: String
    /// The current value as text.
    public let read: (Root) -> String
    /// Parses and stores a value; throws ``CascadeError/invalid(_:)`` naming the key and the allowed values.
    public let write: (inout Root, String) throws(CascadeError) -> Void

    public init(key: String, doc: String, allowed: String, read: @escaping (Root) -> String,
                write: @escaping (inout Root, String) throws(CascadeError) -> Void) {
        self.key = key
        self.doc = doc
        self.allowed = allowed
        self.read = read
        self.write = write
    }

    /// The same setting on a larger struct that holds `Root` at `path`, under `prefix.`.
    public func scoped<Outer>(_ prefix: String, _ path: WritableKeyPath<Outer, Root>) -> Setting<Outer> {
        let read = self.read, write = self.write
        return Setting<Outer>(key: prefix.isEmpty ? key : "\(prefix).\(key)", doc: doc, allowed: allowed,
                              read: { read($0[keyPath: path]) },
                              write: { (outer: inout Outer, text: String) throws(CascadeError) in try write(&outer[keyPath: path], text) })
    }

    /// The same setting reached through a getter and setter (parameters kept in a dictionary).
    public func scoped<Outer>(_ prefix: String, get: @escaping (Outer) -> Root, set: @escaping (inout Outer, Root) -> Void) -> Setting<Outer> {
        let read = self.read, write = self.write
        return Setting<Outer>(key: prefix.isEmpty ? key : "\(prefix).\(key)", doc: doc, allowed: allowed,
                              read: { read(get($0)) },
                              write: { (outer: inout Outer, text: String) throws(CascadeError) in
                                  var inner = get(outer)
                                  try write(&inner, text)
                                  set(&outer, inner)
                              })
    }

    func refuse(_ text: String) -> CascadeError {
        .invalid("\(key) = \(text): must be \(allowed)")
    }
}

extension Setting {
    public static func int(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Int>, _ range: ClosedRange<Int>) -> Setting {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: "an integer \(Self.describe(range))", read: { String($0[keyPath: path]) },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        guard let v = Int(text.trimmed), range.contains(v) else { throw s.refuse(text) }
                        r[keyPath: path] = v
                    })
        return s
    }

    public static func optionalInt(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Int?>, _ range: ClosedRange<Int>) -> Setting {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: "an integer \(Self.describe(range)), or none", read: { $0[keyPath: path].map(String.init) ?? "none" },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        if text.trimmed == "none" { r[keyPath: path] = nil; return }
                        guard let v = Int(text.trimmed), range.contains(v) else { throw s.refuse(text) }
                        r[keyPath: path] = v
                    })
        return s
    }

    /// A Float; `allowed` describes `valid` ("> 0", "in [0, 1]").
    public static func float(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Float>, _ allowed: String,
                             _ valid: @escaping (Float) -> Bool) -> Setting {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: "a number \(allowed)", read: { formatNumber(Double($0[keyPath: path])) },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        guard let v = Float(text.trimmed), v.isFinite, valid(v) else { throw s.refuse(text) }
                        r[keyPath: path] = v
                    })
        return s
    }

    public static func optionalFloat(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Float?>, _ allowed: String,
                                     _ valid: @escaping (Float) -> Bool) -> Setting {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: "a number \(allowed), or none", read: { $0[keyPath: path].map { formatNumber(Double($0)) } ?? "none" },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        if text.trimmed == "none" { r[keyPath: path] = nil; return }
                        guard let v = Float(text.trimmed), v.isFinite, valid(v) else { throw s.refuse(text) }
                        r[keyPath: path] = v
                    })
        return s
    }

    /// A Double stored in `unit`s of the written value (86_400 stores days given as seconds).
    public static func double(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Double>, _ allowed: String,
                              unit: Double = 1, _ valid: @escaping (Double) -> Bool) -> Setting {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: "a number \(allowed)", read: { formatNumber($0[keyPath: path] / unit) },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        guard let v = Double(text.trimmed), v.isFinite, valid(v) else { throw s.refuse(text) }
                        r[keyPath: path] = v * unit
                    })
        return s
    }

    public static func optionalDouble(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Double?>, _ allowed: String,
                                      unit: Double = 1, _ valid: @escaping (Double) -> Bool) -> Setting {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: "a number \(allowed), or none",
                    read: { $0[keyPath: path].map { formatNumber($0 / unit) } ?? "none" },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        if text.trimmed == "none" { r[keyPath: path] = nil; return }
                        guard let v = Double(text.trimmed), v.isFinite, valid(v) else { throw s.refuse(text) }
                        r[keyPath: path] = v * unit
                    })
        return s
    }

    public static func bool(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, Bool>) -> Setting {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: "true or false", read: { $0[keyPath: path] ? "true" : "false" },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        switch text.trimmed {
                        case "true": r[keyPath: path] = true
                        case "false": r[keyPath: path] = false
                        default: throw s.refuse(text)
                        }
                    })
        return s
    }

    /// One of an enumeration's raw values.
    public static func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, E>) -> Setting
    where E.RawValue == String {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: "one of \(E.allCases.map(\.rawValue).joined(separator: ", "))",
                    read: { $0[keyPath: path].rawValue },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        guard let v = E(rawValue: text.trimmed) else { throw s.refuse(text) }
                        r[keyPath: path] = v
                    })
        return s
    }

    /// One of the named values.
    public static func named<V: Equatable>(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, V>, _ values: KeyValuePairs<String, V>) -> Setting {
        var s: Setting!
        let table = Array(values)
        s = Setting(key: key, doc: doc, allowed: "one of \(table.map(\.key).joined(separator: ", "))",
                    read: { r in table.first { $0.value == r[keyPath: path] }?.key ?? "?" },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        guard let v = table.first(where: { $0.key == text.trimmed })?.value else { throw s.refuse(text) }
                        r[keyPath: path] = v
                    })
        return s
    }

    /// A comma-separated list of integers, each in `range`.
    public static func intList(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, [Int]>, _ range: ClosedRange<Int>,
                               allowEmpty: Bool = false) -> Setting {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: "a list of integers \(Self.describe(range))\(allowEmpty ? "" : ", not empty")",
                    read: { $0[keyPath: path].map(String.init).joined(separator: ",") },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        let parts = text.split(separator: ",").map { String($0).trimmed }
                        let values = parts.compactMap { Int($0) }
                        guard values.count == parts.count, allowEmpty || !values.isEmpty, values.allSatisfy(range.contains) else { throw s.refuse(text) }
                        r[keyPath: path] = values
                    })
        return s
    }

    /// A comma-separated list of words.
    public static func stringList(_ key: String, _ doc: String, _ path: WritableKeyPath<Root, [String]>, _ allowed: String,
                                  _ valid: @escaping ([String]) -> Bool) -> Setting {
        var s: Setting!
        s = Setting(key: key, doc: doc, allowed: allowed, read: { $0[keyPath: path].joined(separator: ",") },
                    write: { (r: inout Root, text: String) throws(CascadeError) in
                        let values = text.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
                        guard valid(values) else { throw s.refuse(text) }
                        r[keyPath: path] = values
                    })
        return s
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
