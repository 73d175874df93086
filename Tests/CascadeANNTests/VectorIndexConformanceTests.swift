import CascadeANN
import CascadeCore
import Foundation
import Testing

/// The shared contract every `VectorIndex` meets (see `VectorIndex`'s documentation).
@Suite struct VectorIndexConformanceTests {
    enum Kind: String, CaseIterable, Sendable { case flat, hnsw, ivf }

    static func make(_ kind: Kind, dimension: Int, metric: VectorMetric = .l2) throws -> any VectorIndex {
        switch kind {
        case .flat: return try FlatIndex(dimension: dimension, metric: metric)
        case .hnsw: return try HNSWIndex(dimension: dimension, metric: metric)
        case .ivf: return try IVFIndex(dimension: dimension, metric: metric)
        }
    }

    static func load(_ kind: Kind, _ bytes: [UInt8], what: String) throws -> any VectorIndex {
        switch kind {
        case .flat: return try FlatIndex.load(bytes, what: what)
        case .hnsw: return try HNSWIndex.load(bytes, what: what)
        case .ivf: return try IVFIndex.load(bytes, what: what)
        }
    }

    static let data = ClusteredData(count: 400, queries: 10, dimension: 8, clusters: 8, seed: 5)

    func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return "\(error)" }
        return nil
    }

    @Test(arguments: Kind.allCases)
    func badInputIsRejectedAndChangesNothing(kind: Kind) throws {
        let index = try Self.make(kind, dimension: 8)
        try index.add(Self.data.base, ids: Self.data.ids)
        let before = try index.search(Self.data.queries, k: 5)
        let bytes = index.serialized()

        var wrongDim = Self.data.row(0)
        wrongDim.removeLast()
        let m1 = message { try index.add(wrongDim + Self.data.row(1), ids: [9000, 9001]) }
        #expect(m1?.contains("not a whole number of 8-component rows") == true, "\(m1 ?? "no error")")

        var withNaN = Self.data.row(0) + Self.data.row(1)
        withNaN[11] = .nan
        let m2 = message { try index.add(withNaN, ids: [9000, 9001]) }
        #expect(m2?.contains("row 1 (id 9001) component 3 is nan") == true, "\(m2 ?? "no error")")

        var withInf = Self.data.row(0)
        withInf[0] = .infinity
        let m3 = message { try index.add(withInf, ids: [9000]) }
        #expect(m3?.contains("must be finite") == true, "\(m3 ?? "no error")")

        let m4 = message { try index.add(Self.data.row(0), ids: [7]) }
        #expect(m4?.contains("id 7 at row 0 is already in the index") == true, "\(m4 ?? "no error")")

        let m5 = message { try index.add(Self.data.row(0) + Self.data.row(1), ids: [9000, 9000]) }
        #expect(m5?.contains("id 9000 appears twice") == true, "\(m5 ?? "no error")")

        let m6 = message { try index.add(Self.data.row(0), ids: [9000, 9001]) }
        #expect(m6?.contains("holds 1 row of dimension 8 but 2 ids were given") == true, "\(m6 ?? "no error")")

        var badQuery = Self.data.row(2)
        badQuery[4] = .nan
        let m7 = message { _ = try index.search(badQuery, k: 3) }
        #expect(m7?.contains("search: row 0 component 4 is nan") == true, "\(m7 ?? "no error")")
        let m8 = message { _ = try index.search(Array(badQuery.prefix(5)), k: 3) }
        #expect(m8?.contains("not a whole number") == true, "\(m8 ?? "no error")")

        #expect(index.count == 400)
        #expect(index.serialized() == bytes)
        let after = try index.search(Self.data.queries, k: 5)
        #expect(after.map { $0.map(\.id) } == before.map { $0.map(\.id) })
    }

    @Test(arguments: Kind.allCases)
    func cosineRejectsZeroVectors(kind: Kind) throws {
        let index = try Self.make(kind, dimension: 8, metric: .cosine)
        try index.add(Self.data.base, ids: Self.data.ids)
        let m = message { try index.add([Float](repeating: 0, count: 8), ids: [9000]) }
        #expect(m?.contains("zero length") == true, "\(m ?? "no error")")
        #expect(index.count == 400)
    }

    @Test(arguments: Kind.allCases)
    func saveLoadRoundTripAndTruncation(kind: Kind) throws {
        let index = try Self.make(kind, dimension: 8, metric: .innerProduct)
        try index.add(Self.data.base, ids: Self.data.ids)
        try index.remove(ids: [3, 4])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ann-\(kind)-\(UInt32.random(in: 0...UInt32.max)).idx").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try index.save(to: path)
        let loaded = try Self.load(kind, try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))), what: path)
        #expect(loaded.count == 398)
        #expect(loaded.serialized() == index.serialized())
        let a = try index.search(Self.data.queries, k: 5), b = try loaded.search(Self.data.queries, k: 5)
        #expect(a.map { $0.map(\.id) } == b.map { $0.map(\.id) })
        #expect(!b.flatMap { $0 }.contains { $0.id == 3 || $0.id == 4 })

        let bytes = index.serialized()
        for cut in [4, 20, bytes.count / 2, bytes.count - 1] {
            let m = message { _ = try Self.load(kind, Array(bytes.prefix(cut)), what: "index artifact \(path)") }
            #expect(m?.contains("index artifact \(path)") == true, "cut \(cut): \(m ?? "no error")")
        }
        let missing = message { _ = try FlatIndex.load(from: path + ".missing") }
        #expect(missing?.contains(path + ".missing") == true)
    }

    @Test(arguments: Kind.allCases)
    func removeThenReAdd(kind: Kind) throws {
        let index = try Self.make(kind, dimension: 8)
        try index.add(Self.data.base, ids: Self.data.ids)
        #expect(index.supportsRemoval)
        #expect(try index.remove(ids: [10, 11, 12, 5000]) == 3)
        #expect(index.count == 397)
        let hits = try index.search(Self.data.row(10), k: 20)[0]
        #expect(!hits.contains { [10, 11, 12].contains($0.id) })
        try index.add(Self.data.row(10), ids: [10])
        #expect(try index.search(Self.data.row(10), k: 1)[0].first?.id == 10)
        #expect(index.count == 398)
    }
}
