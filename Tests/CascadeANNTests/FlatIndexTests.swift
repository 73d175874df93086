import CascadeANN
import CascadeCore
import Testing

@Suite struct FlatIndexTests {
    /// Flat scores equal the scalar brute force rank by rank, and each returned id really has the
    /// score reported (so near-ties may swap ids but never change what is found).
    @Test(arguments: VectorMetric.allCases)
    func matchesNaiveBruteForce(metric: VectorMetric) throws {
        // 20 components (not a multiple of 16) exercises the zero padding; 2,500 rows and 3 queries
        // on 2 threads take the split-over-base path, 9 queries the four-at-a-time path with a tail.
        let data = ClusteredData(count: 2500, queries: 9, dimension: 20, seed: 11)
        let ids = data.ids.map { $0 * 3 + 5 }
        let index = try FlatIndex(dimension: 20, metric: metric)
        try index.add(data.base, ids: ids)
        let byId = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        for (queries, threads) in [(data.queries, 1), (data.queries, 2), (Array(data.queries.prefix(60)), 2)] {
            let got = try index.search(queries, k: 10, threads: threads)
            #expect(got.count == queries.count / 20)
            for (qi, hits) in got.enumerated() {
                let query = Array(queries[(qi * 20)..<((qi + 1) * 20)])
                let want = naiveSearch(data.base, ids: ids, query: query, k: 10, metric: metric)
                #expect(hits.count == 10)
                for (h, w) in zip(hits, want) {
                    #expect(abs(h.score - w.score) <= 1e-4 * (1 + abs(w.score)), "rank score \(h) vs \(w)")
                    let row = byId[h.id]!
                    let own = naiveSearch(data.row(row), ids: [h.id], query: query, k: 1, metric: metric)[0]
                    #expect(abs(own.score - h.score) <= 1e-4 * (1 + abs(h.score)))
                }
            }
        }
    }

    @Test func removeMovesLastRowAndForgetsId() throws {
        let data = ClusteredData(count: 300, queries: 5, dimension: 8, seed: 3)
        let index = try FlatIndex(dimension: 8, metric: .l2)
        try index.add(data.base, ids: data.ids)
        let victims: [Int32] = [0, 17, 299, 1000]
        #expect(try index.remove(ids: victims) == 3)
        #expect(index.count == 297)
        let hits = try index.search(data.base, k: 300).flatMap { $0 }
        #expect(!hits.contains { [0, 17, 299].contains($0.id) })
        // Row 5 is still found exactly, at distance 0.
        let five = try index.search(data.row(5), k: 1)[0][0]
        #expect(five.id == 5 && five.score == 0)
        #expect(!index.contains(17) && index.contains(5))
    }

    @Test func badDimensionOrKIsAnError() throws {
        #expect(throws: CascadeError.self) { try FlatIndex(dimension: 0, metric: .l2) }
        #expect(throws: CascadeError.self) { try IVFIndex(dimension: -1, metric: .l2) }
        let index = try FlatIndex(dimension: 2, metric: .l2)
        #expect(throws: CascadeError.self) { try index.search([1, 2], k: 0) }
        #expect(throws: CascadeError.self) { try index.search([1, 2], k: 1, threads: 0) }
        let empty = try index.search([1, 2], k: 3)
        #expect(empty.count == 1 && empty[0].isEmpty)
    }
}
