import CascadeCore
import Foundation
import Testing
@testable import CascadeEval

@Suite("Top-K metrics")
struct RankingTests {
    @Test func ndcgWithHitsAtRanksOneAndThree() {
        // Two test items, hits at ranks 1 and 3, K = 3:
        // DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5
        // IDCG over min(3, 2) = 2 ranks = 1 + 1/log2(3) = 1.6309297535714575
        // NDCG = 1.5 / 1.6309297535714575 = 0.9197207891481876
        let hits = [true, false, true]
        #expect(abs(RankingMetrics.ndcg(hits: hits, testCount: 2, k: 3) - 0.9197207891481876) < 1e-12)
        #expect(RankingMetrics.recall(hits: hits, testCount: 2) == 1)
        #expect(RankingMetrics.hitRate(hits: hits) == 1)
        #expect(RankingMetrics.reciprocalRank(hits: hits) == 1)
        #expect(RankingMetrics.precision(hits: hits, k: 3) == 2.0 / 3.0)
    }

    @Test func idcgIsCappedByK() {
        // |T| = 5, K = 2, one hit at rank 2: DCG = 1/log2(3) = 0.6309297535714575,
        // IDCG = 1 + 1/log2(3) = 1.6309297535714575 -> NDCG = 0.38685280723454163.
        #expect(abs(RankingMetrics.ndcg(hits: [false, true], testCount: 5, k: 2) - 0.38685280723454163) < 1e-12)
        // MRR: first hit at rank 2 -> 1/2.  Precision@5 of a 2-item list with one hit -> 1/5.
        #expect(RankingMetrics.reciprocalRank(hits: [false, true]) == 0.5)
        #expect(RankingMetrics.precision(hits: [false, true], k: 5) == 0.2)
        #expect(RankingMetrics.recall(hits: [false, true], testCount: 5) == 0.2)
    }

    @Test func trainItemsAndRepeatsAreDroppedBeforeTheCut() throws {
        // User 0 has items 1 and 2 in train. Ranked [1, 5, 5, 2, 6, 7] with K = 2:
        // 1 (train) skipped, 5 taken, 5 (repeat) skipped, 2 (train) skipped, 6 taken -> [5, 6].
        let train = try UserItemSets(lists: [[1, 2]])
        #expect(TopKEvaluation.cut([1, 5, 5, 2, 6, 7], user: 0, train: train, k: 2) == [5, 6])
        // Test item 6 is a hit at rank 2 only because train items were dropped first:
        // cutting first would give [1, 5] and no hit.
        let m = try TopKEvaluation.evaluate(recommendations: [[1, 5, 5, 2, 6, 7]], train: train,
                                            test: try UserItemSets(lists: [[6]]), k: 2)
        #expect(m.recall == 1 && m.hitRate == 1 && m.mrr == 0.5)
        // NDCG = (1/log2(3)) / (1/log2(2)) = 0.6309297535714575
        #expect(abs(m.ndcg - 0.6309297535714575) < 1e-12)
    }

    @Test func userWithoutRecommendationsScoresZero() throws {
        // User 0 hits its single test item at rank 1; user 1 has a test item and no list.
        // Averages over both: recall = (1 + 0)/2, NDCG = (1 + 0)/2, hit = 1/2.
        let m = try TopKEvaluation.evaluate(recommendations: [[4]], train: try UserItemSets(lists: []),
                                            test: try UserItemSets(lists: [[4], [9]]), k: 10)
        #expect(m.users == 2)
        #expect(m.recall == 0.5 && m.ndcg == 0.5 && m.hitRate == 0.5 && m.mrr == 0.5)
        // Precision@10 = (1/10 + 0) / 2 = 0.05.  No training items: coverage = 1 / max(1, 0) = 1.
        #expect(abs(m.precision - 0.05) < 1e-15)
        #expect(m.coverage == 1)
    }

    /// train: u0 {1, 2}, u1 {3}, u2 {4, 9}, u3 {}        catalog {1, 2, 3, 4, 9} = 5 items
    /// test:  u0 {5},    u1 {1, 2}, u2 {},  u3 {6}       u2 is not scored
    /// recs (K = 2):
    ///   u0 [1, 5, 5, 7] -> [5, 7], hits [1, 0]: recall 1, NDCG 1/1 = 1, hit 1, RR 1, P 1/2
    ///   u1 [2, 3, 4, 1] -> [2, 4], hits [1, 0]: recall 1/2, NDCG 1/(1 + 1/log2 3) = 0.6131471927654584,
    ///                                           hit 1, RR 1, P 1/2
    ///   u2 [7, 8]       -> not scored, its items are not counted as shown
    ///   u3 (none)       -> all 0
    /// means over 3 users: recall 0.5, NDCG 0.5377157309218195, hit 2/3, MRR 2/3, P 1/3;
    /// shown {5, 7, 2, 4} -> coverage 4/5 = 0.8
    @Test func fullHandCase() throws {
        let train = try UserItemSets(lists: [[1, 2], [3], [4, 9], []])
        let test = try UserItemSets(lists: [[5], [1, 2], [], [6]])
        let m = try TopKEvaluation.evaluate(recommendations: [[1, 5, 5, 7], [2, 3, 4, 1], [7, 8]],
                                            train: train, test: test, k: 2)
        #expect(m.users == 3)
        #expect(m.recall == 0.5)
        #expect(abs(m.ndcg - 0.5377157309218195) < 1e-12)
        #expect(abs(m.hitRate - 2.0 / 3.0) < 1e-15 && abs(m.mrr - 2.0 / 3.0) < 1e-15)
        #expect(abs(m.precision - 1.0 / 3.0) < 1e-15)
        #expect(m.coverage == 0.8 && m.recommendedItems == 4 && m.catalogItems == 5)
        #expect(m.line(system: "hand") == "system=hand k=2 users=3 recall2=0.5000 ndcg2=0.5377 hit2=0.6667 coverage2=0.8000")
        #expect(m.line(system: "hand", k: 10).hasPrefix("system=hand k=10 users=3 recall10=0.5000"))
        let table = m.table(system: "hand")
        #expect(table.contains("MRR@2") && table.contains("Precision@2") && table.contains("0.3333"))
        #expect(TopKEvaluation.cutAll(recommendations: [[1, 5, 5, 7], [2, 3, 4, 1]], train: train, k: 2) == [[5, 7], [2, 4]])
    }

    @Test func badArgumentsAreRejected() throws {
        let sets = try UserItemSets(lists: [[1]])
        #expect(throws: CascadeError.self) { try TopKEvaluation.evaluate(recommendations: [], train: sets, test: sets, k: 0) }
        #expect(throws: CascadeError.self) {
            try TopKEvaluation.evaluate(recommendations: [], train: sets, test: try UserItemSets(lists: [[]]), k: 5)
        }
        #expect(throws: CascadeError.self) { try UserItemSets(lists: [[-1]]) }
    }
}
