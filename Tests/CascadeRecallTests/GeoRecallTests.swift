import CascadeCore
@testable import CascadeRecall
import Testing

/// Items in and around one precision-5 cell of central Paris, with clicks as popularity.
@Suite struct GeoRecallTests {
    static let weights = EventTypeRegistry().weightsByCode
    static let user = GeoPoint(latitude: 48.8566, longitude: 2.3522)
    static var cell: String { GeoHash.encode(user, precision: 5) }

    /// The centre of the cell `steps` cells east of the user's (1: a neighbour, 2: beyond).
    static func east(_ steps: Int) -> GeoPoint {
        let c = try! GeoHash.decode(cell)
        return GeoPoint(latitude: c.center.latitude, longitude: c.center.longitude + Double(steps) * c.longitudeSpan)
    }

    static var items: [Item] {
        [
            Item(id: "centre", location: user),                                         // 3 clicks
            Item(id: "next door", location: east(1)),                                   // 2 clicks
            Item(id: "lyon", location: GeoPoint(latitude: 45.764, longitude: 4.8357)),  // 5 clicks
            Item(id: "unloved", location: user),                                        // no clicks
            Item(id: "quiet", location: user),                                          // 1 click
            Item(id: "nowhere"),                                                        // 6 clicks
            Item(id: "hidden", location: user, hidden: true),                           // 6 clicks
            Item(id: "far east", location: east(2)),                                    // 4 clicks
            Item(id: "ignored", location: user),                                        // 1 click in 200 impressions
        ]
    }

    static var log: EventLog {
        var l = EventLog()
        var u: Int32 = 0
        for (item, clicks) in [(0, 3), (1, 2), (2, 5), (4, 1), (5, 6), (6, 6), (7, 4), (8, 1)] {
            for _ in 0..<clicks { l.append(user: u, item: Int32(item), type: 1, timestamp: 10); u += 1 }
        }
        for _ in 0..<200 { l.append(user: u, item: 8, type: 0, timestamp: 10); u += 1 }
        return l
    }

    static func build(_ configure: (inout GeoRecall.Parameters) -> Void = { _ in }) -> GeoRecall {
        var p = GeoRecall.Parameters()
        configure(&p)
        return GeoRecall.build(items: items, log: log, typeWeights: weights, parameters: p)
    }

    func recall(_ g: GeoRecall, at location: GeoPoint? = user, quota: Int = 10, filter: CandidateFilter = CandidateFilter(itemCount: 9)) -> [Candidate] {
        g.recall(RecallContext(user: 0, location: location, now: 100), quota: quota, filter: filter)
    }

    @Test func ownAndNeighbouringCellsOnlyBestFirst() {
        let g = Self.build()
        #expect(g.precision == 5)
        let got = recall(g)
        #expect(got.map(\.item) == [0, 1, 4, 8])
        #expect(got.map(\.score) == [3, 2, 1, 1])
        #expect(got.allSatisfy { $0.channel == "geo" })
        #expect(g.items(inCell: Self.cell).map(\.item) == [0, 4, 8])
        #expect(recall(g, at: GeoPoint(latitude: 45.764, longitude: 4.8357)).map(\.item) == [2])
    }

    @Test func noLocationNoCandidates() {
        let g = Self.build()
        #expect(recall(g, at: nil).isEmpty)
        #expect(recall(g, at: GeoPoint(latitude: 120, longitude: 0)).isEmpty)
        #expect(recall(g, at: GeoPoint(latitude: -33.87, longitude: 151.21)).isEmpty) // Sydney: no items
    }

    @Test func smoothedRateDropsItemsBelowTheFloor() {
        let g = Self.build {
            $0.quality = .smoothedRate
            $0.priorRate = 0.1
            $0.priorStrength = 10
        }
        // centre (3+1)/(3+10), next door (2+1)/(2+10), quiet (1+1)/(1+10); ignored (1+1)/(200+10) < 0.1.
        let got = recall(g)
        #expect(got.map(\.item) == [0, 1, 4])
        #expect(abs(got[0].score - 4.0 / 13) < 1e-6)
    }

    @Test func perCellCapNeighbourWeightFilterAndQuota() {
        #expect(recall(Self.build { $0.perCell = 1 }).map(\.item) == [0, 1])
        #expect(recall(Self.build { $0.neighbourWeight = 0.25 }).map(\.item) == [0, 4, 8, 1])
        #expect(recall(Self.build(), filter: CandidateFilter(itemCount: 9, unavailable: [4], seen: [0])).map(\.item) == [1, 8])
        #expect(recall(Self.build(), quota: 2).map(\.item) == [0, 1])
        #expect(recall(Self.build(), quota: 0).isEmpty)
        #expect(recall(Self.build { $0.precision = 3 }).map(\.item) == [7, 0, 1, 4, 8]) // coarse cells hold them all but Lyon
    }

    @Test func maxAgeUsesPublishTimes() {
        var items = Self.items
        for i in items.indices { items[i].publishedAt = 50 }
        items[0].publishedAt = 5
        var p = GeoRecall.Parameters()
        p.maxAge = 60
        let g = GeoRecall.build(items: items, log: Self.log, typeWeights: Self.weights, parameters: p, now: 60)
        #expect(g.recall(RecallContext(user: 0, location: Self.user, now: 60), quota: 10, filter: CandidateFilter(itemCount: 9)).map(\.item) == [0, 1, 4, 8])
        // At 100 the centre item (published at 5) is too old; at 40 the others are not published yet.
        #expect(g.recall(RecallContext(user: 0, location: Self.user, now: 100), quota: 10, filter: CandidateFilter(itemCount: 9)).map(\.item) == [1, 4, 8])
        #expect(g.recall(RecallContext(user: 0, location: Self.user, now: 40), quota: 10, filter: CandidateFilter(itemCount: 9)).map(\.item) == [0])
    }

    @Test func loadRejectsBadCells() throws {
        let g = Self.build()
        #expect(try GeoRecall(serialized: g.serialized()).cells == g.cells)
        let bad = GeoRecall(precision: 5, maxAge: nil, neighbourWeight: 1, cells: ["u09tv"], offsets: [0, 1], items: [0], scores: [1], published: [.nan])
        #expect(throws: Never.self) { _ = try GeoRecall(serialized: bad.serialized()) }
        let wrongLength = GeoRecall(precision: 4, maxAge: nil, neighbourWeight: 1, cells: ["u09tv"], offsets: [0, 1], items: [0], scores: [1], published: [.nan])
        #expect(throws: CascadeError.self) { _ = try GeoRecall(serialized: wrongLength.serialized()) }
        let notHash = GeoRecall(precision: 5, maxAge: nil, neighbourWeight: 1, cells: ["aaaaa"], offsets: [0, 1], items: [0], scores: [1], published: [.nan])
        #expect(throws: CascadeError.self) { _ = try GeoRecall(serialized: notHash.serialized()) }
        let badOffsets = GeoRecall(precision: 5, maxAge: nil, neighbourWeight: 1, cells: ["u09tv"], offsets: [0, 2], items: [0], scores: [1], published: [.nan])
        #expect(throws: CascadeError.self) { _ = try GeoRecall(serialized: badOffsets.serialized()) }
    }
}
