/// Stochastic gradient descent with optional momentum (Polyak heavy ball, or Nesterov as in
/// Sutskever et al., "On the importance of initialization and momentum in deep learning",
/// ICML 2013), in the form PyTorch uses:
///
///     g' = g + weightDecay * w
///     b  = momentum * b + g'                      (b starts at 0)
///     w -= rate * (nesterov ? g' + momentum * b : b)
///
/// Without momentum there is no state and the update is `w -= rate * g'`. Row gradients of
/// sparse tables are applied densely (momentum decays every row). O(n) per parameter, SIMD.
public final class SGD: GradientOptimizer {
    public let momentum: Float
    public let nesterov: Bool
    /// L2 penalty coefficient added to the gradient (coupled weight decay).
    public let weightDecay: Float

    /// - Parameters:
    ///   - learningRate: constant rate, used when `schedule` is nil.
    ///   - momentum: 0 disables the momentum buffer.
    ///   - nesterov: Nesterov momentum (requires momentum > 0).
    public init(learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0,
                schedule: (any LearningRateSchedule)? = nil, clipping: GradientClipping = .none) {
        self.momentum = momentum
        self.nesterov = nesterov && momentum > 0
        self.weightDecay = weightDecay
        super.init(schedule: schedule ?? ConstantRate(learningRate), clipping: clipping)
    }

    override public var kind: String { "sgd" }
    override var slotNames: [String] { momentum > 0 ? ["momentum"] : [] }

    private var rate: Float = 0
    override func prepare(step: Int, rate: Float) { self.rate = rate }

    override func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s0: UnsafeMutablePointer<Float>,
                         _ s1: UnsafeMutablePointer<Float>, count n: Int) {
        let lr = V(repeating: rate), wd = V(repeating: weightDecay), mu = V(repeating: momentum)
        if momentum == 0 {
            OptimizerKernels.apply(w, g, n) { w, g in w -= lr * (g + wd * w) }
        } else if nesterov {
            OptimizerKernels.apply(w, g, s0, n) { w, g, b in
                let gg = g + wd * w
                b = mu * b + gg
                w -= lr * (gg + mu * b)
            }
        } else {
            OptimizerKernels.apply(w, g, s0, n) { w, g, b in
                b = mu * b + (g + wd * w)
                w -= lr * b
            }
        }
    }
}
