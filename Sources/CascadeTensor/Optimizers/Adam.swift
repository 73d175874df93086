import Foundation

/// Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015) with bias
/// correction, in the PyTorch form:
///
///     g' = g + weightDecay * w                    (coupled L2, default 0)
///     m  = beta1 m + (1 - beta1) g'
///     v  = beta2 v + (1 - beta2) g'^2
///     w -= rate * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
///
/// State slots "m" and "v" per parameter. Row gradients of sparse tables are applied densely
/// (every row's moments decay); use `LazyAdam` to touch only the looked-up rows.
/// O(n) per parameter, SIMD.
public class Adam: GradientOptimizer {
    public let beta1: Float, beta2: Float, epsilon: Float
    /// Coupled L2 coefficient (added to the gradient).
    public let weightDecay: Float
    /// Decoupled weight decay (AdamW): `w -= rate * decoupledDecay * w` each step.
    let decoupledDecay: Float

    /// - Parameters:
    ///   - learningRate: constant rate, used when `schedule` is nil.
    ///   - weightDecay: L2 coefficient added to the gradient (not decoupled; see `AdamW`).
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, schedule: (any LearningRateSchedule)? = nil, clipping: GradientClipping = .none) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledDecay = 0
        super.init(schedule: schedule ?? ConstantRate(learningRate), clipping: clipping)
    }

    init(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, decoupledDecay: Float,
         schedule: (any LearningRateSchedule)?, clipping: GradientClipping) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = 0
        self.decoupledDecay = decoupledDecay
        super.init(schedule: schedule ?? ConstantRate(learningRate), clipping: clipping)
    }

    override public var kind: String { "adam" }
    override var slotNames: [String] { ["m", "v"] }

    private var rate: Float = 0, c1: Float = 1, c2: Float = 1
    override func prepare(step t: Int, rate: Float) {
        self.rate = rate
        c1 = Float(1 / (1 - pow(Double(beta1), Double(t))))
        c2 = Float(1 / (1 - pow(Double(beta2), Double(t))))
    }

    override func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s0: UnsafeMutablePointer<Float>,
                         _ s1: UnsafeMutablePointer<Float>, count n: Int) {
        let lr = V(repeating: rate), b1 = V(repeating: beta1), b2 = V(repeating: beta2)
        let o1 = V(repeating: 1 - beta1), o2 = V(repeating: 1 - beta2)
        let bc1 = V(repeating: c1), bc2 = V(repeating: c2), eps = V(repeating: epsilon)
        if weightDecay == 0 && decoupledDecay == 0 {
            OptimizerKernels.apply(w, g, s0, s1, n) { w, g, m, v in
                m = b1 * m + o1 * g
                v = b2 * v + o2 * (g * g)
                w -= lr * (m * bc1) / (OptimizerKernels.sqrt(v * bc2) + eps)
            }
        } else {
            let wd = V(repeating: weightDecay), decay = V(repeating: 1 - rate * decoupledDecay)
            OptimizerKernels.apply(w, g, s0, s1, n) { w, g, m, v in
                let gg = g + wd * w
                m = b1 * m + o1 * gg
                v = b2 * v + o2 * (gg * gg)
                w = w * decay - lr * (m * bc1) / (OptimizerKernels.sqrt(v * bc2) + eps)
            }
        }
    }
}

/// Adam with decoupled weight decay (Loshchilov and Hutter, "Decoupled Weight Decay
/// Regularization", ICLR 2019): each step first shrinks `w *= 1 - rate * weightDecay`, then
/// applies the Adam update of the raw gradient. O(n) per parameter.
public final class AdamW: Adam {
    public let decay: Float
    override public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 1e-2, schedule: (any LearningRateSchedule)? = nil, clipping: GradientClipping = .none) {
        decay = weightDecay
        super.init(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupledDecay: weightDecay,
                   schedule: schedule, clipping: clipping)
    }
    override public var kind: String { "adamw" }
}

/// Adam for embedding tables: only rows present in the step's row gradient are updated,
/// with their own "m"/"v" rows and the global step count for bias correction (as TensorFlow
/// Addons' LazyAdam). Rows not looked up keep value and moments bit-identical, so a step costs
/// O(touched rows x cols) however large the table. Dense parameters (and sparse ones that also
/// received a dense gradient) are updated as by `Adam`.
public final class LazyAdam: Adam {
    override public var kind: String { "lazyAdam" }
    override var lazyRows: Bool { true }
}
