import Testing
import CascadeTensor

@Suite struct TensorBasicsTests {
    @Test func shapeAndStrides() {
        let s = Shape(2, 3, 4)
        #expect(s.count == 24)
        #expect(s.rows == 6 && s.last == 4)
        #expect(s.stride(0) == 12 && s.stride(1) == 4 && s.stride(2) == 1)
        #expect(s.description == "[2, 3, 4]")
        #expect(throws: TensorError.self) { try Shape(validating: [1, 2, 3, 4, 5]) }
        #expect(throws: TensorError.self) { try Shape(validating: [2, -1]) }
    }

    @Test func elementAccessIsRowMajor() throws {
        let t = try Tensor(shape: [2, 3], values: [0, 1, 2, 3, 4, 5])
        #expect(t[1, 2] == 5 && t[0, 1] == 1)
        t[1, 0] = 9
        #expect(t.toArray() == [0, 1, 2, 9, 4, 5])
    }

    @Test func viewsShareStorage() throws {
        let t = Tensor(shape: [4, 3], repeating: 0)
        let flat = try t.reshaped([12])
        let r = try t.rows(1..<3)
        let row = try t.row(2)
        #expect(flat.sharesStorage(with: t) && r.sharesStorage(with: t) && row.sharesStorage(with: t))
        flat[4] = 7          // element [1, 1]
        r[1, 2] = 8          // element [2, 2]
        row[0] = 5           // element [2, 0]
        #expect(t[1, 1] == 7 && t[2, 2] == 8 && t[2, 0] == 5)
        let alias = t        // copying the value is a view too
        alias[0, 0] = 1
        #expect(t[0, 0] == 1)
        let c = t.copy()
        #expect(!c.sharesStorage(with: t))
        c[0, 0] = 42
        #expect(t[0, 0] == 1)
    }

    @Test func reshapeInfersAndNamesShapesOnError() throws {
        let t = Tensor(shape: [2, 6])
        #expect(try t.reshaped([3, -1]).shape == Shape(3, 4))
        do {
            _ = try t.reshaped([5, 2])
            Issue.record("reshape should have thrown")
        } catch let e as TensorError {
            #expect(e == .invalidReshape(from: Shape(2, 6), to: [5, 2]))
            #expect(e.description.contains("[2, 6]") && e.description.contains("[5, 2]"))
        }
        #expect(throws: TensorError.self) { try t.reshaped([-1, -1]) }
        #expect(throws: TensorError.self) { try t.reshaped([1, 2, 3, 2, 1]) }
    }

    @Test func shapeMismatchNamesOpAndShapes() {
        let a = Tensor(shape: [2, 3]), b = Tensor(shape: [4, 5])
        do {
            _ = try a.matmul(b)
            Issue.record("matmul should have thrown")
        } catch {
            let text = "\(error)"
            #expect(text.contains("matmul") && text.contains("[2, 3]") && text.contains("[4, 5]"))
        }
        #expect(throws: TensorError.self) { try a.adding(b) }
        #expect(throws: TensorError.self) { try Tensor(shape: [2, 2], values: [1, 2, 3]) }
    }

    @Test func emptyTensorsAreHandled() throws {
        let e = Tensor([Float]())
        #expect(e.count == 0 && e.sum() == 0 && e.softmax().count == 0)
        #expect(try e.topK(3).indices.toArray() == [-1, -1, -1])
        let m = Tensor(shape: [0, 5])
        #expect(try m.matmul(Tensor(shape: [5, 2])).shape == Shape(0, 2))
        #expect(try m.sum(axis: 0).toArray() == [0, 0, 0, 0, 0])
        #expect(IndexTensor([Int32]()).count == 0)
    }

    @Test func indexTensorBasics() throws {
        let ids = IndexTensor([3, 1, 2] as [Int32])
        #expect(ids.count == 3 && ids[1] == 1)
        let m = try ids.reshaped([3, 1])
        #expect(m.shape == Shape(3, 1))
        #expect(throws: TensorError.self) { try ids.reshaped([2, 2]) }
    }

    @Test func randomInitializersAreDeterministic() {
        let a = Tensor.uniform([100], in: -2...2, seed: 7), b = Tensor.uniform([100], in: -2...2, seed: 7)
        #expect(a.toArray() == b.toArray())
        #expect(a.toArray().allSatisfy { $0 >= -2 && $0 < 2 })
        let n = Tensor.normal([10_000], seed: 3).toArray()
        let mean = n.reduce(0, +) / Float(n.count)
        let variance = n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(n.count)
        #expect(abs(mean) < 0.05 && abs(variance - 1) < 0.05)
    }

    @Test func cpuCheckMessage() throws {
        #expect(CPUFeatures.problem(cpuinfo: "processor : 0\nflags\t\t: fpu sse2 avx avx2 fma bmi2\n") == nil)
        let msg = CPUFeatures.problem(cpuinfo: "flags\t\t: fpu sse2 avx\n")
        #expect(msg == "this build of Cascade needs a CPU with AVX2 and FMA (x86-64-v3); found flags: fpu sse2 avx")
        #if arch(x86_64)
        // Any machine that ran this far executed AVX2/FMA code, so the check must pass here.
        #expect(CPUFeatures.check() == nil)
        try CPUFeatures.requireAVX2FMA()
        #endif
    }
}
