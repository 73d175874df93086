/// Something that updates parameters from their pending gradients.
///
/// `step` applies one update to every trainable parameter with a gradient and then clears the
/// gradients of all parameters it was given. Before changing anything it checks every
/// gradient: a NaN or infinity throws `TensorError.nonFinite` naming the parameter and leaves
/// values, state and gradients untouched. State (moments, accumulators, the step count) can be
/// exported and imported, so training resumes exactly after a save and load.
public protocol Optimizer: AnyObject {
    /// Kind tag stored with exported state ("adam", "ftrl", ...).
    var kind: String { get }
    /// Number of completed steps.
    var stepCount: Int { get }
    /// Learning rate as a function of the step.
    var schedule: any LearningRateSchedule { get set }
    /// One update of `params` from their gradients, then zeroes the gradients.
    func step(_ params: [Parameter]) throws
    /// A snapshot of the optimizer's state (copies).
    func exportState() -> OptimizerState
    /// Replaces the state with `state` (copied); throws on a different kind or unknown slot.
    func importState(_ state: OptimizerState) throws
}

/// Exported optimizer state: the step count and one tensor per (parameter, slot), keyed
/// `"<parameter name>#<slot name>"` (for example `"user_emb#m"`).
public struct OptimizerState: Sendable {
    public var kind: String
    public var step: Int
    public var slots: [String: Tensor]

    public init(kind: String, step: Int, slots: [String: Tensor]) {
        self.kind = kind
        self.step = step
        self.slots = slots
    }

    /// The key of a slot tensor.
    public static func key(parameter: String, slot: String) -> String { parameter + "#" + slot }
}

/// Gradient clipping applied inside `step` before the update: first each element is clamped to
/// [-maxValue, maxValue], then all gradients of the step are scaled together so their global L2
/// norm is at most `maxGlobalNorm` (Pascanu, Mikolov and Bengio, "On the difficulty of
/// training recurrent neural networks", ICML 2013). O(total gradient size).
public struct GradientClipping: Sendable {
    public var maxGlobalNorm: Float?
    public var maxValue: Float?
    public init(maxGlobalNorm: Float? = nil, maxValue: Float? = nil) {
        self.maxGlobalNorm = maxGlobalNorm
        self.maxValue = maxValue
    }
    public static let none = GradientClipping()
}

/// Shared machinery of the gradient optimizers: gradient collection (dense `grad`, coalesced
/// row gradients of sparse tables), the finiteness check, clipping, the schedule, per-parameter
/// state slots keyed by parameter name, and state export/import. Subclasses provide the
/// per-element update through `update(_:_:_:_:count:)`, a SIMD loop over raw pointers.
///
/// Sparse tables: a *lazy* optimizer (`lazyRows`) updates only the rows present in
/// `coalescedRowGradient()`, each with its own slot rows, leaving every other row (value and
/// state) bit-identical; a dense optimizer scatters the rows into a dense gradient and updates
/// the whole table. When a sparse table also has a dense `grad`, the two are summed and applied
/// densely. Cost per step: O(parameters with gradients) dense, O(touched rows x cols) lazy.
public class GradientOptimizer: Optimizer {
    typealias V = SIMD8<Float>
    public var schedule: any LearningRateSchedule
    public var clipping: GradientClipping
    public private(set) var stepCount = 0
    /// Global L2 norm of the last step's gradients before clipping (after value clipping).
    public private(set) var lastGradientNorm: Float = 0
    /// State tensors per parameter name, in `slotNames` order.
    var slots: [String: [Tensor]] = [:]

    init(schedule: any LearningRateSchedule, clipping: GradientClipping) {
        self.schedule = schedule
        self.clipping = clipping
    }

    // MARK: Subclass hooks

    public var kind: String { fatalError("subclass must override kind") }
    /// Names of the per-parameter state slots (each the shape of the parameter).
    var slotNames: [String] { [] }
    /// Initial value of slot `i`.
    func slotInitialValue(_ i: Int) -> Float { 0 }
    /// True when row gradients are applied row by row (lazy optimizers).
    var lazyRows: Bool { false }
    /// Called once per step before the updates with the 1-based step number and the rate.
    func prepare(step: Int, rate: Float) {}
    /// Updates `count` elements of value `w` from gradient `g`; `s0`, `s1` point at the same
    /// elements of slots 0 and 1 (each is `w` itself when the slot does not exist: never write it).
    func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s0: UnsafeMutablePointer<Float>,
                _ s1: UnsafeMutablePointer<Float>, count: Int) {}

    /// The learning rate the next step will use.
    public var learningRate: Float { schedule.rate(at: stepCount) }

    // MARK: Step

    private struct Work {
        let parameter: Parameter
        let dense: Tensor?
        let rows: RowGradient?
        let state: [Tensor]
    }

    public func step(_ params: [Parameter]) throws {
        // 1. Collect and check; nothing is modified until every gradient is known finite.
        var work: [Work] = []
        for p in params where p.trainable && p.hasGradient {
            let rows = p.coalescedRowGradient()
            if let g = p.grad { try Self.checkFinite(g, p, kind, "gradient") }
            if let r = rows {
                try Self.checkFinite(r.values, p, kind, "row gradient")
                let n = Int32(p.value.shape.rows)
                for i in 0..<r.ids.count where r.ids.base[i] < 0 || r.ids.base[i] >= n {
                    throw TensorError.indexOutOfRange(op: "\(kind) step of \(p.name)", index: Int(r.ids.base[i]), bound: Int(n))
                }
            }
            work.append(Work(parameter: p, dense: p.grad, rows: rows, state: try state(for: p)))
        }
        // 2. Merge row gradients into a dense one where they are not applied lazily.
        for (k, w) in work.enumerated() {
            guard let r = w.rows, !lazyRows || w.dense != nil else { continue }
            let p = w.parameter
            let d = w.dense ?? Tensor(shape: p.value.shape)
            Kernels.scatterAddRows(table: d.base, tableRows: p.value.shape.rows, cols: p.value.shape.last,
                                   ids: r.ids.base, count: r.ids.count, values: r.values.base, threads: 1)
            work[k] = Work(parameter: p, dense: d, rows: nil, state: w.state)
        }
        // 3. Clipping.
        let grads = work.flatMap { w in [w.dense, w.rows?.values].compactMap { $0 } }
        if let limit = clipping.maxValue {
            for g in grads { OptimizerKernels.clamp(g.base, g.count, limit: limit) }
        }
        var sq = 0.0
        for g in grads { sq += OptimizerKernels.sumOfSquares(g.base, g.count) }
        let norm = sq.squareRoot()
        lastGradientNorm = Float(norm)
        if let maxNorm = clipping.maxGlobalNorm, norm > Double(maxNorm) {
            let s = Float(Double(maxNorm) / norm)
            for g in grads { g.scale(by: s) }
        }
        // 4. Update.
        let rate = schedule.rate(at: stepCount)
        stepCount += 1
        prepare(step: stepCount, rate: rate)
        for w in work {
            let v = w.parameter.value
            let s0 = w.state.count > 0 ? w.state[0].base : v.base
            let s1 = w.state.count > 1 ? w.state[1].base : v.base
            withExtendedLifetime(w) {
                if let d = w.dense { update(v.base, d.base, s0, s1, count: v.count) }
                if let r = w.rows {
                    let cols = v.shape.last
                    for i in 0..<r.ids.count {
                        let off = Int(r.ids.base[i]) * cols
                        update(v.base + off, r.values.base + i * cols, s0 + off, s1 + off, count: cols)
                    }
                }
            }
        }
        for p in params { p.zeroGradient() }
    }

    static func checkFinite(_ g: Tensor, _ p: Parameter, _ kind: String, _ what: String) throws {
        if let i = OptimizerKernels.firstNonFinite(g.base, g.count) {
            throw TensorError.nonFinite(op: "\(kind) step",
                                        reason: "\(what) of parameter '\(p.name)' is \(g.base[i]) at element \(i); nothing was updated")
        }
    }

    /// The slot tensors of `p`, created on first use; throws when imported state does not fit.
    func state(for p: Parameter) throws -> [Tensor] {
        let names = slotNames
        if let s = slots[p.name] {
            for (i, t) in s.enumerated() where t.count != p.value.count {
                throw TensorError.shapeMismatch(op: "\(kind) state of \(p.name)", lhs: p.value.shape, rhs: t.shape,
                                                reason: "slot '\(names[i])' does not match the parameter")
            }
            return s
        }
        let s = names.indices.map { Tensor(shape: p.value.shape, repeating: slotInitialValue($0)) }
        slots[p.name] = s
        return s
    }

    // MARK: State

    public func exportState() -> OptimizerState {
        var out: [String: Tensor] = [:]
        let names = slotNames
        for (param, tensors) in slots {
            for (i, t) in tensors.enumerated() { out[OptimizerState.key(parameter: param, slot: names[i])] = t.copy() }
        }
        return OptimizerState(kind: kind, step: stepCount, slots: out)
    }

    public func importState(_ state: OptimizerState) throws {
        guard state.kind == kind else {
            throw TensorError.invalidArgument(op: "\(kind) importState", reason: "state was saved by a '\(state.kind)' optimizer")
        }
        let names = slotNames
        var grouped: [String: [Tensor?]] = [:]
        for (key, t) in state.slots {
            guard let hash = key.lastIndex(of: "#"), let i = names.firstIndex(of: String(key[key.index(after: hash)...])) else {
                throw TensorError.invalidArgument(op: "\(kind) importState", reason: "unknown state slot '\(key)' (slots: \(names))")
            }
            let param = String(key[..<hash])
            var list = grouped[param] ?? Array(repeating: nil, count: names.count)
            list[i] = t.copy()
            grouped[param] = list
        }
        var result: [String: [Tensor]] = [:]
        for (param, list) in grouped {
            let complete = list.compactMap { $0 }
            guard complete.count == names.count else {
                throw TensorError.invalidArgument(op: "\(kind) importState", reason: "parameter '\(param)' is missing state slots (needs \(names))")
            }
            result[param] = complete
        }
        slots = result
        stepCount = state.step
    }
}
