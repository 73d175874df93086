import CascadeANN
import CascadeCore
import Testing

@Suite struct IVFIndexTests {
    @Test(arguments: [VectorMetric.l2, .cosine])
    func recallAgainstFlatBeforeAndAfterSaveLoad(metric: VectorMetric) throws {
        let data = ClusteredData(count: 5000, queries: 200, dimension: 32, seed: 21)
        let flat = FlatIndex(dimension: 32, metric: metric)
        try flat.add(data.base, ids: data.ids)
        let exact = try flat.search(data.queries, k: 10)
        let index = try IVFIndex(dimension: 32, metric: metric)
        try index.add(data.base, ids: data.ids)
        #expect(index.isTrained && index.listCount == 70 && index.count == 5000)
        let r = recallAt(10, approx: try index.search(data.queries, k: 10), exact: exact)
        #expect(r > 0.95, "recall@10 \(r)")
        let loaded = try IVFIndex.load(index.serialized(), what: "test IVF")
        let again = recallAt(10, approx: try loaded.search(data.queries, k: 10), exact: exact)
        #expect(again > 0.95, "recall@10 after load \(again)")
        // Probing every list is exact.
        let all = try loaded.search(data.queries, k: 10, nprobe: loaded.listCount)
        #expect(recallAt(10, approx: all, exact: exact) > 0.999)
    }

    @Test func trainingNeedsEnoughRows() throws {
        let index = try IVFIndex(dimension: 4, metric: .l2, parameters: .init(nlist: 10))
        #expect(throws: CascadeError.self) { try index.add([Float](repeating: 1, count: 4 * 5), ids: [0, 1, 2, 3, 4]) }
        #expect(!index.isTrained && index.count == 0)
        let hits = try index.search([1, 2, 3, 4], k: 3)
        #expect(hits.count == 1 && hits[0].isEmpty)
    }
}
