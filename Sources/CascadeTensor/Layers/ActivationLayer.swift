/// Activations a hidden layer can use. `prelu` and `dice` carry learned per-feature slopes
/// (and Dice its batch statistics); the others are parameter-free.
public enum HiddenActivation: Sendable, Equatable {
    case identity, relu, sigmoid, tanh, gelu
    case leakyReLU(slope: Float)
    case swish(beta: Float)
    /// He et al. 2015: learned slope per feature for negative inputs.
    case prelu
    /// Zhou et al. 2018 (DIN): PReLU with a data-adaptive, batch-normalized switch point.
    case dice

    /// The fused GEMM-epilogue activation equal to this one, if any.
    var fused: Activation? {
        switch self {
        case .identity: return .identity
        case .relu: return .relu
        case .sigmoid: return .sigmoid
        case .tanh: return .tanh
        default: return nil
        }
    }
}

/// An activation as a layer over [B, features]: holds PReLU's slopes (`<name>.alpha`, initial
/// 0.25) or Dice's slopes (`<name>.alpha`, initial 0) and running statistics
/// (`<name>.running_mean`, `<name>.running_var`). O(n).
public final class ActivationLayer: ParameterContainer {
    public let name: String
    public let kind: HiddenActivation
    public let alpha: Parameter?
    public let state: BatchNormState?

    public init(name: String, kind: HiddenActivation, features: Int) {
        self.name = name
        self.kind = kind
        switch kind {
        case .prelu:
            alpha = Parameter("\(name).alpha", Tensor(shape: [features], repeating: 0.25))
            state = nil
        case .dice:
            alpha = Parameter("\(name).alpha", Tensor(shape: [features]))
            state = BatchNormState(name: name, features: features)
        default:
            alpha = nil
            state = nil
        }
    }

    public var parameters: [Parameter] { (alpha.map { [$0] } ?? []) + (state?.parameters ?? []) }

    public func callAsFunction(_ x: Variable) throws -> Variable {
        let t = x.tape
        do {
            switch kind {
            case .identity: return x
            case .relu: return x.relu()
            case .sigmoid: return x.sigmoid()
            case .tanh: return x.tanh()
            case .gelu: return x.gelu()
            case .leakyReLU(let s): return x.leakyReLU(slope: s)
            case .swish(let b): return x.swish(beta: b)
            case .prelu: return try x.prelu(t.parameter(alpha!))
            case .dice: return try x.dice(t.parameter(alpha!), state: state!)
            }
        } catch TensorError.shapeMismatch(let op, let lhs, let rhs, let reason) {
            throw TensorError.shapeMismatch(op: "\(op) in \(name)", lhs: lhs, rhs: rhs, reason: reason)
        }
    }
}
