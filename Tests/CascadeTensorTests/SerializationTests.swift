import Foundation
import Testing
@testable import CascadeTensor

/// Model archives: round trips of parameters, configuration and optimizer state (training
/// resumes bit-identically), and a clear error for each kind of corruption.
@Suite struct SerializationTests {
    final class TinyModel: ParameterContainer {
        let w: Parameter, b: Parameter, emb: Parameter
        init(seed: UInt64) {
            w = Parameter("tower/w", Tensor.normal([4, 3], std: 0.5, seed: seed))
            b = Parameter("tower/b", Tensor(shape: [3]))
            emb = Parameter("item_emb", Tensor.normal([10, 4], std: 0.1, seed: seed + 1), sparse: true)
        }
        var parameters: [Parameter] { [w, b, emb] }
    }

    struct Config: Codable, Equatable {
        var dims: [Int]
        var temperature: Double
    }

    /// One training step: gather item rows, a dense layer, MSE to fixed targets.
    func trainStep(_ m: TinyModel, _ opt: some Optimizer, step: Int) throws {
        let tape = Tape(threads: 1)
        let ids = IndexTensor((0..<6).map { Int32(($0 * 3 + step) % 10) })
        let x = try tape.parameter(m.emb).gather(ids)
        let y = try x.linear(tape.parameter(m.w), tape.parameter(m.b), activation: .tanh)
        try tape.backward(try Loss.meanSquaredError(prediction: y, target: Tensor.normal([6, 3], seed: UInt64(100 + step))))
        try opt.step(m.parameters)
    }

    func bits(_ m: TinyModel) -> [UInt32] { m.parameters.flatMap { $0.value.toArray().map(\.bitPattern) } }

    func archive(_ m: TinyModel) throws -> ModelArchive {
        var a = ModelArchive(modelKind: "tiny", config: ["loss": "mse"], layerKinds: ["embedding", "dense"])
        try a.addParameters(of: m)
        try a.setConfig(Config(dims: [4, 3], temperature: 0.05))
        return a
    }

    @Test func roundTripParametersAndConfig() throws {
        let m = TinyModel(seed: 1)
        let data = try archive(m).encoded()
        let back = try ModelArchive(data: data)
        #expect(back.manifest.modelKind == "tiny" && back.manifest.config == ["loss": "mse"])
        #expect(back.manifest.layerKinds == ["embedding", "dense"] && back.manifest.formatVersion == 1)
        #expect(try back.decodeConfig(Config.self) == Config(dims: [4, 3], temperature: 0.05))
        #expect(back.parameterNames == ["tower/w", "tower/b", "item_emb"])
        let fresh = TinyModel(seed: 99)
        try back.load(into: fresh, modelKinds: ["tiny"], layerKinds: ["embedding", "dense", "mlp"])
        #expect(bits(fresh) == bits(m))
        #expect(back.optimizerState() == nil)
        // Encoding is deterministic.
        #expect(try archive(m).encoded() == data)
    }

    @Test func trainingResumesIdenticallyAfterSaveAndLoad() throws {
        for make in [{ Adam(learningRate: 0.01) as GradientOptimizer }, { LazyAdam(learningRate: 0.01) }, { FTRL(alpha: 0.1, l1: 0.01) }] {
            let m = TinyModel(seed: 2)
            let opt = make()
            for s in 0..<3 { try trainStep(m, opt, step: s) }
            var a = try archive(m)
            try a.addOptimizerState(of: opt)
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("cascade-archive-\(opt.kind)-\(UUID()).bin")
            defer { try? FileManager.default.removeItem(at: url) }
            try a.write(to: url)
            // Continue the original run.
            for s in 3..<5 { try trainStep(m, opt, step: s) }
            // Resume from the file.
            let loaded = try ModelArchive(contentsOf: url)
            let m2 = TinyModel(seed: 77)
            let opt2 = make()
            try loaded.load(into: m2)
            try loaded.restore(opt2)
            #expect(opt2.stepCount == 3 && loaded.manifest.optimizer?.kind == opt.kind)
            for s in 3..<5 { try trainStep(m2, opt2, step: s) }
            #expect(bits(m2) == bits(m), "\(opt.kind) resumed run differs")
        }
    }

    /// Runs `body`, expecting a corruptFile error whose text contains every fragment.
    func expectCorrupt(_ fragments: [String], _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected a corruptFile error mentioning \(fragments)")
        } catch let e as TensorError {
            guard case .corruptFile = e else { Issue.record("wrong error \(e)"); return }
            let text = "\(e)"
            for f in fragments { #expect(text.contains(f), "\(text) lacks '\(f)'") }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func corruptedBytesGiveClearErrors() throws {
        let m = TinyModel(seed: 3)
        let good = try archive(m).encoded()
        let manifestSize = Int(good[12]) | Int(good[13]) << 8 | Int(good[14]) << 16 | Int(good[15]) << 24
        let payloadStart = 32 + manifestSize
        expectCorrupt(["memory", "truncated", "header"]) { _ = try ModelArchive(data: good.prefix(20)) }
        expectCorrupt(["truncated", "manifest"]) { _ = try ModelArchive(data: good.prefix(40)) }
        expectCorrupt(["truncated", "item_emb"]) { _ = try ModelArchive(data: good.prefix(good.count - 7)) }
        var magic = good
        magic[1] ^= 0xFF
        expectCorrupt(["bad magic"]) { _ = try ModelArchive(data: magic) }
        var version = good
        version[8] = 9
        expectCorrupt(["version 9"]) { _ = try ModelArchive(data: version) }
        var manifest = good
        manifest[40] ^= 0x01
        expectCorrupt(["manifest checksum"]) { _ = try ModelArchive(data: manifest) }
        // Flip one bit inside each tensor: the error names that tensor.
        let entries = try ModelArchive(data: good).manifest.tensors
        for e in entries {
            var flipped = good
            flipped[payloadStart + e.offset + e.byteCount / 2] ^= 0x10
            expectCorrupt(["checksum mismatch", "'\(e.name)'"]) { _ = try ModelArchive(data: flipped) }
        }
        // The file path appears in the message when reading from disk.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cascade-corrupt-\(UUID()).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        try good.prefix(good.count - 7).write(to: url)
        expectCorrupt([url.path, "truncated"]) { _ = try ModelArchive(contentsOf: url) }
        expectCorrupt(["cascade-missing", "cannot read"]) {
            _ = try ModelArchive(contentsOf: url.deletingLastPathComponent().appendingPathComponent("cascade-missing.bin"))
        }
    }

    @Test func loadChecksNamesShapesAndKinds() throws {
        let m = TinyModel(seed: 4)
        let a = try ModelArchive(data: try archive(m).encoded(), path: "tiny.model")
        let target = TinyModel(seed: 5)
        let before = bits(target)
        expectCorrupt(["tiny.model", "unknown model kind 'tiny'"]) { try a.load(into: target, modelKinds: ["two-tower"]) }
        expectCorrupt(["unknown layer kind 'embedding'"]) { try a.load(into: target, layerKinds: ["dense"]) }
        let extra = Parameter("tower/extra", Tensor(shape: [2]))
        expectCorrupt(["missing tensor 'tower/extra'"]) { try a.load(into: target.parameters + [extra]) }
        let wrong = Parameter("tower/w", Tensor(shape: [3, 4]))
        expectCorrupt(["'tower/w'", "[4, 3]", "[3, 4]"]) { try a.load(into: [target.b, wrong]) }
        expectCorrupt(["'tower/w' is not a parameter"]) { try a.load(into: [target.b, target.emb]) }
        #expect(bits(target) == before, "a failed load must not write")
        try a.load(into: [target.b, target.emb], allowUnused: true)
        #expect(target.b.value.toArray() == m.b.value.toArray())
        expectCorrupt(["no optimizer state"]) { try a.restore(Adam()) }
        var withState = a
        let adam = Adam()
        try trainStep(target, adam, step: 0)
        try withState.addOptimizerState(of: adam)
        expectCorrupt(["'adam'", "'sgd'"]) { try withState.restore(SGD()) }
        expectCorrupt(["configuration"]) { _ = try withState.decodeConfig([String].self) }
        #expect(throws: TensorError.self) { try withState.addParameters([m.w]) }  // duplicate name
    }
}
