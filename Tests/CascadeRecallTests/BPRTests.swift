import CascadeCore
@testable import CascadeRecall
import Foundation
import Testing

@Suite struct BPRTests {
    /// Light regularization fits the training pairs (AUC); stronger regularization keeps only
    /// the group structure (recovery of unseen items).
    func parameters(threads: Int? = 1, regularization: Float = 0.01) -> BPR.Parameters {
        var p = BPR.Parameters()
        p.factors = 8
        p.epochs = 60
        p.regularization = regularization
        p.threads = threads
        return p
    }

    /// AUC over the training pairs: for each user, the share of (positive, non-positive) item
    /// pairs ordered correctly by the model, averaged over users.
    func trainingAUC(_ model: BPR, _ matrix: InteractionMatrix) -> Double {
        var total = 0.0, users = 0
        for u in 0..<matrix.userCount {
            let positives = Set(matrix.userItems.rowRange(u).map { matrix.userItems.columns[$0] })
            guard !positives.isEmpty, positives.count < matrix.itemCount else { continue }
            var correct = 0.0, pairs = 0.0
            for i in positives {
                for j in 0..<Int32(matrix.itemCount) where !positives.contains(j) {
                    let si = model.score(user: Int32(u), item: i), sj = model.score(user: Int32(u), item: j)
                    correct += si > sj ? 1 : (si == sj ? 0.5 : 0)
                    pairs += 1
                }
            }
            total += correct / pairs
            users += 1
        }
        return total / Double(users)
    }

    @Test(arguments: [1, 2])
    func trainingAUCRisesAboveNinetyPercent(_ threads: Int) throws {
        var before = parameters(threads: threads)
        before.epochs = 0
        let untrained = try BPR.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: before)
        let model = try BPR.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: parameters(threads: threads))
        let start = trainingAUC(untrained, Checkerboard.matrix), end = trainingAUC(model, Checkerboard.matrix)
        #expect(start < 0.7)
        #expect(end > 0.9, "AUC \(start) -> \(end)")
    }

    @Test func checkerboardIsRecoveredForKnownAndFoldedInUsers() throws {
        let model = try BPR.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: parameters(regularization: 0.05))
        #expect(Checkerboard.recovered(model))
        #expect(Checkerboard.recovered(model, foldIn: true))
    }

    @Test func deterministicOnOneThreadForASeed() throws {
        let a = try BPR.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: parameters())
        let b = try BPR.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: parameters())
        #expect(a.serialized() == b.serialized())
        var p = parameters()
        p.seed = 99
        let c = try BPR.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: p)
        #expect(c.itemVectors != a.itemVectors)
    }

    @Test func foldInOfAKnownUserApproximatesTheTrainedVector() throws {
        let model = try BPR.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: parameters())
        var sims: [Float] = []
        for u in 0..<Checkerboard.userCount {
            let folded = try #require(model.userVector(history: Checkerboard.history(u)))
            sims.append(DenseReference.cosine(folded, try #require(model.userVector(Int32(u)))))
            // Fold-in is a function of the request.
            #expect(model.userVector(history: Checkerboard.history(u)) == folded)
        }
        let mean = sims.reduce(0, +) / Float(sims.count)
        #expect(mean > 0.9, "mean cosine \(mean), min \(sims.min()!)")
        #expect(model.userVector(history: []) == nil)
    }

    @Test func badVectorsAndParametersAreRejected() throws {
        var p = parameters()
        p.factors = 2
        #expect(throws: CascadeError.self) {
            _ = try BPR(parameters: p, typeWeights: [], userCount: 1, itemCount: 1, userVectors: [1, 2], itemVectors: [1, 2], itemBiases: [])
        }
        #expect(throws: CascadeError.self) {
            _ = try BPR(parameters: p, typeWeights: [], userCount: 1, itemCount: 1, userVectors: [1, 2], itemVectors: [1, .infinity], itemBiases: [0])
        }
        let ok = try BPR(parameters: p, typeWeights: [1], userCount: 1, itemCount: 2, userVectors: [1, 2], itemVectors: [1, 0, 0, 1], itemBiases: [0.5, 0])
        #expect(ok.score(user: 0, item: 0) == 1.5)
        #expect(ok.indexVectors == [1, 0, 0.5, 0, 1, 0])
        var bytes = ok.serialized()
        #expect(try BPR(serialized: bytes).serialized() == bytes)
        bytes.replaceSubrange((bytes.count - 4)..<bytes.count, with: [0x00, 0x00, 0xC0, 0x7F])
        #expect(throws: CascadeError.self) { _ = try BPR(serialized: bytes) }
        for bad in [{ (q: inout BPR.Parameters) in q.factors = 0 }, { $0.learningRate = 0 }, { $0.regularization = .nan }, { $0.threads = 0 }] {
            var q = parameters()
            bad(&q)
            #expect(throws: CascadeError.self) { _ = try BPR.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: q) }
        }
    }
}
