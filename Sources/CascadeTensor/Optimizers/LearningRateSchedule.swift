import Foundation

/// A learning rate as a function of the optimizer step (0 for the first update). Optimizers
/// ask their schedule once per `step`, so a schedule may be as elaborate as needed. O(1).
public protocol LearningRateSchedule: Sendable {
    /// The rate for update number `step` (0-based).
    func rate(at step: Int) -> Float
}

/// The same rate at every step.
public struct ConstantRate: LearningRateSchedule {
    public var value: Float
    public init(_ value: Float) { self.value = value }
    public func rate(at step: Int) -> Float { value }
}

/// Linear warm-up in front of another schedule (Goyal et al., "Accurate, Large Minibatch SGD",
/// 2017): step s < `steps` uses `base.rate(at: s) * (s + 1) / steps`, later steps use `base`.
public struct LinearWarmup: LearningRateSchedule {
    public var base: any LearningRateSchedule
    public var steps: Int
    public init(steps: Int, then base: any LearningRateSchedule) {
        self.steps = Swift.max(steps, 0)
        self.base = base
    }
    public func rate(at step: Int) -> Float {
        let r = base.rate(at: step)
        return step < steps ? r * Float(step + 1) / Float(steps) : r
    }
}

/// Multiplies the rate by `factor` every `every` steps: `initial * factor^(step / every)`.
public struct StepDecay: LearningRateSchedule {
    public var initial: Float, factor: Float, every: Int
    public init(initial: Float, factor: Float, every: Int) {
        self.initial = initial
        self.factor = factor
        self.every = Swift.max(every, 1)
    }
    public func rate(at step: Int) -> Float { initial * Foundation.pow(factor, Float(step / every)) }
}

/// Cosine decay from `initial` to `minimum` over `steps` steps, then `minimum` (Loshchilov and
/// Hutter, "SGDR", ICLR 2017, without restarts):
/// `minimum + (initial - minimum) (1 + cos(pi step / steps)) / 2`.
public struct CosineDecay: LearningRateSchedule {
    public var initial: Float, minimum: Float, steps: Int
    public init(initial: Float, steps: Int, minimum: Float = 0) {
        self.initial = initial
        self.minimum = minimum
        self.steps = Swift.max(steps, 1)
    }
    public func rate(at step: Int) -> Float {
        if step >= steps { return minimum }
        let c = 0.5 * (1 + Foundation.cos(Double.pi * Double(step) / Double(steps)))
        return minimum + (initial - minimum) * Float(c)
    }
}

/// Inverse square-root decay with linear warm-up (Vaswani et al., "Attention Is All You Need",
/// 2017): `peak (step + 1) / warmup` during warm-up, then `peak sqrt(warmup / (step + 1))`.
public struct InverseSqrtDecay: LearningRateSchedule {
    public var peak: Float, warmupSteps: Int
    public init(peak: Float, warmupSteps: Int) {
        self.peak = peak
        self.warmupSteps = Swift.max(warmupSteps, 1)
    }
    public func rate(at step: Int) -> Float {
        let s = Float(step + 1), w = Float(warmupSteps)
        return s < w ? peak * s / w : peak * (w / s).squareRoot()
    }
}

/// A schedule given by a closure (for experiments).
public struct ClosureSchedule: LearningRateSchedule {
    public let body: @Sendable (Int) -> Float
    public init(_ body: @escaping @Sendable (Int) -> Float) { self.body = body }
    public func rate(at step: Int) -> Float { body(step) }
}
