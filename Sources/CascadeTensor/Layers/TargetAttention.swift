/// Target attention of the Deep Interest Network (Zhou et al., "Deep Interest Network for
/// Click-Through Rate Prediction", KDD 2018): the candidate item (query [B, D]) weighs each
/// step of the user's behaviour sequence (keys [B, T, D]) by a score from a small MLP (the
/// "activation unit") over [q, k, q - k, q * k], and the output is the weighted sum of the
/// keys [B, D]. As in DIN the scores are used unnormalized (so the output's scale carries the
/// intensity of the interest); `normalize: true` applies a (masked) softmax instead. Padded
/// steps (mask 0) contribute nothing.
///
/// Parameters: the unit MLP `<name>.unit.*` (sizes [4D, hidden..., 1], Dice by default).
/// Cost: O(B T (4D h1 + h1 h2 + ...)) for the unit plus O(B T D), both ways.
public final class TargetAttention: ParameterContainer {
    public let name: String
    public let dim: Int
    public let normalize: Bool
    public let unit: MLP

    public init(name: String, dim: Int, hidden: [Int] = [36], activation: HiddenActivation = .dice,
                normalize: Bool = false, seed: UInt64 = 1) {
        precondition(dim > 0, "TargetAttention \(name): dim must be positive")
        self.name = name
        self.dim = dim
        self.normalize = normalize
        unit = MLP(name: "\(name).unit", sizes: [4 * dim] + hidden + [1], activation: activation, seed: seed)
    }

    public var parameters: [Parameter] { unit.parameters }

    /// Attention weights [B, T] (masked steps 0).
    public func weights(query: Variable, keys: Variable, mask: Tensor? = nil) throws -> Variable {
        let qs = query.value.shape, ks = keys.value.shape
        try requireShape(qs.rank == 2 && qs[1] == dim, layer: name, kind: "TargetAttention", qs,
                         expected: Shape(qs[0], dim), "query must be [B, \(dim)]")
        try requireShape(ks.rank == 3 && ks[0] == qs[0] && ks[2] == dim, layer: name, kind: "TargetAttention", ks,
                         expected: Shape(qs[0], ks.rank == 3 ? ks[1] : 1, dim), "keys must be [B, T, \(dim)] with the query's B")
        let b = ks[0], t = ks[1]
        if let mask {
            try requireShape(mask.shape == Shape(b, t), layer: name, kind: "TargetAttention", mask.shape,
                             expected: Shape(b, t), "mask must be [B, T] for keys \(ks)")
        }
        let q = try query.reshaped([b, 1, dim]).expanded(to: [b, t, dim])
        let features = try Variable.concat([q, keys, q - keys, q * keys], axis: 2).reshaped([b * t, 4 * dim])
        let scores = try unit(features).reshaped([b, t])
        if normalize { return try mask.map { try scores.maskedSoftmax($0) } ?? scores.softmax() }
        return try mask.map { try scores.masked(by: $0) } ?? scores
    }

    /// query [B, D], keys [B, T, D], mask [B, T] -> [B, D].
    public func callAsFunction(query: Variable, keys: Variable, mask: Tensor? = nil) throws -> Variable {
        let w = try weights(query: query, keys: keys, mask: mask)
        let b = keys.value.shape[0], t = keys.value.shape[1]
        return try w.reshaped([b, 1, t]).batchedMatmul(keys).reshaped([b, dim])
    }
}
