import CascadeCore
import CascadeTensor
import Testing
@testable import CascadeRecall

extension ChannelCase {
    static let graph: [ChannelCase] = [
        ChannelCase(name: "lightgcn", make: {
            var p = LightGCN.Parameters()
            p.dim = 8
            p.epochs = 5
            p.batchSize = 64
            p.threads = 1
            return try! LightGCN.build(Fixture.matrix, typeWeights: Fixture.weights, parameters: p)
        }, load: { try LightGCN(serialized: $0) }),
    ]
}

@Suite struct LightGCNTests {
    @Test func adjacencyIsSymmetricallyNormalized() throws {
        // Users 0, 1; items 0, 1: u0-i0, u0-i1, u1-i1. Degrees: u0 2, u1 1, i0 1, i1 2.
        let m = SparseMatrix(rowCount: 2, columnCount: 2, offsets: [0, 2, 3], columns: [0, 1, 1], values: [1, 1, 1])
        let a = try LightGCN.adjacency(m)
        var dense = [[Float]](repeating: [Float](repeating: 0, count: 4), count: 4)
        for r in 0..<4 { for e in a.offsets[r]..<a.offsets[r + 1] { dense[r][Int(a.indices[e])] = a.values[e] } }
        let h = 1 / Float(2).squareRoot()
        #expect(dense == [[0, 0, h, 0.5], [0, 0, 0, h], [h, 0, 0, 0], [0.5, h, 0, 0]])
    }

    @Test func sparseProductMatchesDenseAndGradient() throws {
        let m = try CSRMatrix(rows: 3, cols: 4, offsets: [0, 2, 2, 5], indices: [0, 3, 1, 2, 3], values: [0.5, -1, 2, 0.25, 1])
        let x = Tensor.normal([4, 3], seed: 40)
        let tape = Tape()
        let y = try tape.constant(x).sparseProduct(m).value
        let dense: [[Float]] = [[0.5, 0, 0, -1], [0, 0, 0, 0], [0, 2, 0.25, 1]]
        for r in 0..<3 {
            for c in 0..<3 {
                let want = (0..<4).reduce(Float(0)) { $0 + dense[r][$1] * x[$1, c] }
                #expect(abs(y[r, c] - want) < 1e-5)
            }
        }
        let check = try GradientCheck.check(inputs: [x]) { _, v in try v[0].sparseProduct(m) }
        #expect(check.passed, "\(check)")
        #expect(throws: TensorError.self) { try CSRMatrix(rows: 1, cols: 2, offsets: [0, 1], indices: [2], values: [1]) }
    }

    @Test func separatesTasteGroups() throws {
        var p = LightGCN.Parameters()
        p.dim = 16
        p.epochs = 60
        p.batchSize = 64
        p.learningRate = 0.02
        p.threads = 1
        let g = try LightGCN.build(Fixture.matrix, typeWeights: Fixture.weights, parameters: p)
        var hits = 0
        for u in Int32(0)..<20 {
            let seen = Set(Fixture.history(u).map(\.item))
            let filter = CandidateFilter(itemCount: Fixture.itemCount, seen: seen)
            let got = g.recall(RecallContext(user: u, history: Fixture.history(u), now: 0), quota: 1, filter: filter)
            if got.first?.item == Int32(u < 10 ? u % 10 : 10 + u % 10) { hits += 1 }
        }
        #expect(hits >= 16, "\(hits) of 20 users get their group's missing item first")
    }
}
