import CascadeCore
import Testing
@testable import CascadeEval

/// A hand-made log (type 1 = click, a positive; type 0 = impression, not counted by default):
///
///     pos user item  t  type
///      0   1   10    5   1
///      1   0    1    1   1      user 0: one event -> stays in train
///      2   1   11    1   1
///      3   2   20    3   1
///      4   1   12    2   1
///      5   2   21    3   1      ties with pos 3 at t = 3; the later position is newer
///      6   1   13    9   1      user 1: five events, latest is pos 6
///      7   1   14    4   1
///      8   2   22    0   0      impression: in neither part
///      9   2   23    1   1
///     10   3   30    7   1
///     11   3   31    7   1      user 3: two events at one time -> pos 11 is the test one
private func handLog() -> EventLog {
    var log = EventLog()
    let rows: [(Int32, Int32, Double, UInt8)] = [
        (1, 10, 5, 1), (0, 1, 1, 1), (1, 11, 1, 1), (2, 20, 3, 1), (1, 12, 2, 1), (2, 21, 3, 1),
        (1, 13, 9, 1), (1, 14, 4, 1), (2, 22, 0, 0), (2, 23, 1, 1), (3, 30, 7, 1), (3, 31, 7, 1),
    ]
    for r in rows { log.append(user: r.0, item: r.1, type: r.3, timestamp: r.2) }
    return log
}

@Suite("Temporal splits")
struct SplitTests {
    @Test func perUserFollowsTheJudgeRule() throws {
        let s = try TemporalSplit.perUser(log: handLog(), userCount: 4, testFraction: 0.2)
        // user 0: n = 1 -> k = 0.  user 1: n = 5 -> max(1, floor(1.0)) = 1 -> pos 6 (t = 9).
        // user 2: counted n = 3 (pos 8 is an impression) -> max(1, floor(0.6)) = 1; order by
        // (t, pos) is 9, 3, 5 -> pos 5.  user 3: n = 2 -> max(1, floor(0.4)) = 1 -> pos 11.
        #expect(s.testIndices == [5, 6, 11])
        #expect(s.trainIndices == [0, 1, 2, 3, 4, 7, 9, 10])
        #expect(s.test.items == [21, 13, 31])
        #expect(s.train.users == [1, 0, 1, 2, 1, 1, 2, 3])
    }

    @Test func largerFractionTakesFloorOfShare() throws {
        let s = try TemporalSplit.perUser(log: handLog(), userCount: 4, testFraction: 0.5)
        // user 1: floor(2.5) = 2 -> the two latest, pos 6 (t 9) and pos 0 (t 5).
        // user 2: floor(1.5) = 1 -> pos 5.  user 3: floor(1.0) = 1 -> pos 11.
        #expect(s.testIndices == [0, 5, 6, 11])
    }

    @Test func allTypesCountsImpressionsToo() throws {
        let s = try TemporalSplit.perUser(log: handLog(), userCount: 4, testFraction: 0.5, positiveTypes: TemporalSplit.allTypes)
        // user 2 now has n = 4 (pos 8 at t = 0 first) -> floor(2.0) = 2 -> pos 3 and pos 5.
        #expect(s.testIndices == [0, 3, 5, 6, 11])
        #expect(s.trainIndices.count + s.testIndices.count == 12)
    }

    @Test func defaultTypesAreThePositiveBuiltins() {
        // impression (0, weight 0) and dislike (8, weight -1) are out; the other nine are in.
        #expect(TemporalSplit.defaultPositiveTypes == [1, 2, 3, 4, 5, 6, 7, 9, 10])
    }

    @Test func leaveOneOutTakesTheLastEvent() throws {
        let s = try TemporalSplit.leaveOneOut(log: handLog(), userCount: 4)
        #expect(s.testIndices == [5, 6, 11])
    }

    @Test func globalSplitCutsByCountInTimeOrder() throws {
        let s = try TemporalSplit.global(log: handLog(), trainFraction: 0.5)
        // counted events by (t, pos): 1 2 9 | 4 | 3 5 | 7 | 0 | 10 11 | 6, n = 11,
        // floor(5.5) = 5 -> train {1, 2, 9, 4, 3}; pos 5 shares t = 3 with pos 3 but comes later.
        #expect(s.trainIndices == [1, 2, 3, 4, 9])
        #expect(s.testIndices == [0, 5, 6, 7, 10, 11])
        #expect(try TemporalSplit.timeOrder(log: handLog()) == [1, 2, 9, 4, 3, 5, 7, 0, 10, 11, 6])
    }

    @Test func badInputIsRejected() {
        #expect(throws: CascadeError.self) { try TemporalSplit.perUser(log: handLog(), userCount: 3) }
        #expect(throws: CascadeError.self) { try TemporalSplit.perUser(log: handLog(), userCount: 4, testFraction: 1.5) }
        #expect(throws: CascadeError.self) { try TemporalSplit.global(log: handLog(), trainFraction: -0.1) }
        var log = handLog()
        log.append(user: 0, item: 2, type: 1, timestamp: .nan)
        #expect(throws: CascadeError.self) { try TemporalSplit.leaveOneOut(log: log, userCount: 4) }
    }

    @Test func userItemSetsDeduplicateAndSort() throws {
        var log = EventLog()
        for (u, i) in [(0, 5), (0, 2), (0, 5), (2, 7)] as [(Int32, Int32)] { log.append(user: u, item: i, type: 1, timestamp: 0) }
        let sets = try UserItemSets(log: log, userCount: 3)
        #expect(Array(sets.items(of: 0)) == [2, 5])
        #expect(sets.count(of: 1) == 0 && sets.count(of: 2) == 1 && sets.count(of: 9) == 0)
        #expect(sets.contains(user: 0, item: 5) && !sets.contains(user: 0, item: 7) && !sets.contains(user: 1, item: 5))
        #expect(sets.distinctItemCount() == 3)
        #expect(throws: CascadeError.self) { try UserItemSets(log: log, userCount: 2) }
    }
}
