import CascadeCore
import CascadeTensor
import Foundation
import Testing
@testable import CascadeRecall

extension ChannelCase {
    static let embedding: [ChannelCase] = [
        ChannelCase(name: "eges", make: { try! EGESTests.model(epochs: 2, dim: 8) }, load: { try EGES(serialized: $0) }),
    ]
}

@Suite struct EGESTests {
    static func model(epochs: Int, dim: Int, log: EventLog = Fixture.log, items: [Item]? = nil) throws -> EGES {
        var p = EGES.Parameters()
        p.dim = dim
        p.epochs = epochs
        p.walksPerNode = 5
        p.window = 3
        p.threads = 1
        let itemCount = items?.count ?? Fixture.itemCount
        let features = items.map { ItemSideFeatures.build(items: $0) } ?? .none(count: itemCount)
        return try EGES.train(log: log, userCount: Fixture.userCount, itemCount: itemCount, typeWeights: Fixture.weights,
                              features: features, parameters: p)
    }

    /// Two users; user 0 has a gap of two hours between items 2 and 3, and an impression (not a
    /// positive) of item 4 between 0 and 1; user 1 repeats the path 0 -> 1 and views 1 twice.
    static var handLog: EventLog {
        var l = EventLog()
        l.append(user: 0, item: 0, type: 1, timestamp: 0)
        l.append(user: 0, item: 4, type: 0, timestamp: 10)  // impression
        l.append(user: 0, item: 1, type: 1, timestamp: 20)
        l.append(user: 0, item: 2, type: 2, timestamp: 30)
        l.append(user: 0, item: 3, type: 1, timestamp: 30 + 7_200)
        l.append(user: 0, item: 0, type: 1, timestamp: 40 + 7_200)
        // Out of time order in the log: sorted per user before use.
        l.append(user: 1, item: 1, type: 1, timestamp: 200)
        l.append(user: 1, item: 0, type: 1, timestamp: 100)
        l.append(user: 1, item: 1, type: 1, timestamp: 300)
        return l
    }

    @Test func graphSplitsSessionsAndCountsEdges() {
        let g = ItemGraph.build(log: Self.handLog, userCount: 2, itemCount: 5, typeWeights: Fixture.weights, sessionGap: 3_600)
        var edges: [String: Float] = [:]
        for i in 0..<5 {
            for e in g.offsets[i]..<g.offsets[i + 1] { edges["\(i)>\(g.targets[e])"] = g.weights[e] }
        }
        // 0>1 twice (user 0 across the impression, user 1); 1>2; 3>0; no 2>3 (new session), no self-loop 1>1.
        #expect(edges == ["0>1": 2, "1>2": 1, "3>0": 1])
        #expect(g.weight(from: 0, to: 1) == 2 && g.weight(from: 2, to: 3) == 0 && g.weight(from: 1, to: 1) == 0)
        // With a gap larger than two hours, 2>3 appears.
        let wide = ItemGraph.build(log: Self.handLog, userCount: 2, itemCount: 5, typeWeights: Fixture.weights, sessionGap: 10_000)
        #expect(wide.weight(from: 2, to: 3) == 1 && wide.edgeCount == 4)
    }

    @Test func walksFollowEdgesInProportionToWeight() {
        // 0 -> 1 (weight 3), 0 -> 2 (weight 1); 1 -> 0; 2 -> 3; 3 has no out-edge.
        let g = ItemGraph(nodeCount: 4, offsets: [0, 2, 3, 4, 4], targets: [1, 2, 0, 3], weights: [3, 1, 1, 1])
        var rng = FactorRandom(seed: 9, stream: 0)
        var fromZero = [0, 0, 0]
        for s in 0..<4 {
            for _ in 0..<2_000 {
                let w = g.walk(from: Int32(s), length: 8, rng: &rng)
                #expect(w.first == Int32(s) && w.count <= 8)
                for (a, b) in zip(w, w.dropFirst()) {
                    #expect(g.weight(from: a, to: b) > 0)
                    if a == 0 { fromZero[Int(b)] += 1 }
                }
                if w.count < 8 { #expect(w.last == 3) }
            }
        }
        let share = Double(fromZero[1]) / Double(fromZero[1] + fromZero[2])
        #expect(abs(share - 0.75) < 0.02, "\(fromZero)")
    }

    @Test func attentionAndTableGradientsMatchFiniteDifferences() {
        var items = (0..<6).map { Item(id: "i\($0)", categories: [$0 < 3 ? "a" : "b"], tags: ["x", "y\($0)"], author: "w\($0 % 2)") }
        items[5].tags = []
        let f = ItemSideFeatures.build(items: items)
        var rng = FactorRandom(seed: 4, stream: 0)
        let t = EGESTables(features: f, known: [true, true, true, true, true, false], dim: 6, rng: &rng)
        for k in 0..<(6 * 6) { t.contextTable[k] = (rng.nextUnitFloat() - 0.5) }
        for k in 0..<(6 * 4) { t.attention[k] = rng.nextUnitFloat() - 0.5 }
        let targets: [Int32] = [1, 3, 4], labels: [Float] = [1, 0, 0]
        for v in [0, 5] {
            // Finite-difference gradients of the loss w.r.t. the attention and category row of v.
            func numeric(_ p: UnsafeMutablePointer<Float>) -> Float {
                let eps: Float = 1e-2, old = p.pointee
                p.pointee = old + eps
                let up = t.loss(center: v, targets: targets, labels: labels)
                p.pointee = old - eps
                let down = t.loss(center: v, targets: targets, labels: labels)
                p.pointee = old
                return (up - down) / (2 * eps)
            }
            let catRow = t.categoryTable + Int(f.category[v]) * 6
            let gradA = (0..<4).map { numeric(t.attention + v * 4 + $0) }
            let gradC = (0..<6).map { numeric(catRow + $0) }
            let a0 = Array(UnsafeBufferPointer(start: t.attention + v * 4, count: 4))
            let c0 = Array(UnsafeBufferPointer(start: catRow, count: 6))
            let z0 = Array(UnsafeBufferPointer(start: t.contextTable, count: 36))
            let lr: Float = 1e-3
            var scratch = [Float](repeating: 0, count: t.scratchCount)
            targets.withUnsafeBufferPointer { tb in labels.withUnsafeBufferPointer { lb in scratch.withUnsafeMutableBufferPointer { sb in
                _ = t.update(center: v, targets: tb.baseAddress!, labels: lb.baseAddress!, count: 3, lr: lr, scratch: sb.baseAddress!)
            } } }
            for s in 0..<4 {
                let step = (a0[s] - t.attention[v * 4 + s]) / lr
                #expect(abs(step - gradA[s]) < 2e-3, "v \(v) slot \(s): step \(step), numeric \(gradA[s])")
            }
            for k in 0..<6 {
                let step = (c0[k] - catRow[k]) / lr
                #expect(abs(step - gradC[k]) < 2e-3, "v \(v) category \(k): step \(step), numeric \(gradC[k])")
            }
            // Restore the context table for the next centre.
            for k in 0..<36 { t.contextTable[k] = z0[k] }
        }
        // Item 5 has no id slot and no tags: its weights cover category and author only.
        let w = t.attentionWeights()
        #expect(w[5 * 4] == 0 && w[5 * 4 + 3] == 0 && abs(w[5 * 4 + 1] + w[5 * 4 + 2] - 1) < 1e-5)
    }

    /// Items 0-9 in category "a", 10-19 in "b", 20 in "pop"; item 21 never engaged with, in "a".
    @Test func coldStartItemLandsNearItsCategory() throws {
        let items = TwoTowerTests.items
        let m = try Self.model(epochs: 10, dim: 16, log: TwoTowerTests.shuffledLog, items: items)
        #expect(!m.known[21] && m.known[0] && m.known[15])
        let cold = m.vector(21)
        func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let toA = (0..<10).map { cosine(cold, m.vector(Int32($0))) }.reduce(0, +) / 10
        let toB = (10..<20).map { cosine(cold, m.vector(Int32($0))) }.reduce(0, +) / 10
        #expect(toA > toB + 0.2, "mean cosine to group a \(toA), to group b \(toB)")
        // A user of group a with only the cold item in their history is served group a.
        let got = m.recall(RecallContext(user: nil, history: [HistoryEvent(item: 21, type: 1, timestamp: 0)], now: 1), quota: 5,
                           filter: CandidateFilter(itemCount: 22, seen: [21]))
        #expect(got.filter { $0.item < 10 }.count >= 4, "\(got.map(\.item))")
    }

    @Test func separatesTasteGroups() throws {
        let m = try Self.model(epochs: 10, dim: 16, log: TwoTowerTests.shuffledLog)
        var hits = 0
        for u in Int32(0)..<20 {
            let group = u < 10 ? Int32(0)..<10 : Int32(10)..<20
            let h = Fixture.history(u)
            let got = m.recall(RecallContext(user: u, history: h, now: 0), quota: 1,
                               filter: CandidateFilter(itemCount: Fixture.itemCount, seen: Set(h.map(\.item))))
            if let top = got.first?.item, group.contains(top) { hits += 1 }
        }
        #expect(hits >= 18, "\(hits) of 20 users get an item of their group first")
    }

    @Test func artifactRoundTripAndErrors() throws {
        let m = try Self.model(epochs: 2, dim: 8, items: Array(TwoTowerTests.items.prefix(Fixture.itemCount)))
        let back = try EGES(serialized: m.serialized())
        #expect(back.parameters == m.parameters && back.itemVectors == m.itemVectors && back.attention == m.attention)
        #expect(back.support == m.support && m.support[20] == 20 && m.support[0] == 9)
        #expect(back.known == m.known && back.typeWeights == m.typeWeights && back.name == "eges")
        #expect(throws: CascadeError.self) {
            _ = try EGES.train(log: EventLog(), userCount: 0, itemCount: 3, typeWeights: Fixture.weights, features: .none(count: 3))
        }
        #expect(m.recall(RecallContext(user: 3, now: 0), quota: 5, filter: CandidateFilter(itemCount: Fixture.itemCount)).isEmpty)
    }
}
