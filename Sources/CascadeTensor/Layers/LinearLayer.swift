/// A dense layer y = act(x W + b) in one fused node (`Variable.linear`): x [B, in] -> [B, out].
/// Weights are He-initialized for ReLU and Xavier otherwise; the bias starts at zero.
/// Parameters `<name>.weight` [in, out] and `<name>.bias` [out]. O(B in out) forward,
/// twice that backward.
public final class Linear: ParameterContainer {
    public let name: String
    public let weight: Parameter
    public let bias: Parameter?
    public let activation: Activation
    public var inputSize: Int { weight.shape[0] }
    public var outputSize: Int { weight.shape[1] }

    public init(name: String, in nIn: Int, out nOut: Int, bias: Bool = true, activation: Activation = .identity,
                seed: UInt64 = 1) {
        precondition(nIn > 0 && nOut > 0, "Linear \(name): sizes must be positive")
        self.name = name
        self.activation = activation
        let s = Initializer.seed(seed, name)
        let w = activation == .relu ? Initializer.he([nIn, nOut], fanIn: nIn, seed: s)
                                    : Initializer.xavier([nIn, nOut], fanIn: nIn, fanOut: nOut, seed: s)
        weight = Parameter("\(name).weight", w)
        self.bias = bias ? Parameter("\(name).bias", Tensor(shape: [nOut])) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// x [B, in] -> [B, out].
    public func callAsFunction(_ x: Variable) throws -> Variable {
        try requireShape(x.value.rank == 2 && x.value.shape[1] == inputSize, layer: name, kind: "Linear",
                         x.value.shape, expected: Shape(x.value.shape[0], inputSize), "input must be [B, \(inputSize)]")
        let t = x.tape
        return try x.linear(t.parameter(weight), bias.map { t.parameter($0) }, activation: activation)
    }
}
