import CascadeTensor
import Foundation

/// The serving path of ``DCNv2MMoE`` (without a behaviour sequence) for one request, scored
/// without a tape:
///
/// - x0 laid out user columns first (``ServingLayout``); the first cross layer's user share
///   u W_0[user rows] + b_0 is one GEMV per request, the rest one GEMM over the other columns;
/// - the first layer of every expert and every task's gate read the same x_L, so their weights
///   sit side by side in one [n, E h1 + T E] matrix: one GEMM for all of them;
/// - gates softmaxed in place, experts mixed per task by axpy, task towers by ``DenseForward``.
///
/// Equal to the model's inference-mode logits (expert dropout and dropout are training-only).
/// Not thread-safe: ``RankServingPool`` gives one to each concurrent request.
/// Per request: O(N (L n^2 + n (E h1 + T E) + E expert + T E h + T tower)) minus the user share.
public final class DCNv2MMoEServing: RankServingPath {
    public let tasks: [String]
    public private(set) var capacity: Int
    let model: DCNv2MMoE
    let layout: ServingLayout
    /// Permuted cross weights and biases.
    let crossW: [Tensor], crossB: [Tensor]
    /// Every expert's first layer then every gate, side by side: [n, E h1 + T E] and its bias.
    let firstW: Tensor, firstB: Tensor
    let experts: Int, h1: Int, width: Int
    // Buffers, grown to the largest request seen.
    var x0: Tensor, x: Tensor, t: Tensor, first: Tensor
    /// Per expert, its layers after the first.
    var expertHidden: [[Tensor]]
    var mixed: Tensor
    var towerHidden: [Tensor]
    var out: Tensor
    let userRow: Tensor, userPart: Tensor

    public init(_ model: DCNv2MMoE, pipeline: FeaturePipeline, maxCandidates: Int = 512) throws {
        guard maxCandidates > 0 else { throw RankError.config("DCN-V2 + MMoE serving: maxCandidates must be positive") }
        guard model.attention == nil else {
            throw RankError.model("DCN-V2 + MMoE serving: the fast path does not handle behaviour sequences; score through the model")
        }
        let layout = ServingLayout(pipeline: pipeline, dim: model.embedding.dim)
        let n = layout.n
        let mix = model.mixture
        guard model.embedding.fieldCount == layout.sparseCount + layout.bagCount, mix.gates.first?.inputSize == n,
              mix.experts.allSatisfy({ !$0.layers.isEmpty && $0.layers[0].inputSize == n }) else {
            throw RankError.model("DCN-V2 + MMoE serving: the model was not built for this pipeline")
        }
        self.model = model
        self.layout = layout
        tasks = model.tasks
        capacity = maxCandidates
        crossW = model.cross.map { layout.permutedSquare($0.weight.value) }
        crossB = model.cross.map { layout.permuted($0.bias?.value) }
        let e = mix.experts.count, h = mix.experts[0].layers[0].outputSize
        let width = e * h + model.tasks.count * e
        (experts, h1, self.width) = (e, h, width)
        let w = Tensor(shape: [n, width]), b = Tensor(shape: [width])
        func place(_ l: Linear, at column: Int) {
            let p = layout.permutedRows(l.weight.value), cols = l.outputSize
            for i in 0..<n { (w.base + i * width + column).update(from: p.base + i * cols, count: cols) }
            if let bias = l.bias { (b.base + column).update(from: bias.value.base, count: cols) }
        }
        for (j, tower) in mix.experts.enumerated() { place(tower.layers[0], at: j * h) }
        for (k, gate) in mix.gates.enumerated() { place(gate, at: e * h + k * e) }
        firstW = w
        firstB = b
        (x0, x, t, first, expertHidden, mixed, towerHidden, out) = Self.buffers(model, rows: maxCandidates, n: n, width: width)
        userRow = Tensor(shape: [Swift.max(layout.nu, 1)])
        userPart = Tensor(shape: [Swift.max(n, width)])
    }

    static func buffers(_ model: DCNv2MMoE, rows: Int, n: Int, width: Int)
        -> (Tensor, Tensor, Tensor, Tensor, [[Tensor]], Tensor, [Tensor], Tensor)
    {
        let mix = model.mixture
        let expertHidden = mix.experts.map { e in e.layers.dropFirst().map { Tensor(shape: [rows, $0.outputSize]) } }
        let h = mix.experts[0].outputSize
        // One task at a time: the towers' buffers are reused across tasks.
        let depth = mix.towers.map { $0.tower.layers.count }.max() ?? 0
        let towerHidden = (0..<depth).map { i in
            Tensor(shape: [rows, mix.towers.map { i < $0.tower.layers.count ? $0.tower.layers[i].outputSize : 0 }.max() ?? 0])
        }
        return (Tensor(shape: [rows, n]), Tensor(shape: [rows, n]), Tensor(shape: [rows, n]), Tensor(shape: [rows, width]),
                expertHidden, Tensor(shape: [rows, h]), towerHidden, Tensor(shape: [rows, model.tasks.count]))
    }

    /// Logits [N, tasks]; a view of an internal buffer, valid until the next call.
    public func logits(_ batch: EncodedBatch) throws -> Tensor {
        let rows = batch.rows
        try layout.check(batch, model: "DCN-V2 + MMoE")
        if rows > capacity {
            capacity = Swift.max(rows, capacity * 2)
            (x0, x, t, first, expertHidden, mixed, towerHidden, out) = Self.buffers(model, rows: capacity, n: layout.n, width: width)
        }
        let result = try out.rows(0..<rows)
        guard rows > 0 else { return result }
        let n = layout.n
        let tab = model.embedding.table.value.base
        layout.userRow(batch, table: tab, into: userRow.base)
        layout.x0(batch, table: tab, user: userRow.base, into: x0.base)
        let xl = layout.cross(x0: x0.base, rows: rows, user: userRow.base, w: crossW, b: crossB, userPart: userPart.base,
                              t: t.base, x: x.base)
        // Every expert's first layer and every gate: one GEMM over x_L.
        let mix = model.mixture
        if crossW.isEmpty {
            layout.firstProduct(x0: x0.base, rows: rows, user: userRow.base, w: firstW, b: firstB, userPart: userPart.base, into: first.base)
        } else {
            Kernels.gemm(m: rows, n: width, k: n, a: xl, lda: n, b: firstW.base, ldb: width, beta: 0, c: first.base, ldc: width, threads: 1)
            Kernels.biasActivate(.identity, first.base, bias: firstB.base, first.base, rows: rows, cols: width)
        }
        let eh = experts * h1
        let firstActivation = mix.experts[0].layers[0].activation
        for r in 0..<rows { Kernels.activate(firstActivation, first.base + r * width, first.base + r * width, count: eh) }
        // Expert outputs: the rest of each expert's layers ([rows, h] each, or its first block).
        var outputs: [(UnsafePointer<Float>, Int)] = []  // pointer and row stride
        for (e, tower) in mix.experts.enumerated() {
            var input: UnsafePointer<Float> = UnsafePointer(first.base + e * h1), stride = width
            for (i, layer) in tower.layers.dropFirst().enumerated() {
                DenseForward.linear(layer, input, rows: rows, ldx: stride, expertHidden[e][i].base)
                input = UnsafePointer(expertHidden[e][i].base)
                stride = layer.outputSize
            }
            outputs.append((input, stride))
        }
        let h = mix.experts[0].outputSize, tc = tasks.count
        for task in 0..<tc {
            // Gate: softmax over the experts, in place.
            for r in 0..<rows {
                let g = first.base + r * width + eh + task * experts
                var m = g[0]
                for j in 1..<experts { m = Swift.max(m, g[j]) }
                var s: Float = 0
                for j in 0..<experts { g[j] = Foundation.exp(g[j] - m); s += g[j] }
                for j in 0..<experts { g[j] /= s }
                let y = mixed.base + r * h
                y.update(repeating: 0, count: h)
                for (j, (f, stride)) in outputs.enumerated() { Kernels.axpy(alpha: g[j], x: f + r * stride, y: y, count: h) }
            }
            // Task tower, then its logit into column `task`.
            let tower = mix.towers[task]
            var input = UnsafePointer(mixed.base)
            for (i, layer) in tower.tower.layers.enumerated() {
                DenseForward.linear(layer, input, rows: rows, towerHidden[i].base, ldy: layer.outputSize)
                input = UnsafePointer(towerHidden[i].base)
            }
            DenseForward.linear(tower.head, input, rows: rows, result.base + task, ldy: tc)
        }
        return result
    }
}
