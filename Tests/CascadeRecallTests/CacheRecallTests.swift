import CascadeCore
@testable import CascadeRecall
import Dispatch
import Testing

@Suite struct CacheRecallTests {
    static func cache(_ configure: (inout CacheRecall.Parameters) -> Void = { _ in }) -> CacheRecall {
        var p = CacheRecall.Parameters()
        configure(&p)
        return CacheRecall(parameters: p)
    }

    func recall(_ c: CacheRecall, user: Int32?, now: Double = 110, quota: Int = 10, filter: CandidateFilter = CandidateFilter(itemCount: 20)) -> [Candidate] {
        c.recall(RecallContext(user: user, now: now), quota: quota, filter: filter)
    }

    @Test func returnsWhatWasStoredMinusFiltered() {
        let c = Self.cache()
        c.remember(user: 1, items: [(item: 7, score: 0.8), (item: 5, score: 0.9), (item: 9, score: 0.7)], now: 100)
        let got = recall(c, user: 1)
        #expect(got.map(\.item) == [5, 7, 9] && got.map(\.score) == [0.9, 0.8, 0.7])
        #expect(got.allSatisfy { $0.channel == "cache" })
        #expect(recall(c, user: 1, filter: CandidateFilter(itemCount: 20, unavailable: [9], seen: [7])).map(\.item) == [5])
        #expect(recall(c, user: 1, quota: 2).map(\.item) == [5, 7])
        #expect(recall(c, user: 1, quota: 0).isEmpty)
        #expect(recall(c, user: 2).isEmpty && recall(c, user: nil).isEmpty)
        #expect(recall(c, user: 1, now: 50).isEmpty) // written after the request time
    }

    @Test func evictsLeastRecentlyWrittenUser() {
        let c = Self.cache { $0.maxUsers = 2 }
        for u in Int32(1)...3 { c.remember(user: u, items: [(item: u, score: 1)], now: 100) }
        #expect(c.users == [3, 2] && c.userCount == 2)
        #expect(recall(c, user: 1).isEmpty)
        _ = recall(c, user: 3) // reading does not refresh
        c.remember(user: 2, items: [(item: 4, score: 1)], now: 101)
        c.remember(user: 4, items: [(item: 4, score: 1)], now: 102)
        #expect(c.users == [4, 2])
        #expect(c.entries(of: 2).map(\.item) == [2, 4])
        c.removeUser(2)
        #expect(c.users == [4])
        c.remember(user: 5, items: [], now: 103)
        c.remember(user: 6, items: [], now: 103)
        #expect(c.users == [6, 5])
    }

    @Test func boundedItemsPassesAndAge() {
        let c = Self.cache {
            $0.maxItemsPerUser = 2
            $0.maxPasses = 2
            $0.maxAge = 50
        }
        c.remember(user: 1, items: [(item: 1, score: 0.1), (item: 2, score: 0.3), (item: 3, score: 0.2)], now: 100)
        #expect(c.entries(of: 1).map(\.item) == [2, 3])
        c.remember(user: 1, items: [(item: 2, score: 0.5)], now: 120)
        #expect(c.entries(of: 1) == [CacheRecall.Entry(item: 2, score: 0.5, since: 100, passes: 2), CacheRecall.Entry(item: 3, score: 0.2, since: 100, passes: 1)])
        // A third pass over item 2 drops it.
        c.remember(user: 1, items: [(item: 2, score: 0.5), (item: 4, score: 0.05)], now: 130)
        #expect(c.entries(of: 1).map(\.item) == [3, 4])
        // Item 3 (first written at 100) expires after 150 at read time and at the next write.
        #expect(recall(c, user: 1, now: 149).map(\.item) == [3, 4])
        #expect(recall(c, user: 1, now: 160).map(\.item) == [4])
        c.remember(user: 1, items: [], now: 160)
        #expect(c.entries(of: 1).map(\.item) == [4])
    }

    @Test func forgetShownItemsAndMergedInput() {
        let c = Self.cache()
        let merged = [MergedCandidate(item: 3, score: 0.5, sources: []), MergedCandidate(item: 8, score: 0.25, sources: [])]
        c.remember(user: 0, merged: merged, now: 0)
        c.remember(user: 0, candidates: [Candidate(item: 9, score: 0.4, channel: "itemcf")], now: 1)
        #expect(c.entries(of: 0).map(\.item) == [3, 9, 8])
        c.forget(user: 0, items: [3, 8])
        #expect(recall(c, user: 0, now: 2).map(\.item) == [9])
        c.forget(user: 42, items: [1])
        #expect(c.userCount == 1)
    }

    @Test func serializedContentSurvivesRestart() throws {
        let c = Self.cache { $0.maxUsers = 3 }
        for u in Int32(0)..<3 { c.remember(user: u, items: [(item: u + 1, score: 1), (item: u + 2, score: 0.5)], now: Double(u)) }
        c.remember(user: 0, items: [(item: 1, score: 2)], now: 5)
        let back = try CacheRecall(serialized: c.serialized())
        #expect(back.users == [0, 2, 1] && back.parameters == c.parameters)
        for u in Int32(0)..<3 { #expect(back.entries(of: u) == c.entries(of: u)) }
        back.remember(user: 9, items: [], now: 6)
        #expect(back.users == [9, 0, 2]) // the same least recent user goes
    }

    @Test func loadRejectsOutOfOrderOrOversizedContent() {
        func artifact(maxItems: Int64, scores: [Float]) -> [UInt8] {
            var w = ByteWriter(magic: "CCCH", version: 1)
            w.write("cache")
            w.write(Int64(10)); w.write(maxItems); w.write(Double(-1)); w.write(Int64(5))
            w.write(array: [Int32(1)])
            w.write(array: [Int64(0), Int64(scores.count)])
            w.write(array: (0..<Int32(scores.count)).map { $0 })
            w.write(array: scores)
            w.write(array: [Double](repeating: 0, count: scores.count))
            w.write(array: [Int32](repeating: 1, count: scores.count))
            return [UInt8](w.data)
        }
        #expect(throws: Never.self) { _ = try CacheRecall(serialized: artifact(maxItems: 5, scores: [0.9, 0.5])) }
        #expect(throws: CascadeError.self) { _ = try CacheRecall(serialized: artifact(maxItems: 5, scores: [0.5, 0.9])) }
        #expect(throws: CascadeError.self) { _ = try CacheRecall(serialized: artifact(maxItems: 1, scores: [0.9, 0.5])) }
        #expect(throws: CascadeError.self) { _ = try CacheRecall(serialized: artifact(maxItems: 5, scores: [.nan])) }
    }

    @Test func concurrentReadersAndWriters() {
        let c = Self.cache {
            $0.maxUsers = 50
            $0.maxItemsPerUser = 20
        }
        DispatchQueue.concurrentPerform(iterations: 2000) { k in
            let u = Int32(k % 80)
            if k % 3 == 0 {
                _ = c.recall(RecallContext(user: u, now: Double(k)), quota: 5, filter: CandidateFilter(itemCount: 100))
            } else {
                c.remember(user: u, items: (0..<30).map { (item: Int32(($0 * 7 + k) % 100), score: Float($0)) }, now: Double(k))
            }
            if k % 100 == 0 { _ = c.serialized() }
        }
        #expect(c.userCount <= 50 && c.users.count == c.userCount)
        #expect(c.users.allSatisfy { c.entries(of: $0).count <= 20 })
    }
}
