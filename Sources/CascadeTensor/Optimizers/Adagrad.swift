/// Adagrad (Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online Learning and
/// Stochastic Optimization", JMLR 2011):
///
///     a += g^2                      (a starts at `initialAccumulator`)
///     w -= rate * g / (sqrt(a) + epsilon)
///
/// State slot "accumulator". Row gradients of sparse tables are scattered and applied densely
/// (rows with zero gradient do not move, but every row is visited); `LazyAdagrad` visits only
/// the looked-up rows. O(n) per parameter, SIMD.
public class Adagrad: GradientOptimizer {
    public let initialAccumulator: Float, epsilon: Float

    public init(learningRate: Float = 0.01, initialAccumulator: Float = 0.1, epsilon: Float = 1e-7,
                schedule: (any LearningRateSchedule)? = nil, clipping: GradientClipping = .none) {
        self.initialAccumulator = initialAccumulator
        self.epsilon = epsilon
        super.init(schedule: schedule ?? ConstantRate(learningRate), clipping: clipping)
    }

    override public var kind: String { "adagrad" }
    override var slotNames: [String] { ["accumulator"] }
    override func slotInitialValue(_ i: Int) -> Float { initialAccumulator }

    private var rate: Float = 0
    override func prepare(step: Int, rate: Float) { self.rate = rate }

    override func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s0: UnsafeMutablePointer<Float>,
                         _ s1: UnsafeMutablePointer<Float>, count n: Int) {
        let lr = V(repeating: rate), eps = V(repeating: epsilon)
        OptimizerKernels.apply(w, g, s0, n) { w, g, a in
            a = a.addingProduct(g, g)
            w -= lr * g / (OptimizerKernels.sqrt(a) + eps)
        }
    }
}

/// Adagrad that updates only the rows present in a sparse table's row gradient (value and
/// accumulator rows of other rows stay bit-identical). O(touched rows x cols) per table.
public final class LazyAdagrad: Adagrad {
    override public var kind: String { "lazyAdagrad" }
    override var lazyRows: Bool { true }
}
