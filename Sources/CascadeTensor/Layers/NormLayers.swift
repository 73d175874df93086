/// Layer normalization (Ba et al. 2016) over the last axis, with a learned gain (ones) and
/// bias (zeros): parameters `<name>.gain`, `<name>.bias` of [features]. Any rank; O(n).
public final class LayerNorm: ParameterContainer {
    public let name: String
    public let gain: Parameter
    public let bias: Parameter
    public let eps: Float

    public init(name: String, features: Int, eps: Float = 1e-5) {
        precondition(features > 0, "LayerNorm \(name): features must be positive")
        self.name = name
        self.eps = eps
        gain = Parameter("\(name).gain", Tensor(shape: [features], repeating: 1))
        bias = Parameter("\(name).bias", Tensor(shape: [features]))
    }

    public var parameters: [Parameter] { [gain, bias] }

    public func callAsFunction(_ x: Variable) throws -> Variable {
        try requireShape(x.value.shape.last == gain.shape[0], layer: name, kind: "LayerNorm", x.value.shape,
                         expected: gain.shape, "last axis must have \(gain.shape[0]) features")
        return try x.layerNorm(gain: x.tape.parameter(gain), bias: x.tape.parameter(bias), eps: eps)
    }
}

/// Batch normalization (Ioffe & Szegedy 2015) over the first (batch) dimension of [B, F]:
/// batch statistics on training tapes (updating the running ones), running statistics on
/// inference tapes. Parameters `<name>.gain`, `<name>.bias` and the non-trainable
/// `<name>.running_mean`, `<name>.running_var` (saved with the model). O(n).
public final class BatchNorm: ParameterContainer {
    public let name: String
    public let gain: Parameter
    public let bias: Parameter
    public let state: BatchNormState

    public init(name: String, features: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        precondition(features > 0, "BatchNorm \(name): features must be positive")
        self.name = name
        gain = Parameter("\(name).gain", Tensor(shape: [features], repeating: 1))
        bias = Parameter("\(name).bias", Tensor(shape: [features]))
        state = BatchNormState(name: name, features: features, momentum: momentum, eps: eps)
    }

    public var parameters: [Parameter] { [gain, bias] + state.parameters }

    public func callAsFunction(_ x: Variable) throws -> Variable {
        let f = gain.shape[0]
        try requireShape(x.value.rank >= 2 && x.value.count == x.value.shape[0] * f, layer: name, kind: "BatchNorm",
                         x.value.shape, expected: Shape(x.value.shape[0], f), "input must be [B, \(f)]")
        return try x.batchNorm(gain: x.tape.parameter(gain), bias: x.tape.parameter(bias), state: state)
    }
}
