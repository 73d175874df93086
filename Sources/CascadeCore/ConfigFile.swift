import Foundation

/// A configuration file in a subset of TOML: `key = value` lines, `[table]` headers that prefix
/// the keys after them, `#` comments. Values are numbers, `true`/`false`, quoted strings, or
/// arrays of those (`[128, 64]`, read as the comma-separated list `128,64`). Every key must be
/// a declared ``Setting``; an unknown key or a bad value is refused naming the file, the line
/// and the key's full path, and nothing is applied.
public enum ConfigFile {
    /// One `key = value` of a file, the environment or the command line.
    public struct Assignment: Sendable, Equatable {
        public var key: String
        public var value: String
        /// Where it came from, for messages ("cascade.toml:12", "CASCADE_RANK_EPOCHS", "--set").
        public var source: String
        public init(key: String, value: String, source: String) {
            self.key = key
            self.value = value
            self.source = source
        }
    }

    /// The assignments of `text`, in order.
    public static func parse(_ text: String, source: String) throws(CascadeError) -> [Assignment] {
        var out: [Assignment] = []
        var table = ""
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let at = "\(source):\(n + 1)"
            let line = stripComment(String(raw)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), !line.hasPrefix("[[") else { throw .badInput(file: source, line: n + 1, reason: "a table header is [name]") }
                table = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                guard !table.isEmpty, table.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isBareKey) else {
                    throw .badInput(file: source, line: n + 1, reason: "bad table name '\(table)'")
                }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw .badInput(file: source, line: n + 1, reason: "expected key = value, got '\(line)'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard key.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isBareKey) else {
                throw .badInput(file: source, line: n + 1, reason: "bad key '\(key)'")
            }
            let value = try literal(line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces), at: source, line: n + 1)
            out.append(Assignment(key: table.isEmpty ? key : "\(table).\(key)", value: value, source: at))
        }
        return out
    }

    /// Assignments from `CASCADE_<KEY>` variables, the key upper-cased with dots as underscores
    /// (`rank.epochs` is `CASCADE_RANK_EPOCHS`). Variables that name no setting are left alone
    /// (other CASCADE_ variables exist: the store, the keys, the log level).
    public static func environment<Root>(_ env: [String: String], settings: [Setting<Root>]) -> [Assignment] {
        var out: [Assignment] = []
        for s in settings where !s.isFamily {
            let name = envName(s.key)
            if let v = env[name] { out.append(Assignment(key: s.key, value: v, source: name)) }
        }
        return out
    }

    public static func envName(_ key: String) -> String {
        "CASCADE_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// Applies `assignments` to a copy of `root` in the order of `settings` (then their own), so
    /// a later source overrides an earlier one; returns it. The first unknown key or bad value
    /// throws, naming its source and the allowed values; `root` is then unchanged.
    public static func apply<Root>(_ assignments: [Assignment], settings: [Setting<Root>], to root: Root) throws(CascadeError) -> Root {
        var index: [String: Int] = [:]
        for (i, s) in settings.enumerated() { index[s.key] = i }
        var ordered: [(Int, Int, Assignment)] = []
        for (k, a) in assignments.enumerated() {
            guard let i = index[a.key] ?? settings.firstIndex(where: { $0.isFamily && a.key.hasPrefix($0.key + ".") }) else {
                let hint = closest(a.key, among: settings.map(\.key)).map { "; did you mean \($0)?" } ?? ""
                throw .invalid("\(a.source): unknown key \(a.key)\(hint) (`cascade config init` lists every key)")
            }
            ordered.append((i, k, a))
        }
        var out = root
        for (i, _, a) in ordered.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
            let s = settings[i]
            do {
                if s.isFamily { try s.write(&out, key: a.key, a.value) } else { try s.write(&out, a.value) }
            } catch { throw .invalid("\(a.source): \(error.message)") }
        }
        return out
    }

    /// The file `config init` writes: every setting with its doc, allowed values and current value.
    public static func render<Root>(_ root: Root, settings: [Setting<Root>], header: String) -> String {
        var lines = header.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)".trimmingCharacters(in: .whitespaces) }
        var tables: [String: [Setting<Root>]] = [:]
        var order: [String] = []
        for s in settings where !s.isFamily {
            let table = s.key.contains(".") ? String(s.key[..<s.key.lastIndex(of: ".")!]) : ""
            if tables[table] == nil { order.append(table) }
            tables[table, default: []].append(s)
        }
        order.sort { ($0.isEmpty ? 0 : 1) < ($1.isEmpty ? 0 : 1) }
        for table in order {
            lines.append("")
            if !table.isEmpty { lines.append("[\(table)]") }
            for s in tables[table]! {
                let key = String(s.key.split(separator: ".").last!)
                lines.append("# \(s.doc) Allowed: \(s.allowed).")
                lines.append("\(key) = \(tomlValue(s.read(root)))")
            }
        }
        for s in settings where s.isFamily {
            lines.append("")
            lines.append("# \(s.doc) Allowed: \(s.allowed).")
            lines += s.example.map { "# \($0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The text value in TOML syntax: numbers and booleans bare, lists as arrays, the rest quoted.
    static func tomlValue(_ text: String) -> String {
        if text == "true" || text == "false" || Double(text) != nil && !text.hasPrefix("+") { return text }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1, parts.allSatisfy({ Double($0) != nil }) { return "[" + parts.joined(separator: ", ") + "]" }
        return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func isBareKey(_ s: Substring) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    /// Drops a `#` comment that is not inside a quoted string.
    static func stripComment(_ line: String) -> String {
        var quoted = false, escaped = false
        for (i, c) in zip(line.indices, line) {
            if escaped { escaped = false; continue }
            if c == "\\" && quoted { escaped = true; continue }
            if c == "\"" { quoted.toggle() }
            if c == "#" && !quoted { return String(line[..<i]) }
        }
        return line
    }

    /// A TOML value as the text a setting parses.
    static func literal(_ v: String, at source: String, line: Int) throws(CascadeError) -> String {
        if v.hasPrefix("[") {
            guard v.hasSuffix("]") else { throw .badInput(file: source, line: line, reason: "an array ends with ]") }
            let inner = v.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
            if inner.isEmpty { return "" }
            var items: [String] = []
            for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
                let item = try literal(part.trimmingCharacters(in: .whitespaces), at: source, line: line)
                items.append(item)
            }
            return items.joined(separator: ",")
        }
        if v.hasPrefix("\"") {
            guard v.count >= 2, v.hasSuffix("\"") else { throw .badInput(file: source, line: line, reason: "unterminated string \(v)") }
            var out = "", escaped = false
            for c in v.dropFirst().dropLast() {
                if escaped {
                    switch c {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    default: out.append(c)
                    }
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else {
                    out.append(c)
                }
            }
            return out
        }
        guard !v.isEmpty else { throw .badInput(file: source, line: line, reason: "a key needs a value") }
        let number = v.replacingOccurrences(of: "_", with: "")
        return Double(number) != nil ? number : v
    }

    /// The known key nearest to `key` by edit distance, when it is close.
    static func closest(_ key: String, among keys: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, ca) in a.enumerated() {
                var diagonal = row[0]
                row[0] = i + 1
                for (j, cb) in b.enumerated() {
                    let up = row[j + 1]
                    row[j + 1] = min(up + 1, row[j] + 1, diagonal + (ca == cb ? 0 : 1))
                    diagonal = up
                }
            }
            return row[b.count]
        }
        let a = Array(key.lowercased())
        guard let best = keys.map({ ($0, distance(a, Array($0.lowercased()))) }).min(by: { $0.1 < $1.1 }),
              best.1 <= max(2, key.count / 4) else { return nil }
        return best.0
    }
}

extension CascadeError {
    /// The message without the kind's prefix.
    public var message: String {
        switch self {
        case .invalid(let m), .notFound(let m), .storage(let m), .corrupt(let m): return m
        case .badInput(let f, let l, let r): return l > 0 ? "\(f):\(l): \(r)" : "\(f): \(r)"
        }
    }
}
