/// Normalization applied in each hidden block of an `MLP`.
public enum HiddenNorm: Sendable, Equatable {
    case none, layerNorm, batchNorm
}

/// A multilayer perceptron over [B, sizes[0]] -> [B, sizes.last]. Each hidden block is
/// Linear -> (LayerNorm | BatchNorm) -> activation -> dropout; the last layer is Linear with
/// `outputActivation` (identity by default: logits or a regression output). With no norm and a
/// ReLU/sigmoid/tanh activation the activation is fused into the GEMM epilogue.
///
/// Parameters: `<name>.<i>.weight`, `<name>.<i>.bias` for layer i, `<name>.<i>.norm.*` and
/// `<name>.<i>.act.*` for hidden blocks. O(B sum of sizes[i] sizes[i+1]) forward, about twice
/// that backward.
public final class MLP: ParameterContainer {
    public let name: String
    public let sizes: [Int]
    public let linears: [Linear]
    /// Norm layers of the hidden blocks (empty for `.none`).
    public let norms: [ParameterContainer]
    /// Activation layers of the hidden blocks (identity where fused into the linear layer).
    public let activations: [ActivationLayer]
    public let norm: HiddenNorm
    public let dropout: Float

    /// One activation for every hidden layer.
    public convenience init(name: String, sizes: [Int], activation: HiddenActivation = .relu, norm: HiddenNorm = .none,
                            dropout: Float = 0, outputActivation: Activation = .identity, seed: UInt64 = 1) {
        self.init(name: name, sizes: sizes, activations: Array(repeating: activation, count: Swift.max(sizes.count - 2, 0)),
                  norm: norm, dropout: dropout, outputActivation: outputActivation, seed: seed)
    }

    /// One activation per hidden layer (`activations.count == sizes.count - 2`).
    public init(name: String, sizes: [Int], activations: [HiddenActivation], norm: HiddenNorm = .none,
                dropout: Float = 0, outputActivation: Activation = .identity, seed: UInt64 = 1) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 }, "MLP \(name): needs at least [in, out], all positive")
        precondition(activations.count == sizes.count - 2, "MLP \(name): needs one activation per hidden layer (\(sizes.count - 2))")
        precondition(dropout >= 0 && dropout < 1, "MLP \(name): dropout must be in [0, 1)")
        self.name = name
        self.sizes = sizes
        self.norm = norm
        self.dropout = dropout
        var linears: [Linear] = [], norms: [ParameterContainer] = [], acts: [ActivationLayer] = []
        let hidden = sizes.count - 2
        for i in 0...hidden {
            let last = i == hidden
            let activation: HiddenActivation = last ? .identity : activations[i]
            let fuse = !last && norm == .none ? activation.fused : nil
            let act: Activation = last ? outputActivation : (fuse ?? .identity)
            linears.append(Linear(name: "\(name).\(i)", in: sizes[i], out: sizes[i + 1], activation: act, seed: seed))
            guard !last else { break }
            switch norm {
            case .none: break
            case .layerNorm: norms.append(LayerNorm(name: "\(name).\(i).norm", features: sizes[i + 1]))
            case .batchNorm: norms.append(BatchNorm(name: "\(name).\(i).norm", features: sizes[i + 1]))
            }
            acts.append(ActivationLayer(name: "\(name).\(i).act", kind: fuse == nil ? activation : .identity, features: sizes[i + 1]))
        }
        self.linears = linears
        self.norms = norms
        self.activations = acts
    }

    public var parameters: [Parameter] {
        var ps: [Parameter] = []
        for i in linears.indices {
            ps += linears[i].parameters
            if i < norms.count { ps += norms[i].parameters }
            if i < activations.count { ps += activations[i].parameters }
        }
        return ps
    }

    /// x [B, sizes[0]] -> [B, sizes.last].
    public func callAsFunction(_ x: Variable) throws -> Variable {
        try requireShape(x.value.rank == 2 && x.value.shape[1] == sizes[0], layer: name, kind: "MLP", x.value.shape,
                         expected: Shape(x.value.shape[0], sizes[0]), "input must be [B, \(sizes[0])]")
        var h = x
        for i in linears.indices {
            h = try linears[i](h)
            guard i < activations.count else { break }
            if i < norms.count {
                if let ln = norms[i] as? LayerNorm { h = try ln(h) } else if let bn = norms[i] as? BatchNorm { h = try bn(h) }
            }
            h = try activations[i](h)
            if dropout > 0 { h = try h.dropout(rate: dropout) }
        }
        return h
    }
}
