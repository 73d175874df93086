/// Errors reported by the public tensor operations. Every case names the operation and the
/// shapes involved so a failing call can be diagnosed from the message alone.
public enum TensorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two operands (or an operand and an output) have incompatible shapes.
    case shapeMismatch(op: String, lhs: Shape, rhs: Shape, reason: String)
    /// A reshape asked for a shape whose element count differs from the tensor's.
    case invalidReshape(from: Shape, to: [Int])
    /// A shape or argument is not acceptable for the operation (bad rank, negative size, ...).
    case invalidArgument(op: String, reason: String)
    /// An index (row id, slice bound) lies outside the valid range.
    case indexOutOfRange(op: String, index: Int, bound: Int)
    /// A value that must be finite (a loss, a gradient) is NaN or infinite.
    case nonFinite(op: String, reason: String)
    /// A saved model or parameter file is unreadable: truncated, wrong version, unknown op,
    /// a tensor missing or of the wrong shape. `path` names the file (or "memory").
    case corruptFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let op, let lhs, let rhs, let reason):
            return "\(op): shape mismatch between \(lhs) and \(rhs): \(reason)"
        case .invalidReshape(let from, let to):
            let wanted = "[" + to.map(String.init).joined(separator: ", ") + "]"
            return "reshape: cannot reshape \(from) (\(from.count) elements) to \(wanted)"
        case .invalidArgument(let op, let reason):
            return "\(op): \(reason)"
        case .indexOutOfRange(let op, let index, let bound):
            return "\(op): index \(index) out of range 0..<\(bound)"
        case .nonFinite(let op, let reason):
            return "\(op): \(reason)"
        case .corruptFile(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
