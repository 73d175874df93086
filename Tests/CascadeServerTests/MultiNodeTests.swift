import CascadeCore
import CascadeEngine
import CascadePostgres
import CascadeServer
import CascadeStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Two servers and a trainer on one PostgreSQL database, each with its own connections and
/// caches, as three processes on three hosts would have. Runs when `CASCADE_TEST_POSTGRES` names
/// a server (`.ci/run` starts one).
@Suite struct MultiNodeTests {
    static let url = ProcessInfo.processInfo.environment["CASCADE_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }

    /// A fresh schema: one deployment of its own.
    static func deployment() throws -> PostgresLocation {
        let base = try PostgresLocation(url: try #require(url))
        return try base.inSchema("mn_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20))
    }

    @Test(.enabled(if: url != nil, "CASCADE_TEST_POSTGRES is not set"))
    func versionsPublishedByTheTrainerAreServedByBothAndFeedbackOnOneFiltersTheOther() async throws {
        let location = try Self.deployment()
        let trainer = try PostgresStore(location: location)
        try train(trainer)
        let a = try makeAPI(try PostgresStore(location: location))
        let b = try makeAPI(try PostgresStore(location: location))
        #expect(a.models.versions["recall/itemcf"] == 1 && b.models.versions["recall/itemcf"] == 1)

        try await app(a).test(.router) { nodeA in
            try await app(b).test(.router) { nodeB in
                // Impressions posted to A are filtered out on B.
                let shownByB = try await page(nodeB, "u4", n: 10)
                #expect(shownByB.count == 10)
                let impressions: [[String: Any]] = shownByB.map { ["user": "u4", "item": $0, "type": "impression"] }
                #expect(try await post(nodeA, impressions).status == .ok)
                let next = try await page(nodeB, "u4", n: 10)
                #expect(Set(next).isDisjoint(with: shownByB), "B served items A recorded as shown")

                // A click posted to B is filtered on A (it is in the user's history in the store).
                let clicked = try #require(try await page(nodeA, "u7", n: 5).first)
                #expect(try await post(nodeB, [["user": "u7", "item": clicked, "type": "click"]]).status == .ok)
                #expect(!(try await page(nodeA, "u7", n: 20)).contains(clicked))

                // The trainer publishes new versions; both servers swap them in.
                var config = FunnelConfig()
                config.quotas = try config.restricted(to: ["itemcf", "als", "popular", "trending"]).quotas
                config.rank.enabled = false
                try Trainer.train(store: trainer, config: config)
                #expect(a.models.reloadIfChanged() && b.models.reloadIfChanged())
                for node in [nodeA, nodeB] as [any TestClientProtocol] {
                    try await node.execute(uri: "/api/recommend/u2?n=5", method: .get, headers: headers(readKey)) { r in
                        #expect(r.status == .ok)
                        let served = try decoded(PageJSON.self, r)
                        #expect(served.models["recall/itemcf"] == 2)
                    }
                }
            }
        }
    }

    @Test(.enabled(if: url != nil, "CASCADE_TEST_POSTGRES is not set"))
    func concurrentFeedbackOnTwoNodesLosesNoExposure() async throws {
        let location = try Self.deployment()
        let stores = [try PostgresStore(location: location), try PostgresStore(location: location)]
        try stores[0].upsertItems((0..<200).map { Item(id: "i\($0)") })
        // Both nodes record impressions of the same user at once, in many small batches.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, store) in stores.enumerated() {
                group.addTask {
                    for k in 0..<20 {
                        let items = (0..<5).map { "i\(n * 100 + k * 5 + $0)" }
                        try Feedback.record(items.map { Event(user: "shared", item: $0, type: .impression, timestamp: 1_000) }, store: store)
                    }
                }
            }
            try await group.waitForAll()
        }
        let filter = try ExposureFilter(serialized: try #require(try stores[1].exposureFilter(user: "shared")))
        let missing = (0..<200).filter { !filter.contains(ExposureFilter.key("i\($0)"), now: 1_000) }
        #expect(missing.isEmpty, "impressions lost from the shared filter: \(missing)")
        #expect(try stores[0].counts().events == 200)
    }
}
