import CascadeCore
import CascadeExperiment
import Foundation
import Testing

@Suite struct ReportTests {
    @Test func eventsAggregatePerUser() {
        let events = [
            Event(user: "a", item: "i1", type: .impression, timestamp: 1), Event(user: "a", item: "i2", type: .impression, timestamp: 1),
            Event(user: "a", item: "i1", type: .click, timestamp: 2), Event(user: "a", item: "i1", type: .like, timestamp: 3),
            Event(user: "a", item: "i1", type: .watch, timestamp: 4, value: 30), Event(user: "a", item: "i2", type: .dislike, timestamp: 5),
            Event(user: "b", item: "i1", type: .impression, timestamp: 1),
        ]
        let o = ExperimentReport.outcomes(of: events, registry: EventTypeRegistry())
        #expect(o["a"]?.impressions == 2 && o["a"]?.clicks == 1 && o["a"]?.positives == 3)
        #expect(o["a"]?.weighted == 1 + 2 + 1 - 1 && o["a"]?.engagedSeconds == 30)
        #expect(o["b"]?.impressions == 1 && o["b"]?.positives == 0)
    }

    @Test func aBetterArmIsSignificantAndTheRowsSayWhich() throws {
        let c = try ExperimentConfig.decode(Data("""
            { "buckets": 100, "holdout": { "fraction": 0.1 }, "layers": [ { "name": "l", "experiments": [
              { "name": "x", "arms": [ { "name": "control", "buckets": "0-49" }, { "name": "better", "buckets": "50-99" } ] } ] } ] }
            """.utf8))
        var rng = LCG(seed: 3)
        var outcomes: [String: UserOutcome] = [:]
        for k in 0..<4000 {
            let user = "u\(k)"
            let better = c.assign(user: user).arms.first?.arm == "better"
            var o = UserOutcome()
            o.impressions = 20
            o.clicks = Double((0..<20).filter { _ in rng.uniform() < (better ? 0.12 : 0.10) }.count)
            o.positives = o.clicks
            o.weighted = o.clicks * 1.5
            outcomes[user] = o
        }
        let rows = ExperimentReport.rows(config: c, outcomes: outcomes, metric: .ctr)
        #expect(rows.map(\.arm) == ["control", "better", "holdout", "exposed"])
        #expect(rows[0].comparison == nil && rows[0].isControl)
        let better = try #require(rows[1].comparison)
        #expect(better.p < 1e-4 && better.delta.lo > 0 && abs(better.delta.value - 0.02) < 0.01)
        #expect(rows[0].ctr.lo < 0.10 && rows[0].ctr.hi > 0.10 && rows[1].ctr.lo < 0.12 && rows[1].ctr.hi > 0.12)
        #expect(rows.reduce(0) { $0 + ($1.layer == "l" ? $1.users : 0) } + rows[2].users == 4000)
        let line = ExperimentReport.line(rows[1], metric: .ctr)
        for key in ["layer=l", "experiment=x", "arm=better", "users=", "impressions=", "ctr=", "ctr_lo=", "ctr_hi=", "engagement=",
                    "northstar=", "delta=", "delta_lo=", "delta_hi=", "p="] {
            #expect(line.contains(key), "\(key) missing in \(line)")
        }
        #expect(ExperimentReport.line(rows[0], metric: .ctr).contains("p=-"))
        // The same data tested on the north star (1.5 per click) is significant too.
        let ns = ExperimentReport.rows(config: c, outcomes: outcomes, metric: .northstar)
        #expect((ns[1].comparison?.p ?? 1) < 1e-4)
    }
}
