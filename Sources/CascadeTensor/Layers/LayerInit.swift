import Foundation

/// Deterministic weight initializers for the layers (same seed, same weights on every run).
public enum Initializer {
    /// Xavier/Glorot uniform (Glorot & Bengio 2010): U(-a, a) with a = sqrt(6 / (fanIn + fanOut)).
    /// Suits layers followed by sigmoid, tanh or nothing.
    public static func xavier(_ dims: [Int], fanIn: Int, fanOut: Int, seed: UInt64) -> Tensor {
        let a = (6 / Float(Swift.max(fanIn + fanOut, 1))).squareRoot()
        return Tensor.uniform(dims, in: -a...a, seed: seed)
    }

    /// He/Kaiming normal (He et al. 2015): N(0, 2 / fanIn). Suits ReLU-family layers.
    public static func he(_ dims: [Int], fanIn: Int, seed: UInt64) -> Tensor {
        Tensor.normal(dims, std: (2 / Float(Swift.max(fanIn, 1))).squareRoot(), seed: seed)
    }

    /// A per-layer seed derived from a model seed and the layer's name (FNV-1a of the name mixed
    /// into the seed), so layers built from one seed get different weights.
    public static func seed(_ base: UInt64, _ name: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var r = TensorRandom(seed: base ^ h)
        return r.next()
    }
}

/// Shape check shared by the layers: throws a `shapeMismatch` naming the layer.
func requireShape(_ ok: Bool, layer: String, kind: String, _ got: Shape, expected: Shape, _ reason: String) throws {
    guard ok else {
        throw TensorError.shapeMismatch(op: "\(kind) \(layer)", lhs: got, rhs: expected, reason: reason)
    }
}
