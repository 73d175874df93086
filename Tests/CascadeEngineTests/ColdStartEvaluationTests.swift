import CascadeCore
import CascadeEngine
import CascadeLab
import CascadeStore
import Foundation
import Testing

@Suite struct ColdStartEvaluationTests {
    /// Two tastes by category: 20 users like the 30 "a" items, 20 the 30 "b" items; each user
    /// engages with a seeded half of their category.
    static func store() throws -> SQLiteStore {
        let s = try SQLiteStore()
        var items: [Item] = []
        for i in 0..<60 { items.append(Item(id: "i\(i)", categories: [i < 30 ? "a" : "b"])) }
        var events: [Event] = []
        var rng = SplitMix64(seed: 9)
        var t = 0.0
        for u in 0..<40 {
            let base = u < 20 ? 0 : 30
            for i in base..<(base + 30) where rng.next() % 2 == 0 {
                events.append(Event(user: "u\(u)", item: "i\(i)", type: .click, timestamp: t)); t += 1
            }
        }
        try s.importBatch(users: [], items: items, events: events)
        return s
    }

    /// Held-out items have no training event: popular and item-CF cannot place them, the
    /// two-tower places them from their category alone, well above a uniform pick.
    @Test func metadataPlacesHeldOutItems() throws {
        var config = FunnelConfig()
        config.twoTower.epochs = 30
        config.twoTower.validationUsers = 0
        config.twoTower.dim = 8
        config.twoTower.hidden = 16
        config.twoTower.uniformNegatives = 16
        let rows = try ColdStartEvaluation.run(store: try Self.store(), channels: ["twotower", "popular", "itemcf"], config: config,
                                               share: 0.2, k: 6, seed: 3)
        #expect(rows.map(\.channel) == ["twotower", "popular", "itemcf"])
        #expect(rows.allSatisfy { $0.heldOutItems == 12 && $0.users > 30 })
        #expect(rows[1].recall == 0 && rows[2].recall == 0)
        #expect(rows[0].recall > 0.8, "two-tower recall@6 on held-out items: \(rows[0].recall) (uniform 0.5)")
    }

    @Test func badArgumentsAreRefused() throws {
        let s = try Self.store()
        #expect(throws: CascadeError.self) { try ColdStartEvaluation.run(store: s, channels: ["popular"], config: FunnelConfig(), share: 1) }
        #expect(throws: CascadeError.self) { try ColdStartEvaluation.run(store: s, channels: ["popular"], config: FunnelConfig(), k: 0) }
        #expect(throws: CascadeError.self) { try ColdStartEvaluation.run(store: s, channels: ["nosuch"], config: FunnelConfig()) }
    }
}
