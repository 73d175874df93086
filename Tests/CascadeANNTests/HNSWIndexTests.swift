import CascadeANN
import CascadeCore
import Testing

@Suite struct HNSWIndexTests {
    static let data = ClusteredData(count: 5000, queries: 200, dimension: 32)

    static let exact: [[VectorHit]] = {
        let flat = try! FlatIndex(dimension: 32, metric: .l2)
        try! flat.add(data.base, ids: data.ids)
        return try! flat.search(data.queries, k: 10)
    }()

    @Test func recallAgainstFlatBeforeAndAfterSaveLoad() throws {
        let data = Self.data
        let index = try HNSWIndex(dimension: 32, metric: .l2)
        // Two batches: the second is linked into an existing graph.
        try index.add(Array(data.base.prefix(3000 * 32)), ids: Array(data.ids.prefix(3000)))
        try index.add(Array(data.base.suffix(2000 * 32)), ids: Array(data.ids.suffix(2000)))
        #expect(index.count == 5000)
        try index.checkIntegrity()
        let r = recallAt(10, approx: try index.search(data.queries, k: 10), exact: Self.exact)
        #expect(r > 0.95, "recall@10 \(r)")
        let loaded = try HNSWIndex.load(index.serialized(), what: "test HNSW")
        try loaded.checkIntegrity()
        #expect(loaded.parameters == index.parameters)
        let again = recallAt(10, approx: try loaded.search(data.queries, k: 10), exact: Self.exact)
        #expect(again > 0.95, "recall@10 after load \(again)")
        // Scores are squared distances, ascending.
        let hits = try loaded.search(data.queries, k: 10, ef: 64)[0]
        #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score <= $1.score })
    }

    @Test(arguments: [VectorMetric.cosine, .innerProduct])
    func otherMetricsAgainstFlat(metric: VectorMetric) throws {
        let data = ClusteredData(count: 1500, queries: 50, dimension: 16, clusters: 20, seed: 9)
        let flat = try FlatIndex(dimension: 16, metric: metric)
        try flat.add(data.base, ids: data.ids)
        let index = try HNSWIndex(dimension: 16, metric: metric)
        try index.add(data.base, ids: data.ids)
        try index.checkIntegrity()
        let approx = try index.search(data.queries, k: 10)
        let r = recallAt(10, approx: approx, exact: try flat.search(data.queries, k: 10))
        #expect(r > 0.95, "\(metric) recall@10 \(r)")
        #expect(zip(approx[0], approx[0].dropFirst()).allSatisfy { $0.score >= $1.score })
    }

    @Test func integrityAfterAddsAndDeletesAndDeletedNeverReturned() throws {
        let data = ClusteredData(count: 1500, queries: 40, dimension: 16, clusters: 20, seed: 4)
        let index = try HNSWIndex(dimension: 16, metric: .l2, parameters: .init(M: 8, efConstruction: 64))
        for b in 0..<3 {
            try index.add(Array(data.base[(b * 500 * 16)..<((b + 1) * 500 * 16)]), ids: Array(data.ids[(b * 500)..<((b + 1) * 500)]),
                          threads: 2)
            try index.checkIntegrity()
        }
        let gone = Set((0..<1500).filter { $0 % 3 == 0 }.map { Int32($0) })
        #expect(try index.remove(ids: Array(gone)) == 500)
        #expect(index.count == 1000 && index.tombstoneCount == 500)
        try index.checkIntegrity()
        // Query with removed vectors themselves: they must not come back, even with a wide beam.
        let hits = try index.search(Array(data.base.prefix(60 * 16)), k: 20, ef: 200)
        #expect(!hits.flatMap { $0 }.contains { gone.contains($0.id) })
        #expect(hits.allSatisfy { $0.count == 20 })
        // Recall over the survivors stays high.
        let flat = try FlatIndex(dimension: 16, metric: .l2)
        let alive = (0..<1500).filter { $0 % 3 != 0 }
        try flat.add(alive.flatMap { data.row($0) }, ids: alive.map { Int32($0) })
        let r = recallAt(10, approx: try index.search(data.queries, k: 10, ef: 64), exact: try flat.search(data.queries, k: 10))
        #expect(r > 0.9, "recall after deletes \(r)")
        // Survives a round trip with its tombstones, and a re-added id is found again.
        let loaded = try HNSWIndex.load(index.serialized(), what: "deleted")
        try loaded.checkIntegrity()
        #expect(loaded.tombstoneCount == 500)
        try loaded.add(data.row(0), ids: [0])
        try loaded.checkIntegrity()
        #expect(try loaded.search(data.row(0), k: 1)[0].first?.id == 0)
    }

    @Test func parametersAreChecked() {
        #expect(throws: CascadeError.self) { try HNSWIndex(dimension: 0, metric: .l2) }
        #expect(throws: CascadeError.self) { try HNSWIndex(dimension: 4, metric: .l2, parameters: .init(M: 1)) }
        #expect(throws: CascadeError.self) { try HNSWIndex(dimension: 4, metric: .l2).search([1, 2, 3, 4], k: 1, ef: 0) }
    }
}
