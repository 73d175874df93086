import CascadeCore
import Foundation
import Testing

@Suite struct IdMapTests {
    @Test func internsDenseInFirstSeenOrder() {
        var m = IdMap()
        #expect(m.intern("b") == 0)
        #expect(m.intern("a") == 1)
        #expect(m.intern("b") == 0)
        #expect(m.index(of: "a") == 1 && m.index(of: "zz") == nil)
        #expect(m.external(1) == "a" && m.count == 2)
        #expect(IdMap(ids: ["x", "y"]).index(of: "y") == 1)
    }
}

@Suite struct ValidationTests {
    @Test func badIdsAndNumbersAreRejectedWithReasons() {
        #expect(throws: CascadeError.invalid("user id is empty")) { try User(id: "").validate() }
        #expect(throws: CascadeError.self) { try Item(id: "a\u{0}b").validate() }
        #expect(throws: CascadeError.self) { try Item(id: "x", location: GeoPoint(latitude: 91, longitude: 0)).validate() }
        #expect(throws: CascadeError.self) { try Event(user: "u", item: "i", timestamp: .infinity).validate() }
        #expect(throws: CascadeError.self) { try User(id: "u", numeric: ["age": .nan]).validate() }
        #expect(throws: Never.self) { try Event(user: "u", item: "i", type: .watch, timestamp: 1, value: 30).validate() }
        #expect(throws: CascadeError.self) { try Event(user: "u", item: "i", timestamp: 1, scene: String(repeating: "s", count: 257)).validate() }
        #expect(throws: CascadeError.self) { try Event(user: "u", item: "i", timestamp: 1, scene: "home\u{0}feed").validate() }
        #expect(throws: CascadeError.self) { try Event(user: "u", item: "i", timestamp: 1, scene: "home\u{1B}feed").validate() }
        #expect(throws: Never.self) { try Event(user: "u", item: "i", timestamp: 1, scene: "two\nlines\tand a tab").validate() }
        #expect(throws: Never.self) { try Event(user: "u", item: "i", timestamp: 1, scene: String(repeating: "s", count: 256)).validate() }
    }

    @Test func registryHasBuiltinsAndRegistersCustomTypes() throws {
        var r = EventTypeRegistry()
        #expect(r.code(of: .impression) == 0 && r.code(of: .completion) == 10)
        #expect(r.weightsByCode[Int(r.code(of: .purchase)!)] == 4)
        #expect(try r.register("add_to_cart", weight: 2) == 11)
        #expect(try r.register("add_to_cart", weight: 3) == 11)
        #expect(r.weightsByCode[11] == 3)
        #expect(throws: CascadeError.self) { try r.register("", weight: 1) }
        #expect(throws: CascadeError.self) { try r.register("x", weight: .nan) }
    }
}

@Suite struct InteractionMatrixTests {
    func log(_ rows: [(Int32, Int32, UInt8, Double)]) -> EventLog {
        var l = EventLog()
        for r in rows { l.append(user: r.0, item: r.1, type: r.2, timestamp: r.3) }
        return l
    }

    @Test func sumsDuplicatePairsWithTypeWeightsAndSkipsNonPositives() {
        let w = EventTypeRegistry().weightsByCode
        // user 0: click(1)+like(2) on item 2, impression (0) on item 1; user 1: purchase (4) on item 0, dislike on 2
        let m = InteractionMatrix(log: log([(0, 2, 1, 1), (0, 1, 0, 2), (0, 2, 2, 3), (1, 0, 7, 4), (1, 2, 8, 5)]),
                                  userCount: 3, itemCount: 3, typeWeights: w)
        #expect(m.userItems.offsets == [0, 1, 2, 2])
        #expect(m.userItems.columns == [2, 0])
        #expect(m.userItems.values == [3, 4])
        #expect(m.itemUsers.offsets == [0, 1, 1, 2])
        #expect(m.itemUsers.columns == [1, 0])
        #expect(m.userItems.value(row: 0, column: 2) == 3 && m.userItems.value(row: 0, column: 1) == 0)
    }

    @Test func timeDecayHalvesPerHalfLife() {
        let w = EventTypeRegistry().weightsByCode
        let m = InteractionMatrix(log: log([(0, 0, 1, 0), (0, 1, 1, 100)]), userCount: 1, itemCount: 2,
                                  typeWeights: w, halfLife: 50, now: 100)
        #expect(abs(m.userItems.values[0] - 0.25) < 1e-6)
        #expect(m.userItems.values[1] == 1)
    }

    @Test func transposeMatchesDenseTranspose() {
        var rng = SplitMix64(seed: 7)
        var rows: [(Int32, Int32, UInt8, Double)] = []
        for t in 0..<500 { rows.append((Int32(rng.next() % 40), Int32(rng.next() % 30), 1, Double(t))) }
        let m = InteractionMatrix(log: log(rows), userCount: 40, itemCount: 30, typeWeights: EventTypeRegistry().weightsByCode)
        for u in 0..<40 {
            for i in 0..<30 {
                #expect(m.userItems.value(row: u, column: Int32(i)) == m.itemUsers.value(row: i, column: Int32(u)))
            }
        }
        #expect(m.userItems.values.reduce(0, +) == 500)
    }

    /// Slots are optional per event: a log without any carries none, one logged slot pads the
    /// events before it as unknown, and subsets and concatenations keep each event's slot.
    @Test func logPositionsStayAlignedWithTheirEvents() {
        var log = EventLog()
        log.append(user: 0, item: 0, type: 0, timestamp: 1)
        #expect(log.positions.isEmpty && !log.hasPositions && log.position(0) == nil)
        log.append(user: 0, item: 1, type: 0, timestamp: 2, position: 3)
        log.append(user: 0, item: 2, type: 1, timestamp: 3)
        #expect((0..<3).map { log.position($0) } == [nil, 3, nil] && log.positions.count == 3)
        var other = EventLog()
        other.append(user: 1, item: 1, type: 0, timestamp: 4, position: 0)
        var joined = EventLog()
        joined.append(user: 2, item: 2, type: 0, timestamp: 0)
        joined.append(contentsOf: other)
        joined.append(contentsOf: log)
        #expect((0..<joined.count).map { joined.position($0) } == [nil, 0, nil, 3, nil])
        let sub = joined.subset([3, 1, 0])
        #expect((0..<3).map { sub.position($0) } == [3, 0, nil] && sub.items == [1, 1, 2])
    }

    @Test func indexByUserSortsEachUsersEventsByTime() {
        let l = log([(1, 0, 1, 5), (0, 1, 1, 3), (1, 2, 1, 1), (1, 3, 1, 5), (0, 4, 1, 1)])
        let (off, ev) = l.indexByUser(userCount: 2)
        #expect(off == [0, 2, 5])
        #expect(ev == [4, 1, 2, 0, 3])
    }
}

/// The project's one small generator matches the published SplitMix64 sequence.
@Suite struct SplitMix64Tests {
    @Test func theReferenceSequence() {
        var r = SplitMix64(seed: 0)
        #expect([r.next(), r.next(), r.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var a = SplitMix64(seed: 5, stream: 1), b = SplitMix64(seed: 5, stream: 2), c = SplitMix64(seed: 5, stream: 1)
        let x = a.next()
        #expect(x != b.next() && x == c.next())
        var u = SplitMix64(seed: 9)
        for _ in 0..<1_000 {
            let f = u.nextUnitFloat(), d = u.nextUnitDouble(), k = u.below(7)
            #expect((0..<1).contains(f) && (0..<1).contains(d) && (0..<7).contains(k))
        }
    }
}

@Suite struct GeoHashTests {
    @Test func encodesAndDecodesKnownPoints() throws {
        // The classic example: 42.6, -5.6 is "ezs42".
        #expect(GeoHash.encode(GeoPoint(latitude: 42.6, longitude: -5.6), precision: 5) == "ezs42")
        #expect(GeoHash.encode(GeoPoint(latitude: 57.64911, longitude: 10.40744), precision: 11) == "u4pruydqqvj")
        let cell = try GeoHash.decode("ezs42")
        #expect(abs(cell.center.latitude - 42.605) < 0.03 && abs(cell.center.longitude - (-5.603)) < 0.03)
        #expect(throws: CascadeError.self) { try GeoHash.decode("ezs4a") }
        #expect(throws: CascadeError.self) { try GeoHash.decode("") }
    }

    @Test func neighboursSurroundTheCell() throws {
        let n = try GeoHash.neighbours("u4pruyd")
        #expect(n.count == 8 && Set(n).count == 8 && !n.contains("u4pruyd"))
        let c = try GeoHash.decode("u4pruyd")
        for h in n {
            let d = try GeoHash.decode(h)
            #expect(abs(d.center.latitude - c.center.latitude) <= c.latitudeSpan * 1.01)
            #expect(abs(d.center.longitude - c.center.longitude) <= c.longitudeSpan * 1.01)
        }
        // Across the antimeridian, and none beyond the pole.
        let east = GeoHash.encode(GeoPoint(latitude: 0.1, longitude: 179.99), precision: 4)
        #expect(try GeoHash.neighbours(east).contains { try GeoHash.decode($0).center.longitude < 0 })
        let pole = GeoHash.encode(GeoPoint(latitude: 89.99, longitude: 0), precision: 3)
        #expect(try GeoHash.neighbours(pole).count == 5)
    }

    @Test func distanceIsHaversine() {
        let paris = GeoPoint(latitude: 48.8566, longitude: 2.3522), london = GeoPoint(latitude: 51.5074, longitude: -0.1278)
        #expect(abs(paris.distanceKm(to: london) - 343.5) < 1.5)
    }
}

@Suite struct BloomFilterTests {
    @Test func sizingFollowsTheFormulas() throws {
        // m = ceil(-10000 ln 0.01 / ln(2)^2) = ceil(95850.58) = 95851; k = round(95851/10000 ln 2) = round(6.64) = 7
        #expect(BloomFilter.optimalBitCount(expected: 10_000, falsePositiveRate: 0.01) == 95_851)
        #expect(BloomFilter.optimalHashCount(bits: 95_851, expected: 10_000) == 7)
        let f = try BloomFilter(expected: 10_000, falsePositiveRate: 0.01)
        #expect(f.bitCount == 95_851 && f.hashCount == 7)
        #expect(abs(BloomFilter.falsePositiveRate(bits: 95_851, hashes: 7, inserted: 10_000) - 0.01) < 0.0005)
        #expect(throws: CascadeError.self) { try BloomFilter(expected: 0, falsePositiveRate: 0.01) }
        #expect(throws: CascadeError.self) { try BloomFilter(expected: 10, falsePositiveRate: 1) }
    }

    @Test func noFalseNegativesAndMeasuredRateNearTarget() throws {
        var f = try BloomFilter(expected: 5000, falsePositiveRate: 0.02)
        for i in 0..<5000 { f.insert(Int32(i)) }
        #expect((0..<5000).allSatisfy { f.contains(Int32($0)) })
        let fp = (100_000..<200_000).filter { f.contains(Int32($0)) }.count
        let rate = Double(fp) / 100_000
        #expect(rate > 0.01 && rate < 0.03, "measured false-positive rate \(rate)")
        f.insert("item-x")
        #expect(f.contains("item-x"))
        let copy = try BloomFilter(bits: f.bitCount, hashes: f.hashCount, words: f.words, inserted: f.insertedCount)
        #expect(copy == f)
        #expect(throws: CascadeError.self) { try BloomFilter(bits: 100, hashes: 3, words: [0], inserted: 0) }
    }
}

@Suite struct TopKTests {
    @Test func matchesFullSortWithDeterministicTies() {
        var rng = SplitMix64(seed: 3)
        let scores = (0..<1000).map { _ in Float(rng.next() % 50) }
        var t = TopK(25)
        for (i, s) in scores.enumerated() { t.push(Int32(i), s) }
        let expected = scores.enumerated().sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .prefix(25).map { Int32($0.offset) }
        #expect(t.sorted().map(\.id) == expected)
        var empty = TopK(0)
        empty.push(1, 1)
        #expect(empty.sorted().isEmpty)
    }
}

@Suite struct BinaryCodingTests {
    @Test func roundTripsAndRejectsTruncatedOrForeignData() throws {
        var w = ByteWriter(magic: "TEST", version: 3)
        w.write(Int64(-5))
        w.write("héllo")
        w.write(array: [Int32(1), 2, 3])
        w.write(array: [Float(0.5), -2])
        w.write(strings: ["a", "bc"])
        var r = try ByteReader(w.data, magic: "TEST", what: "t")
        #expect(r.version == 3)
        #expect(try r.read(Int64.self, "x") == -5)
        #expect(try r.readString("s") == "héllo")
        #expect(try r.readArray(Int32.self, "a") == [1, 2, 3])
        #expect(try r.readFloats("f") == [0.5, -2])
        #expect(try r.readStrings("ss") == ["a", "bc"])
        #expect(r.isAtEnd)
        var cut = try ByteReader(w.data.prefix(20), magic: "TEST", what: "model.bin")
        _ = try cut.read(Int64.self, "x")
        #expect { _ = try cut.readString("s") } throws: { "\($0)".contains("model.bin") && "\($0)".contains("truncated") }
        #expect(throws: CascadeError.self) { _ = try ByteReader(w.data, magic: "ABCD", what: "t") }
        #expect(throws: CascadeError.self) { _ = try ByteReader(Data([1, 2]), magic: "TEST", what: "t") }
    }
}
