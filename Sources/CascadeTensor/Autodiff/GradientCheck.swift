/// Numerical gradient checking by central differences, for ops, layers and whole models.
///
/// The function under test maps inputs (and parameters) to any output; the check reduces the
/// output to L = sum(out * R) with a fixed random R, so every output element matters with a
/// different weight. The analytic gradient comes from one `backward`; the numerical one from
/// (L(x + eps) - L(x - eps)) / 2 eps per element, with L summed in Float64. At most
/// `maxElementsPerTensor` elements of each tensor are probed (spread evenly), so large layers
/// stay cheap. Each tape is created with the same seed, so dropout masks repeat. Where the
/// function has a kink within the step (a ReLU switching: the forward and backward one-sided
/// differences disagree), the probe is skipped and counted; a check with more than a quarter of
/// its probes at kinks fails, so a function that is kinked everywhere cannot pass vacuously.
public enum GradientCheck {
    public struct Result: CustomStringConvertible {
        /// Largest |analytic - numeric| / (atol + rtol max(|analytic|, |numeric|)); <= 1 passes.
        public var worstRatio: Double = 0
        public var worst: String = "none"
        public var probed = 0
        /// Probes skipped because the function is not smooth within epsilon there (the one-sided
        /// differences disagree: a ReLU or max switching inside the step).
        public var skippedKinks = 0

        /// Every probed element agrees, and at most a quarter of the probes hit kinks.
        public var passed: Bool { worstRatio <= 1 && probed > 0 && skippedKinks * 4 <= probed + skippedKinks }
        public var description: String {
            "gradient check: \(probed) elements probed (\(skippedKinks) skipped at kinks), worst ratio \(worstRatio) at \(worst)"
        }
    }

    /// Checks gradients of `inputs` (all treated as requiring gradients) and `parameters`.
    /// - Parameters:
    ///   - epsilon: step of the central difference (values are Float32: 1e-2 to 1e-3 works).
    ///   - atol, rtol: tolerances combined as |a - n| <= atol + rtol max(|a|, |n|).
    ///   - training: the tapes' mode (dropout, batch norm).
    public static func check(inputs: [Tensor], parameters: [Parameter] = [], epsilon: Float = 1e-2,
                             atol: Double = 2e-3, rtol: Double = 2e-2, training: Bool = true,
                             maxElementsPerTensor: Int = 64, seed: UInt64 = 7,
                             _ f: (Tape, [Variable]) throws -> Variable) throws -> Result {
        for p in parameters { p.zeroGradient() }
        // Analytic pass.
        let tape = Tape(training: training, threads: 1, seed: seed)
        let vars = inputs.map { tape.constant($0, requiresGradient: true) }
        let out = try f(tape, vars)
        let weights = Tensor.normal(out.value.shape.dims, seed: seed &+ 1)
        let loss = try (out * tape.constant(weights)).sum()
        try tape.backward(loss, retainAll: true)
        var analytic: [(String, Tensor, Tensor)] = []  // name, value (perturbed in place), gradient
        for (i, v) in vars.enumerated() {
            analytic.append(("input \(i)", inputs[i], tape.gradient(of: v) ?? Tensor(shape: inputs[i].shape)))
        }
        for p in parameters { analytic.append((p.name, p.value, p.denseGradient())) }
        for p in parameters { p.zeroGradient() }

        func lossValue() throws -> Double {
            let t = Tape(training: training, threads: 1, seed: seed)
            let vs = inputs.map { t.constant($0) }
            let o = try f(t, vs)
            guard o.value.shape == weights.shape else {
                throw TensorError.shapeMismatch(op: "GradientCheck", lhs: weights.shape, rhs: o.value.shape,
                                                reason: "output shape changed between evaluations")
            }
            var s = 0.0
            let a = o.value.base, w = weights.base
            for i in 0..<o.value.count { s += Double(a[i]) * Double(w[i]) }
            return s
        }

        var result = Result()
        let center = try lossValue()
        // Float32 forward passes round the reduced value L to ~1e-7 relative, so a difference
        // quotient carries an error of about |L| 1e-7 / eps: allowed on top of atol.
        let roundoff = 4 * 1.2e-7 * Swift.abs(center) / Double(epsilon)
        for (name, value, grad) in analytic {
            let n = value.count
            let probes = Swift.min(n, maxElementsPerTensor)
            for j in 0..<probes {
                let idx = probes == n ? j : j * n / probes
                let saved = value.base[idx]
                value.base[idx] = saved + epsilon
                let plus = try lossValue()
                value.base[idx] = saved - epsilon
                let minus = try lossValue()
                value.base[idx] = saved
                let numeric = (plus - minus) / (2 * Double(epsilon))
                let forward = (plus - center) / Double(epsilon), backward = (center - minus) / Double(epsilon)
                let kinked = Swift.abs(forward - backward) > 4 * (atol + roundoff + rtol * Swift.max(Swift.abs(forward), Swift.abs(backward)))
                if kinked { result.skippedKinks += 1 }
                let a = Double(grad.base[idx])
                let ratio = Swift.abs(a - numeric) / (atol + roundoff + rtol * Swift.max(Swift.abs(a), Swift.abs(numeric)))
                if !kinked { result.probed += 1 }
                if !kinked && !(ratio <= result.worstRatio) {  // also catches NaN
                    result.worstRatio = ratio.isNaN ? .infinity : ratio
                    result.worst = "\(name)[\(idx)] analytic \(a) numeric \(numeric)"
                }
            }
        }
        return result
    }
}
