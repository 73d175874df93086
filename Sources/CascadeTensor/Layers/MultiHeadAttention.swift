import Foundation

/// Multi-head scaled dot-product self-attention (Vaswani et al., "Attention Is All You Need",
/// 2017) over a sequence x [B, T, D]: per head h, softmax(Q_h K_h^T / sqrt(D / H)) V_h with
/// Q, K, V = x W_q, x W_k, x W_v (each [D, D] + bias), heads concatenated and projected by W_o.
/// An optional key mask [B, T] (1 = real step, 0 = padding) removes padded keys; a query row
/// whose keys are all padded gets zeros. Padded query steps still produce outputs (mask them
/// downstream). With `causal`, step t attends to steps 0...t only (a left-to-right model such as
/// SASRec). Parameters `<name>.{query,key,value,output}.{weight,bias}`.
/// Cost: O(B T D^2) for the projections plus O(B T^2 D) for the attention, both ways.
public final class MultiHeadAttention: ParameterContainer {
    public let name: String
    public let dim: Int
    public let heads: Int
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let output: Linear

    public init(name: String, dim: Int, heads: Int, seed: UInt64 = 1) {
        precondition(dim > 0 && heads > 0 && dim % heads == 0, "MultiHeadAttention \(name): dim \(dim) must be a positive multiple of heads \(heads)")
        self.name = name
        self.dim = dim
        self.heads = heads
        query = Linear(name: "\(name).query", in: dim, out: dim, seed: seed)
        key = Linear(name: "\(name).key", in: dim, out: dim, seed: seed)
        value = Linear(name: "\(name).value", in: dim, out: dim, seed: seed)
        output = Linear(name: "\(name).output", in: dim, out: dim, seed: seed)
    }

    public var parameters: [Parameter] { query.parameters + key.parameters + value.parameters + output.parameters }

    /// x [B, T, D] (and mask [B, T]) -> [B, T, D].
    public func callAsFunction(_ x: Variable, mask: Tensor? = nil, causal: Bool = false) throws -> Variable {
        let s = x.value.shape
        try requireShape(s.rank == 3 && s[2] == dim, layer: name, kind: "MultiHeadAttention", s,
                         expected: Shape(s[0], s.rank > 1 ? s[1] : 1, dim), "input must be [B, T, \(dim)]")
        let b = s[0], t = s[1], h = heads, dh = dim / heads
        if let mask {
            try requireShape(mask.shape == Shape(b, t), layer: name, kind: "MultiHeadAttention", mask.shape,
                             expected: Shape(b, t), "key mask must be [B, T] for input \(s)")
        }
        let flat = try x.reshaped([b * t, dim])
        // [B*T, D] -> [B, T, H, dh] -> [B, H, T, dh] -> [B*H, T, dh]
        func split(_ v: Variable) throws -> Variable {
            try v.reshaped([b, t, h, dh]).permuted([0, 2, 1, 3]).reshaped([b * h, t, dh])
        }
        let q = try split(query(flat)), k = try split(key(flat)), v = try split(value(flat))
        let scores = try q.batchedMatmul(k, transposeOther: true) * (1 / Float(dh).squareRoot())  // [B*H, T, T]
        let weights: Variable
        if causal {
            // One mask row per (batch, head, query step): keys up to the query step, not padded.
            let full = Tensor(shape: [b, h * t, t])
            for bi in 0..<b {
                for hi in 0..<h {
                    for qi in 0..<t {
                        let row = full.base + (bi * h * t + hi * t + qi) * t
                        for kj in 0...qi { row[kj] = mask.map { $0.base[bi * t + kj] } ?? 1 }
                    }
                }
            }
            weights = try scores.reshaped([b, h * t, t]).maskedSoftmax(full).reshaped([b * h, t, t])
        } else if let mask {
            weights = try scores.reshaped([b, h * t, t]).maskedSoftmax(mask).reshaped([b * h, t, t])
        } else {
            weights = scores.softmax()
        }
        let context = try weights.batchedMatmul(v)  // [B*H, T, dh]
        let merged = try context.reshaped([b, h, t, dh]).permuted([0, 2, 1, 3]).reshaped([b * t, dim])
        return try output(merged).reshaped([b, t, dim])
    }
}
