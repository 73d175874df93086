import CascadeCore
import Testing
@testable import CascadeEval

/// The split and the scorers against numbers the neutral judges printed on ``JudgeFixture``.
@Suite("Parity with the judges")
struct JudgeParityTests {
    /// The fixture in dense form: ratings below 3 become impressions (code 0), the judge's
    /// `--min-rating 3`; the rest clicks (code 1). Ids are interned in file order.
    struct Dense {
        var users = IdMap(), items = IdMap()
        var log = EventLog()
        init() {
            for (u, i, rating, t) in JudgeFixture.interactions {
                log.append(user: users.intern(u), item: items.intern(i), type: rating >= 3 ? 1 : 0, timestamp: t)
            }
        }
    }

    private func triples(_ log: EventLog, _ d: Dense) -> [String] {
        (0..<log.count).map { "\(d.users.external(log.users[$0])),\(d.items.external(log.items[$0])),\(Int(log.timestamps[$0]))" }.sorted()
    }

    @Test(arguments: [(0.2, JudgeFixture.test020, 33), (0.34, JudgeFixture.test034, 30)])
    func splitMatchesJudge(fraction: Double, expected: [(String, String, Double)], trainRows: Int) throws {
        let d = Dense()
        let s = try TemporalSplit.perUser(log: d.log, userCount: d.users.count, testFraction: fraction)
        #expect(triples(s.test, d) == expected.map { "\($0.0),\($0.1),\(Int($0.2))" }.sorted())
        #expect(s.train.count == trainRows)
    }

    @Test func scoresMatchJudge() throws {
        var d = Dense()
        var recs: [[Int32]] = []
        for (u, i, _) in JudgeFixture.recommendations {   // rows are in rank order per user
            let user = Int(d.users.intern(u)), item = d.items.intern(i)
            while recs.count <= user { recs.append([]) }
            recs[user].append(item)
        }
        for expected in JudgeFixture.topKScores {
            let s = try TemporalSplit.perUser(log: d.log, userCount: d.users.count, testFraction: expected.fraction)
            let train = try UserItemSets(log: s.train, userCount: d.users.count)
            let test = try UserItemSets(log: s.test, userCount: d.users.count)
            let m = try TopKEvaluation.evaluate(recommendations: recs, train: train, test: test, k: expected.k)
            #expect(m.line(system: "recs") == expected.line)
            #expect(abs(m.recall - expected.recall) < 1e-12)
            #expect(abs(m.ndcg - expected.ndcg) < 1e-12)
            #expect(abs(m.hitRate - expected.hit) < 1e-12)
            #expect(abs(m.coverage - expected.coverage) < 1e-12)
        }
    }

    @Test func classificationMatchesJudge() throws {
        let rows = JudgeFixture.ctrRows
        let r = try ClassificationReport.evaluate(labels: rows.map(\.0), predictions: rows.map(\.2), users: rows.map(\.1))
        #expect(r.line(system: "x") == JudgeFixture.ctrLine)
        #expect(r.rows == 30)
        #expect(r.auc == JudgeFixture.ctrAUC)
        #expect(abs(r.gauc - JudgeFixture.ctrGAUC) < 1e-12)
        #expect(abs(r.logLoss - JudgeFixture.ctrLogLoss) < 1e-12)
        #expect(abs(r.calibration - JudgeFixture.ctrCalibration) < 1e-12)
    }
}
