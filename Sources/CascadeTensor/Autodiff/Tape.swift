/// Reverse-mode automatic differentiation by a tape (Wengert list).
///
/// A `Tape` records every operation applied to `Variable`s in the order it ran: the forward
/// value of each node and, for nodes that depend on something trainable, a closure that maps the
/// node's output gradient to gradients of its inputs. `backward(_:)` seeds the loss with 1 and
/// walks the list in reverse, so each node's gradient is complete before its closure runs.
/// Gradients of `Parameter`s are added to the parameter (`grad`, or `rowGrads` for sparse
/// embedding tables) so several tapes (micro-batches) can accumulate before an optimizer step.
///
/// One tape serves one forward/backward pass; make a new tape per step (recording is a few
/// array appends per op). Nodes that depend on nothing trainable record no closure and receive
/// no gradient, so data inputs cost nothing in the backward pass.
///
/// Each op lives with its backward in one file (`Ops+*.swift`): the forward computes the value
/// with the kernels, the backward is written by hand with the same kernels (GEMM with transposes
/// for products, scatter-add for gathers). Costs are those of the kernels: the backward of an op
/// costs about twice its forward.
public final class Tape {
    /// Backward of one node: receives the tape and the node's output gradient (same shape as
    /// its value) and accumulates into its inputs with `accumulate`.
    public typealias Backward = (_ tape: Tape, _ grad: Tensor) throws -> Void

    /// Training mode: dropout drops and batch norm uses batch statistics. False at inference.
    public var training: Bool
    /// Threads the kernels may use (nil: all cores).
    public var threads: Int?
    /// Source of randomness for dropout and other stochastic ops.
    public var random: TensorRandom

    @usableFromInline var values: [Tensor] = []
    var grads: [Tensor?] = []
    var needs: [Bool] = []
    var backwards: [Backward?] = []
    var parameterOfNode: [Int: Parameter] = [:]
    var nodeOfParameter: [ObjectIdentifier: Int] = [:]
    var names: [String] = []

    public init(training: Bool = true, threads: Int? = nil, seed: UInt64 = 0x5eed) {
        self.training = training
        self.threads = threads
        self.random = TensorRandom(seed: seed)
    }

    /// Number of recorded nodes.
    public var count: Int { values.count }

    // MARK: Leaves

    /// A leaf holding data; it gets a gradient only when `requiresGradient` (used by gradient
    /// checks and by adversarial/input-gradient uses).
    public func constant(_ value: Tensor, requiresGradient: Bool = false) -> Variable {
        append(value, needs: requiresGradient, backward: nil, name: "constant")
    }

    /// The leaf for a parameter; one node per parameter per tape, so using a parameter twice
    /// adds both gradients.
    public func parameter(_ p: Parameter) -> Variable {
        let key = ObjectIdentifier(p)
        if let id = nodeOfParameter[key] { return Variable(id: id, tape: self, value: values[id]) }
        let v = append(p.value, needs: p.trainable, backward: nil, name: p.name)
        nodeOfParameter[key] = v.id
        parameterOfNode[v.id] = p
        return v
    }

    /// The parameter a leaf node stands for, if any.
    public func parameter(of v: Variable) -> Parameter? { parameterOfNode[v.id] }

    // MARK: Recording

    /// Records a node computed from `inputs`. The closure is kept only when one of the inputs
    /// needs a gradient; ops call this once with their finished forward value.
    public func record(_ value: Tensor, inputs: [Variable], name: String, backward: @escaping Backward) -> Variable {
        let need = inputs.contains { needs[$0.id] }
        return append(value, needs: need, backward: need ? backward : nil, name: name)
    }

    /// Records a node with one input (no array allocation on the hot path).
    public func record(_ value: Tensor, input a: Variable, name: String, backward: @escaping Backward) -> Variable {
        let need = needs[a.id]
        return append(value, needs: need, backward: need ? backward : nil, name: name)
    }

    /// Records a node with two inputs.
    public func record(_ value: Tensor, _ a: Variable, _ b: Variable, name: String, backward: @escaping Backward) -> Variable {
        let need = needs[a.id] || needs[b.id]
        return append(value, needs: need, backward: need ? backward : nil, name: name)
    }

    private func append(_ value: Tensor, needs need: Bool, backward: Backward?, name: String) -> Variable {
        let id = values.count
        values.append(value)
        grads.append(nil)
        needs.append(need)
        backwards.append(backward)
        names.append(name)
        return Variable(id: id, tape: self, value: value)
    }

    /// True when `v` needs a gradient: ops skip computing gradients of inputs that do not.
    @inlinable public func needsGradient(_ v: Variable) -> Bool { needsGrad(v.id) }
    @usableFromInline func needsGrad(_ id: Int) -> Bool { needs[id] }

    // MARK: Gradients

    /// Adds `g` to the gradient of `v`. With `fresh` the tape may keep `g` itself (the caller
    /// promises no one else writes it); otherwise it is copied on first use. `g` must have as
    /// many elements as `v`; it is viewed with `v`'s shape.
    public func accumulate(_ v: Variable, _ g: Tensor, fresh: Bool = false) throws {
        let id = v.id
        guard needs[id] else { return }
        let shape = values[id].shape
        guard g.count == shape.count else {
            throw TensorError.shapeMismatch(op: "backward of \(names[id])", lhs: shape, rhs: g.shape,
                                            reason: "gradient must have the value's element count")
        }
        if let existing = grads[id] {
            Kernels.add(existing.base, g.base, existing.base, count: g.count)
        } else {
            let owned = fresh ? g : g.copy()
            grads[id] = owned.shape == shape ? owned : Tensor(storage: owned.storage, offset: owned.offset, shape: shape)
        }
    }

    /// A zero tensor the size of `v`, registered as its gradient, for ops that scatter into
    /// their input's gradient (gather, segment sums). Returns the existing gradient if any.
    public func gradientBuffer(for v: Variable) -> Tensor? {
        guard needs[v.id] else { return nil }
        if let g = grads[v.id] { return g }
        let g = Tensor(shape: values[v.id].shape)
        grads[v.id] = g
        return g
    }

    /// The gradient of `v` after `backward` (leaves and parameters keep theirs; intermediate
    /// nodes are released as the sweep passes them unless `retainAll` was set).
    public func gradient(of v: Variable) -> Tensor? { grads[v.id] }

    /// Runs the reverse sweep from a scalar `loss` (any shape with one element). Throws when the
    /// loss is NaN or infinite (naming the op that produced it) or when an op's backward fails.
    /// Parameter gradients are *added* to `Parameter.grad` / `rowGrads`.
    public func backward(_ loss: Variable, retainAll: Bool = false) throws {
        guard loss.value.count == 1 else {
            throw TensorError.invalidArgument(op: "backward", reason: "loss must have one element, got shape \(loss.value.shape) from \(names[loss.id])")
        }
        let l = loss.value.base[0]
        guard l.isFinite else {
            throw TensorError.nonFinite(op: "backward", reason: "loss is \(l.isNaN ? "NaN" : "infinite") (computed by \(names[loss.id]), node \(loss.id) of \(count))")
        }
        guard needs[loss.id] else { return }
        grads[loss.id] = Tensor(shape: loss.value.shape, repeating: 1)
        var i = loss.id
        while i >= 0 {
            if let fn = backwards[i], let g = grads[i] {
                try fn(self, g)
                if !retainAll { grads[i] = nil }
            }
            i -= 1
        }
        for (id, p) in parameterOfNode {
            guard let g = grads[id] else { continue }
            try p.addGradient(g)
        }
    }

    /// Name of the op that produced `v` (for error messages and debugging).
    public func opName(_ v: Variable) -> String { names[v.id] }
}

/// A node on a tape: its forward value and its position. Cheap to copy. Ops are methods on
/// `Variable` (`x.matmul(w)`, `x.relu()`, `try a + b`) and record onto the tape of their inputs.
public struct Variable {
    public let id: Int
    public unowned let tape: Tape
    /// Forward value. Treat as read-only: ops keep references to it for the backward pass.
    public let value: Tensor

    @usableFromInline init(id: Int, tape: Tape, value: Tensor) {
        self.id = id
        self.tape = tape
        self.value = value
    }

    public var shape: Shape { value.shape }

    /// True when this node's gradient will be computed.
    public var requiresGradient: Bool { tape.needsGrad(id) }

    /// The scalar value of a one-element variable (a loss).
    public var scalar: Float { value.base[0] }

    /// Throws unless both variables are on the same tape.
    func sameTape(_ other: Variable, _ op: String) throws {
        guard tape === other.tape else {
            throw TensorError.invalidArgument(op: op, reason: "operands were recorded on different tapes")
        }
    }
}
