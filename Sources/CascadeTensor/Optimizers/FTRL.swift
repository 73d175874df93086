/// FTRL-Proximal (McMahan et al., "Ad Click Prediction: a View from the Trenches", KDD 2013,
/// Algorithm 1), per coordinate with state "z" and "n" (both start at 0):
///
///     sigma = (sqrt(n + g^2) - sqrt(n)) / alpha
///     z += g - sigma * w
///     n += g^2
///     w  = |z| <= l1 ? 0 : -(z - sign(z) l1) / ((beta + sqrt(n)) / alpha + l2)
///
/// `alpha` is the schedule's rate. With L1 > 0 many weights are exactly 0 (sparse models).
/// The weight is a function of (z, n), so coordinates with zero gradient do not change and
/// sparse tables are always updated lazily (only looked-up rows), which is exact here. A
/// coordinate never updated keeps its initial value; once updated its value is FTRL's (a
/// dense parameter therefore should start at 0). O(n) per parameter, SIMD.
public final class FTRL: GradientOptimizer {
    public let beta: Float, l1: Float, l2: Float

    /// - Parameters:
    ///   - alpha: per-coordinate learning-rate scale (used when `schedule` is nil).
    ///   - beta: smoothing of the per-coordinate rate (1 in the paper).
    ///   - l1, l2: regularization strengths (>= 0).
    public init(alpha: Float = 0.05, beta: Float = 1, l1: Float = 0, l2: Float = 0,
                schedule: (any LearningRateSchedule)? = nil, clipping: GradientClipping = .none) {
        self.beta = beta
        self.l1 = Swift.max(l1, 0)
        self.l2 = Swift.max(l2, 0)
        super.init(schedule: schedule ?? ConstantRate(alpha), clipping: clipping)
    }

    override public var kind: String { "ftrl" }
    override var slotNames: [String] { ["z", "n"] }
    override var lazyRows: Bool { true }

    private var alpha: Float = 1
    override func prepare(step: Int, rate: Float) { alpha = rate }

    override func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s0: UnsafeMutablePointer<Float>,
                         _ s1: UnsafeMutablePointer<Float>, count n: Int) {
        let invAlpha = V(repeating: 1 / alpha), vb = V(repeating: beta)
        let vl1 = V(repeating: l1), vl2 = V(repeating: l2)
        OptimizerKernels.apply(w, g, s0, s1, n) { w, g, z, n in
            let gg = g * g
            let root = OptimizerKernels.sqrt(n + gg)
            let sigma = (root - OptimizerKernels.sqrt(n)) * invAlpha
            z += g - sigma * w
            n += gg
            let shrunk = z - OptimizerKernels.copySign(vl1, z)
            let weight = -shrunk / ((vb + root) * invAlpha + vl2)
            w = weight.replacing(with: 0, where: OptimizerKernels.abs(z) .<= vl1)
        }
    }
}
