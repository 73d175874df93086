import CascadeCore
import Testing
import CascadeTensor

@Suite struct GatherTopKTests {
    @Test(arguments: [1, 7, 16, 17, 33])
    func gatherMatchesReference(cols: Int) throws {
        let rows = 50
        let table = Tensor.uniform([rows, cols], seed: UInt64(cols))
        var rng = TensorRandom(seed: 5)
        let ids = (0..<300).map { _ in Int32(rng.next() % UInt64(rows)) }
        for threads in [1, 2] {
            let out = try table.gather(IndexTensor(ids), threads: threads)
            #expect(out.shape == Shape(300, cols))
            #expect(out.toArray() == Reference.gatherRows(table: table.base, cols: cols, ids: ids))
        }
        let ids2 = try IndexTensor(shape: [2, 3], ids: [0, 1, 2, 3, 4, 5])
        #expect(try table.gather(ids2).shape == Shape(2, 3, cols))
        #expect(throws: TensorError.indexOutOfRange(op: "gather", index: 50, bound: 50)) {
            try table.gather(IndexTensor([1, 50] as [Int32]))
        }
        #expect(throws: TensorError.self) { try table.gather(IndexTensor([-1] as [Int32])) }
    }

    /// Two threads with rows of 70 floats take the partitioned parallel path.
    @Test(arguments: [(1, 17), (2, 17), (2, 70)])
    func scatterAddAccumulatesDuplicates(threads: Int, cols: Int) throws {
        let rows = 20
        let n = 1200
        var rng = TensorRandom(seed: 9)
        var ids = (0..<n).map { _ in Int32(rng.next() % UInt64(rows)) }
        ids[0] = 3; ids[1] = 3; ids[2] = 3
        let table = Tensor.uniform([rows, cols], seed: 1)
        let values = Tensor.uniform([n, cols], seed: 2)
        let expected = Reference.scatterAddRows(table: table.toArray(), cols: cols, ids: ids, values: values.toArray())
        try table.scatterAdd(IndexTensor(ids), values, threads: threads)
        #expect(maxAbsDiff(table.toArray(), expected) <= 1e-4)

        let small = Tensor(shape: [3, 2])
        try small.scatterAdd(IndexTensor([1, 1, 2, 1] as [Int32]), Tensor(rows: [[1, 2], [3, 4], [5, 6], [7, 8]]))
        #expect(small.toArray() == [0, 0, 11, 14, 5, 6])
        #expect(throws: TensorError.self) { try small.scatterAdd(IndexTensor([0] as [Int32]), Tensor(rows: [[1, 2, 3]])) }
    }

    @Test func gatherThenScatterIsTheGradient() throws {
        // d/dtable of sum(gather(table, ids) * g) = scatterAdd(zeros, ids, g).
        let ids = IndexTensor([5, 0, 5, 2] as [Int32])
        let g = Tensor.uniform([4, 4], seed: 2)
        let grad = Tensor(shape: [6, 4])
        try grad.scatterAdd(ids, g)
        #expect(grad[5, 1] == g[0, 1] + g[2, 1] && grad[1, 3] == 0 && grad[2, 0] == g[3, 0])
    }

    @Test func topKAgreesWithSort() throws {
        for n in [1, 7, 17, 33, 100, 1000] {
            var x = randomFloats(n, seed: UInt64(n))
            if n > 10 { x[3] = x[9]; x[5] = .nan }   // a tie and a NaN
            for k in [0, 1, 5, 16, n, n + 3] {
                let t = try Tensor(x).topK(k)
                let ref = Reference.topK(x, k: k)
                let found = ref.count
                #expect(Array(t.indices.toArray().prefix(found)) == ref.map(\.index), "n=\(n) k=\(k)")
                #expect(Array(t.values.toArray().prefix(found)) == ref.map(\.value))
                #expect(t.indices.toArray().dropFirst(found).allSatisfy { $0 == -1 })
            }
        }
    }

    @Test func topKTiesPreferSmallerIndexAndRowsRunIndependently() throws {
        let scores = try Tensor(shape: [2, 6], values: [1, 3, 3, 2, 3, 0,
                                                         5, 4, 3, 2, 1, 0])
        let r = try scores.topK(2)
        #expect(r.indices.toArray() == [1, 2, 0, 1])
        #expect(r.values.toArray() == [3, 3, 5, 4])
        #expect(throws: TensorError.self) { try scores.topK(-1) }
        let big = Tensor.uniform([4, 20_000], seed: 3)
        let b2 = try big.topK(10, threads: 2)
        for row in 0..<4 {
            let ref = Reference.topK(try big.row(row).toArray(), k: 10)
            #expect(Array(b2.indices.toArray()[(row * 10)..<(row * 10 + 10)]) == ref.map(\.index))
        }
    }

    @Test func parallelRangesCoverEverythingOnce() {
        for (total, grain) in [(0, 1), (1, 1), (10, 3), (1000, 64), (7, 100)] {
            let seen = Tensor(shape: [max(total, 1)])
            let p = UncheckedBox(seen.base)
            Parallel.ranges(total, threads: 2, grain: grain) { r in
                for i in r { p.value[i] += 1 }
            }
            #expect(seen.toArray().prefix(total).allSatisfy { $0 == 1 })
        }
    }
}
