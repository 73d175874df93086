/// Errors Cascade reports to its callers. Every message says what was wrong, where and why.
public enum CascadeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A value given by the caller is not acceptable.
    case invalid(String)
    /// Something named by the caller does not exist.
    case notFound(String)
    /// An input file could not be used; `line` is 1-based, 0 when the whole file is at fault.
    case badInput(file: String, line: Int, reason: String)
    /// The storage layer failed.
    case storage(String)
    /// A saved artifact is malformed or of an unknown version.
    case corrupt(String)

    public var description: String {
        switch self {
        case .invalid(let m): return "invalid input: \(m)"
        case .notFound(let m): return "not found: \(m)"
        case .badInput(let f, let l, let r): return l > 0 ? "\(f):\(l): \(r)" : "\(f): \(r)"
        case .storage(let m): return "storage error: \(m)"
        case .corrupt(let m): return "corrupt artifact: \(m)"
        }
    }
}
