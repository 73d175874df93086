import CascadeANN
import CascadeCore
import Testing

@Suite struct IVFIndexTests {
    /// 5,000 x 32 under L2 and (smaller, to keep the debug run short) 2,000 x 16 under cosine.
    @Test(arguments: [(VectorMetric.l2, 5000, 32), (.cosine, 2000, 16)])
    func recallAgainstFlatBeforeAndAfterSaveLoad(metric: VectorMetric, count: Int, dimension: Int) throws {
        let data = ClusteredData(count: count, queries: 200, dimension: dimension, seed: 21)
        let flat = try FlatIndex(dimension: dimension, metric: metric)
        try flat.add(data.base, ids: data.ids)
        let exact = try flat.search(data.queries, k: 10)
        let index = try IVFIndex(dimension: dimension, metric: metric)
        try index.add(data.base, ids: data.ids)
        #expect(index.isTrained && index.listCount == Int(Double(count).squareRoot()) && index.count == count)
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
