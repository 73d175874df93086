import CascadeTensor

/// Largest |a[i] - b[i]|; infinity when the lengths differ.
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var m: Float = 0
    for (x, y) in zip(a, b) {
        if x.isNaN != y.isNaN { return .infinity }
        if !x.isNaN { m = max(m, abs(x - y)) }
    }
    return m
}

/// Uniform random floats in [-1, 1), deterministic for a seed.
func randomFloats(_ n: Int, seed: UInt64) -> [Float] {
    var rng = TensorRandom(seed: seed)
    return (0..<n).map { _ in 2 * rng.nextUnitFloat() - 1 }
}
