import CascadeCore
import Testing
@testable import CascadeEval

@Suite("Beyond-accuracy metrics")
struct BeyondAccuracyTests {
    @Test func singleCategoryDiversity() throws {
        // items 0..3 in categories 0 0 1 2: 6 pairs, 1 of them (0, 1) same -> ILD = 5/6;
        // formula: 1 - (2 * 1) / (4 * 3) = 5/6.
        let d = try BeyondAccuracy.intraListDiversity([0, 1, 2, 3], categories: [0, 0, 1, 2])
        #expect(abs(d! - 5.0 / 6.0) < 1e-15)
        #expect(try BeyondAccuracy.intraListDiversity([0, 1], categories: [0, 0, 1, 2]) == 0)
        #expect(try BeyondAccuracy.intraListDiversity([3], categories: [0, 0, 1, 2]) == nil)
        // mean over lists with >= 2 items: (5/6 + 0) / 2 = 5/12
        let m = try BeyondAccuracy.meanIntraListDiversity(lists: [[0, 1, 2, 3], [0, 1], [2]], categories: [0, 0, 1, 2])
        #expect(abs(m! - 5.0 / 12.0) < 1e-15)
        #expect(throws: CascadeError.self) { try BeyondAccuracy.intraListDiversity([0, 7], categories: [0]) }
    }

    @Test func multiCategoryDiversity() throws {
        // item 0 {1, 2}, item 1 {2, 3}, item 2 {}:
        // d(0,1) = 1 - 1/3 = 2/3;  d(0,2) = 1 - 0/2 = 1;  d(1,2) = 1  -> ILD = (2/3 + 1 + 1) / 3 = 8/9
        let sets = try UserItemSets(lists: [[1, 2], [3, 2], []])
        let d = try BeyondAccuracy.intraListDiversity([0, 1, 2], categorySets: sets)
        #expect(abs(d! - 8.0 / 9.0) < 1e-15)
        #expect(abs(try BeyondAccuracy.intraListDiversity([0, 1], categorySets: sets)! - 2.0 / 3.0) < 1e-15)
    }

    @Test func noveltyIsMeanSelfInformation() throws {
        // train: u0 {0, 1}, u1 {0}, u2 {}, u3 {0, 2} -> 3 users with data;
        // pop = [3/3, 1/3, 1/3, max(1, 0)/3 = 1/3]
        let pop = BeyondAccuracy.itemPopularity(train: try UserItemSets(lists: [[0, 1], [0], [], [0, 2]]), itemCount: 4)
        #expect(pop == [1, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0])
        // novelty([0, 1]) = (-log2 1 - log2(1/3)) / 2 = log2(3) / 2 = 0.7924812503605781
        let n = try BeyondAccuracy.novelty([0, 1], popularity: pop)
        #expect(abs(n! - 0.7924812503605781) < 1e-12)
        // mean over non-empty lists: ([0, 1] -> 0.79248, [0] -> 0) / 2 = 0.39624
        let m = try BeyondAccuracy.meanNovelty(lists: [[0, 1], [0], []], popularity: pop)
        #expect(abs(m! - 0.39624062518028907) < 1e-12)
        #expect(throws: CascadeError.self) { try BeyondAccuracy.novelty([9], popularity: pop) }
    }
}
