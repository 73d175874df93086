import CascadeCore
import Foundation
import Testing

@Suite struct ExposureFilterTests {
    @Test func measuredFalsePositiveRateIsWithinTwentyPercentOfTheTarget() throws {
        for p in [0.01, 0.05] {
            var f = try BloomFilter(expected: 20_000, falsePositiveRate: p)
            for i in 0..<20_000 { f.insert(Int32(i)) }
            let trials = 400_000
            let hits = (1_000_000..<(1_000_000 + trials)).filter { f.contains(Int32($0)) }.count
            let measured = Double(hits) / Double(trials)
            #expect(abs(measured - p) / p < 0.2, "target \(p), measured \(measured)")
        }
    }

    @Test func exposuresExpireAfterTheLastWindow() throws {
        let day = 86_400.0
        var e = try ExposureFilter(windowSeconds: day, windows: 3, expectedPerWindow: 100, falsePositiveRate: 0.001)
        e.insert(UInt64(1), at: 0.5 * day)
        e.insert(UInt64(2), at: 1.5 * day)
        e.insert(UInt64(3), at: 2.5 * day)
        #expect(e.contains(UInt64(1), now: 2.9 * day) && e.contains(UInt64(2), now: 2.9 * day) && e.contains(UInt64(3), now: 2.9 * day))
        #expect(!e.contains(UInt64(4), now: 2.9 * day))
        // On day 3 the window of day 0 has expired.
        #expect(!e.contains(UInt64(1), now: 3.1 * day) && e.contains(UInt64(2), now: 3.1 * day))
        e.insert(UInt64(5), at: 3.2 * day)
        #expect(e.ring.count == 3)
        e.expire(now: 10 * day)
        #expect(e.ring.isEmpty && !e.contains(UInt64(5), now: 10 * day))
        // An impression older than every live window is not recorded.
        e.insert(UInt64(6), at: 9.9 * day)
        e.insert(UInt64(7), at: 1 * day)
        #expect(!e.contains(UInt64(7), now: 9.9 * day) && e.contains(UInt64(6), now: 9.9 * day))
    }

    @Test func roundTripsAndRejectsBadInput() throws {
        var e = try ExposureFilter()
        for i in 0..<500 { e.insert(UInt64(i), at: 1_700_000_000 + Double(i) * 600) }
        let back = try ExposureFilter(serialized: e.serialized())
        #expect(back == e)
        #expect((0..<500).allSatisfy { back.contains(UInt64($0), now: 1_700_000_000 + 500 * 600) })
        #expect(throws: CascadeError.self) { _ = try ExposureFilter(serialized: e.serialized().prefix(40)) }
        #expect(throws: CascadeError.self) { _ = try ExposureFilter(windows: 0) }
        #expect(throws: CascadeError.self) { _ = try ExposureFilter(falsePositiveRate: 2) }
    }
}
