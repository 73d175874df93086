import CascadeCore
@testable import CascadeRecall
import Foundation
import Testing

/// Two taste groups: users of group g (g = user / usersPerGroup) interact only with items of
/// group g (g = item / itemsPerGroup), each with a pseudo-random ~60% of them, so every user has
/// unseen items of their own group to be recommended.
enum Checkerboard {
    static let usersPerGroup = 30, itemsPerGroup = 20
    static let userCount = 2 * usersPerGroup, itemCount = 2 * itemsPerGroup
    static let weights = EventTypeRegistry().weightsByCode

    static func group(user: Int) -> Int { user / usersPerGroup }
    static func group(item: Int) -> Int { item / itemsPerGroup }

    static let log: EventLog = {
        var l = EventLog()
        var state: UInt64 = 12345
        var t = 0.0
        for u in 0..<userCount {
            let base = group(user: u) * itemsPerGroup
            for i in base..<(base + itemsPerGroup) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                if (state >> 33) % 10 < 6 {
                    l.append(user: Int32(u), item: Int32(i), type: 1, timestamp: t)
                    t += 1
                }
            }
        }
        return l
    }()

    static let matrix = InteractionMatrix(log: log, userCount: userCount, itemCount: itemCount, typeWeights: weights)

    static func history(_ u: Int) -> [HistoryEvent] {
        (0..<log.count).filter { log.users[$0] == Int32(u) }.reversed()
            .map { HistoryEvent(item: log.items[$0], type: log.types[$0], timestamp: log.timestamps[$0]) }
    }

    static func seen(_ u: Int) -> Set<Int32> { Set(history(u).map(\.item)) }

    /// Whether every user's top recommendations (as many as they have unseen items of their
    /// group) all come from their group.
    static func recovered(_ channel: some RecallChannel, foldIn: Bool = false) -> Bool {
        (0..<userCount).allSatisfy { u in
            let seen = seen(u)
            let unseen = itemsPerGroup - seen.count
            let context = RecallContext(user: foldIn ? nil : Int32(u), history: history(u), now: 1e9)
            let top = channel.recall(context, quota: unseen, filter: CandidateFilter(itemCount: itemCount, seen: seen))
            return top.count == unseen && top.allSatisfy { group(item: Int($0.item)) == group(user: u) }
        }
    }
}

/// Float64 references for the factorization tests.
enum DenseReference {
    /// Solves A x = b for a symmetric positive definite A (n x n, Float64) by Cholesky.
    static func choleskySolve(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = i == j ? s.squareRoot() : s / l[j * n + j]
            }
        }
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = b[i]
            for k in 0..<i { s -= l[i * n + k] * y[k] }
            y[i] = s / l[i * n + i]
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<n { s -= l[k * n + i] * x[k] }
            x[i] = s / l[i * n + i]
        }
        return x
    }

    /// The normal equations of one implicit-ALS row, built densely in Float64 and solved by Cholesky.
    static func implicitSolve(table: [Float], factors f: Int, columns: [Int32], extras: [Float], lambda: Float) -> [Double] {
        let rows = table.count / f
        var a = [Double](repeating: 0, count: f * f), b = [Double](repeating: 0, count: f)
        for r in 0..<rows {
            for p in 0..<f { for q in 0..<f { a[p * f + q] += Double(table[r * f + p]) * Double(table[r * f + q]) } }
        }
        for p in 0..<f { a[p * f + p] += Double(lambda) }
        for (c, e) in zip(columns, extras) {
            let y = (0..<f).map { Double(table[Int(c) * f + $0]) }
            for p in 0..<f {
                b[p] += (1 + Double(e)) * y[p]
                for q in 0..<f { a[p * f + q] += Double(e) * y[p] * y[q] }
            }
        }
        return choleskySolve(a, b, n: f)
    }

    /// Cosine similarity of two vectors.
    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let d = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        let na = a.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return d / max(na * nb, 1e-30)
    }
}

@Suite struct ALSTests {
    func parameters(factors: Int = 8, iterations: Int = 15) -> ALS.Parameters {
        var p = ALS.Parameters()
        p.factors = factors
        p.iterations = iterations
        p.regularization = 5
        p.alpha = 4
        return p
    }

    @Test(arguments: [false, true])
    func objectiveDecreasesEveryIteration(_ logScaled: Bool) throws {
        for (matrix, weights) in [(Checkerboard.matrix, Checkerboard.weights), (Fixture.matrix, Fixture.weights)] {
            var p = parameters(iterations: 12)
            p.logScaled = logScaled
            var losses: [Double] = []
            let model = try ALS.build(matrix, typeWeights: weights, parameters: p) { _, m in losses.append(m.lossValue(matrix)) }
            #expect(losses.count == 13)
            for (a, b) in zip(losses, losses.dropFirst()) { #expect(b <= a * (1 + 1e-6), "loss rose from \(a) to \(b)") }
            #expect(losses.last! < 0.5 * losses.first!)
            #expect(losses.last == model.lossValue(matrix))
        }
    }

    @Test func conjugateGradientMatchesDenseSolve() {
        let f = 6, rows = 25
        var rng = FactorRandom(seed: 7, stream: 0)
        let table = (0..<(rows * f)).map { _ in rng.nextUnitFloat() * 2 - 1 }
        let columns: [Int32] = [0, 3, 5, 7, 11, 19, 24]
        let extras: [Float] = [2, 4, 0, 6, 2, 1, 8]
        let lambda: Float = 0.3
        let reference = DenseReference.implicitSolve(table: table, factors: f, columns: columns, extras: extras, lambda: lambda)
        var gram = [Float](repeating: 0, count: f * f)
        table.withUnsafeBufferPointer { t in
            gram.withUnsafeMutableBufferPointer { ImplicitCG.gram(t.baseAddress!, rows: rows, factors: f, regularization: lambda, threads: 1, into: $0.baseAddress!) }
        }
        for start in [[Float](repeating: 0, count: f), (0..<f).map { _ in rng.nextUnitFloat() * 4 - 2 }] {
            var x = start
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * f)
            defer { scratch.deallocate() }
            gram.withUnsafeBufferPointer { g in
                table.withUnsafeBufferPointer { t in
                    let cg = ImplicitCG(factors: f, gram: g.baseAddress!, table: t.baseAddress!)
                    cg.solve(&x, columns: columns, extras: extras, count: columns.count, steps: 4 * f, scratch: scratch)
                }
            }
            for k in 0..<f { #expect(abs(Double(x[k]) - reference[k]) < 1e-4, "component \(k): \(x[k]) vs \(reference[k])") }
        }
    }

    @Test func foldInSolvesTheNormalEquationsAndApproximatesTrainedVectors() throws {
        let p = parameters()
        let model = try ALS.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: p)
        for u in [0, 17, 31, 59] {
            let h = Checkerboard.history(u)
            let folded = try #require(model.userVector(history: h))
            let (items, strengths) = Factorization.strengths(h, typeWeights: Checkerboard.weights, itemCount: Checkerboard.itemCount)
            let reference = DenseReference.implicitSolve(table: model.itemVectors, factors: p.factors, columns: items,
                                               extras: strengths.map { p.alpha * $0 }, lambda: p.regularization)
            for k in 0..<p.factors { #expect(abs(Double(folded[k]) - reference[k]) < 1e-4) }
            let trained = try #require(model.userVector(Int32(u)))
            #expect(DenseReference.cosine(folded, trained) > 0.99)
            let diff = zip(folded, trained).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            let norm = trained.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            #expect(diff < 0.05 * norm)
        }
        #expect(model.userVector(history: []) == nil)
        #expect(model.userVector(history: [HistoryEvent(item: 999, type: 1, timestamp: 0)]) == nil)
    }

    @Test func checkerboardIsRecoveredForKnownAndFoldedInUsers() throws {
        let model = try ALS.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: parameters())
        #expect(Checkerboard.recovered(model))
        #expect(Checkerboard.recovered(model, foldIn: true))
        #expect(model.itemVectors.count == Checkerboard.itemCount * model.factors)
    }

    @Test func resultDoesNotDependOnThreadsAndFollowsTheSeed() throws {
        var p = parameters()
        p.threads = 1
        let one = try ALS.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: p)
        p.threads = 2
        let two = try ALS.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: p)
        #expect(one.userVectors == two.userVectors && one.itemVectors == two.itemVectors)
        p.seed = 7
        let other = try ALS.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: p)
        #expect(other.itemVectors != one.itemVectors)
    }

    @Test func foldInPolicyDecidesBetweenTrainedAndFoldedVectors() throws {
        var p = parameters()
        p.foldIn = .newEvents
        let model = try ALS.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: p,
                                  trainedThrough: Checkerboard.log.maxTimestamp)
        let all = CandidateFilter(itemCount: Checkerboard.itemCount)
        // Known user, no new events: the trained vector.
        let trained = model.recall(RecallContext(user: 3, history: Checkerboard.history(3), now: 0), quota: 5, filter: all)
        let direct = Factorization.recall(vector: model.userVector(3)!, itemVectors: model.itemVectors, biases: nil,
                                          factors: model.factors, quota: 5, filter: all, channel: "als")
        #expect(trained == direct)
        // A new event on a group-1 item moves a group-0 user's list toward group 1.
        let moved = Checkerboard.history(3) + (20..<40).map { HistoryEvent(item: Int32($0), type: 4, timestamp: 1e12) }
        let after = model.recall(RecallContext(user: 3, history: moved, now: 0), quota: 5, filter: all)
        #expect(after != trained)
        #expect(after.allSatisfy { Checkerboard.group(item: Int($0.item)) == 1 })
        // Unknown user without usable history: nothing.
        #expect(model.recall(RecallContext(user: nil, history: [], now: 0), quota: 5, filter: all).isEmpty)
        #expect(model.recall(RecallContext(user: 999, history: [], now: 0), quota: 5, filter: all).isEmpty)
    }

    @Test func badVectorsAndParametersAreRejected() throws {
        var p = parameters()
        p.factors = 2
        #expect(throws: CascadeError.self) {
            _ = try ALS(parameters: p, typeWeights: [], userCount: 1, itemCount: 1, userVectors: [1, 2, 3], itemVectors: [1, 2])
        }
        #expect(throws: CascadeError.self) {
            _ = try ALS(parameters: p, typeWeights: [], userCount: 1, itemCount: 1, userVectors: [1, .nan], itemVectors: [1, 2])
        }
        let ok = try ALS(parameters: p, typeWeights: [1], userCount: 1, itemCount: 2, userVectors: [1, 2], itemVectors: [1, 0, 0, 1])
        #expect(ok.score(user: 0, item: 1) == 2)
        var bytes = ok.serialized()
        #expect(try ALS(serialized: bytes).serialized() == bytes)
        // Corrupt the last float (an item vector component) into NaN.
        bytes.replaceSubrange((bytes.count - 4)..<bytes.count, with: [0x00, 0x00, 0xC0, 0x7F])
        #expect(throws: CascadeError.self) { _ = try ALS(serialized: bytes) }
        #expect(throws: CascadeError.self) { _ = try ALS(serialized: ok.serialized() + [0]) }
        for bad in [{ (q: inout ALS.Parameters) in q.factors = 0 }, { $0.regularization = -1 }, { $0.alpha = .nan }, { $0.cgSteps = 0 }] {
            var q = parameters()
            bad(&q)
            #expect(throws: CascadeError.self) { _ = try ALS.build(Checkerboard.matrix, typeWeights: Checkerboard.weights, parameters: q) }
        }
    }
}

@Suite struct IndexedRecallTests {
    /// The HNSW path returns (nearly) what the exact scan returns on a small catalog.
    @Test func indexedRecallAgreesWithTheExactScan() throws {
        var p = ALS.Parameters()
        p.factors = 8
        p.iterations = 8
        p.regularization = 0.1
        let model = try ALS.build(Fixture.matrix, typeWeights: Fixture.weights, parameters: p)
        let indexed = try IndexedRecall.build(model)
        var overlap = 0, total = 0
        for u in Int32(0)..<Int32(Fixture.userCount) {
            let ctx = RecallContext(user: u, history: Fixture.history(u), now: 1_000)
            let filter = CandidateFilter(itemCount: Fixture.itemCount, seen: Set(Fixture.history(u).map(\.item)))
            let exact = Set(model.recall(ctx, quota: 3, filter: filter).map(\.item))
            let approx = indexed.recall(ctx, quota: 3, filter: filter)
            #expect(approx.allSatisfy { filter.allows($0.item) })
            overlap += approx.filter { exact.contains($0.item) }.count
            total += exact.count
        }
        #expect(Double(overlap) / Double(max(1, total)) > 0.95)
    }
}
