import Foundation
import Testing
@testable import CascadeRank

/// Score fusion formulas on hand-computed candidate lists, JSON loading and its errors.
@Suite struct FusionTests {
    static let tasks = ["click", "like", "finish"]
    // Candidates x (click, like, finish).
    static let p: [[Float]] = [
        [0.10, 0.50, 0.20],  // 0
        [0.30, 0.05, 0.60],  // 1
        [0.20, 0.20, 0.40],  // 2
        [0.05, 0.90, 0.10],  // 3
    ]

    @Test func weightedSum() throws {
        let f = try FusionFormula(kind: .weightedSum, terms: [.init(task: "click", weight: 1), .init(task: "like", weight: 0.5)])
            .compiled(tasks: Self.tasks)
        // 0: .10 + .25 = .35; 1: .30 + .025 = .325; 2: .20 + .10 = .30; 3: .05 + .45 = .50
        let s = f.scores(Self.p)
        #expect(zip(s, [0.35, 0.325, 0.30, 0.50]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(f.order(Self.p) == [3, 0, 1, 2])
    }

    @Test func weightedProduct() throws {
        let f = try FusionFormula(kind: .weightedProduct, terms: [
            .init(task: "click", alpha: 0, beta: 1), .init(task: "finish", alpha: 0.1, beta: 2),
        ]).compiled(tasks: Self.tasks)
        // 0: .10 * .09 = .009; 1: .30 * .49 = .147; 2: .20 * .25 = .05; 3: .05 * .04 = .002
        let s = f.scores(Self.p)
        #expect(zip(s, [0.009, 0.147, 0.05, 0.002]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(f.order(Self.p) == [1, 2, 0, 3])
    }

    @Test func rankFusion() throws {
        let f = try FusionFormula(kind: .rank, terms: [.init(task: "click"), .init(task: "like", weight: 2)], k: 1)
            .compiled(tasks: Self.tasks)
        // click ranks: 0->3, 1->1, 2->2, 3->4. like ranks: 0->2, 1->4, 2->3, 3->1.
        // 0: 1/4 + 2/3 = .9167; 1: 1/2 + 2/5 = .9; 2: 1/3 + 2/4 = .8333; 3: 1/5 + 2/2 = 1.2
        let s = f.scores(Self.p)
        #expect(zip(s, [1.0 / 4 + 2.0 / 3, 0.9, 1.0 / 3 + 0.5, 1.2]).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(f.order(Self.p) == [3, 0, 1, 2])
        #expect(ScoreFusion.ranks([0.5, 0.9, 0.5, 0.1]) == [2, 1, 2, 4])
    }

    @Test func loadsScenesFromJSON() throws {
        let json = """
            { "scenes": {
                "feed": { "kind": "weighted-sum", "terms": [ { "task": "click", "weight": 1 }, { "task": "like", "weight": 0.5 } ] },
                "video": { "kind": "weighted-product", "terms": [ { "task": "click", "beta": 1 }, { "task": "finish", "alpha": 0.1, "beta": 2 } ] },
                "mixed": { "kind": "rank", "k": 1, "terms": [ { "task": "click" }, { "task": "like", "weight": 2 } ] } } }
            """
        let config = try FusionConfig.decode(Data(json.utf8), tasks: Self.tasks)
        #expect(try config.fusion(scene: "feed", tasks: Self.tasks).order(Self.p) == [3, 0, 1, 2])
        #expect(try config.fusion(scene: "video", tasks: Self.tasks).order(Self.p) == [1, 2, 0, 3])
        #expect(try config.fusion(scene: "mixed", tasks: Self.tasks).order(Self.p) == [3, 0, 1, 2])
        let back = try JSONDecoder().decode(FusionConfig.self, from: JSONEncoder().encode(config))
        #expect(back == config)
        #expect(throws: RankError.self) { try config.fusion(scene: "search", tasks: Self.tasks) }
    }

    @Test func unknownTaskIsRejectedAtLoad() {
        let json = #"{ "scenes": { "feed": { "kind": "weighted-sum", "terms": [ { "task": "click" }, { "task": "lik" } ] } } }"#
        do {
            _ = try FusionConfig.decode(Data(json.utf8), tasks: Self.tasks, file: "fusion.json")
            Issue.record("an unknown task was accepted")
        } catch let e as RankError {
            #expect(e.description.contains("unknown task 'lik'") && e.description.contains("scene 'feed'")
                    && e.description.contains("click, like, finish"), "\(e)")
        } catch { Issue.record("unexpected \(error)") }
        let badKind = #"{ "scenes": { "feed": { "kind": "max", "terms": [ { "task": "click" } ] } } }"#
        #expect(throws: RankError.self) { try FusionConfig.decode(Data(badKind.utf8), tasks: Self.tasks) }
    }
}
