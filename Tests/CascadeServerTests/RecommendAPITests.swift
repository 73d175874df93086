import CascadeCore
import CascadeEngine
import CascadeServer
import CascadeStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct RecommendAPITests {
    @Test func pageHasNDistinctItemsAndModelVersions() async throws {
        let api = try makeAPI(try trainedStore())
        try await app(api).test(.router) { client in
            try await client.execute(uri: "/api/recommend/u5?n=15&debug=true", method: .get, headers: headers(readKey)) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("application/json") == true)
                let p = try decoded(PageJSON.self, r)
                #expect(p.items.count == 15)
                #expect(Set(p.items.map(\.item)).count == 15)
                #expect(p.models["recall/itemcf"] == 1)
                #expect(!p.coldStart)
                #expect(String(buffer: r.body).contains("\"debug\""))
            }
        }
    }

    /// Every page gets a request id and enters the served-page log; feedback naming the page
    /// joins it, and an unknown id or a slot past the page's end is refused whole with a 422.
    @Test func servedPagesAreLoggedAndFeedbackJoinsThem() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        try await app(api).test(.router) { client in
            var first: PageJSON?
            try await client.execute(uri: "/api/recommend/u4?n=6&scene=home", method: .get, headers: headers(readKey)) { r in
                first = try decoded(PageJSON.self, r)
            }
            let page = try #require(first)
            #expect(!page.request.isEmpty)
            let ok = try await post(client, [["user": "u4", "item": page.items[2].item, "type": "impression", "request": page.request, "position": 2],
                                             ["user": "u4", "item": page.items[2].item, "type": "click", "request": page.request, "position": 2]])
            #expect(ok.status == .ok, "\(String(buffer: ok.body))")
            let before = try store.counts().events
            for (bad, word) in [(["user": "u4", "item": page.items[0].item, "request": "never-served"] as [String: Any], "unknown request id"),
                                (["user": "u4", "item": page.items[0].item, "request": page.request, "position": 6], "outside its page")] {
                let r = try await post(client, [["user": "u4", "item": page.items[0].item, "type": "impression"], bad])
                #expect(r.status == .unprocessableContent && String(buffer: r.body).contains(word), "\(String(buffer: r.body))")
            }
            #expect(try store.counts().events == before)
            api.flushPageLog()
            let stored = try #require(try store.pages(requests: [page.request]).first)
            #expect(stored.items == page.items.map(\.item) && stored.user == "u4" && stored.scene == "home" && stored.models == page.models)
            #expect(stored.propensities == nil)
            let events = try store.lastEvents(user: "u4", limit: 2, types: nil)
            #expect(events.allSatisfy { $0.request == page.request && $0.position == 2 })
            try await client.execute(uri: "/metrics", method: .get, headers: headers(adminKey)) { r in
                let text = String(buffer: r.body)
                #expect(text.contains("cascade_page_log_written_total 1") && text.contains("cascade_page_log_dropped_total 0"), "\(text)")
            }
        }
    }

    /// Pages served with exploration log each item's propensity.
    @Test func exploringPagesLogTheirPropensities() async throws {
        var c = ServerConfig()
        c.keys.add(key: readKey, scope: .read)
        c.reloadInterval = 0
        c.funnel.rerank.exploreEpsilon = 0.3
        c.funnel.rerank.explorePool = 20
        let store = try trainedStore()
        let api = try CascadeAPI(store: store, config: c)
        try await app(api).test(.router) { client in
            var served: PageJSON?
            try await client.execute(uri: "/api/recommend/u2?n=8", method: .get, headers: headers(readKey)) { r in served = try decoded(PageJSON.self, r) }
            let page = try #require(served)
            api.flushPageLog()
            let stored = try #require(try store.pages(requests: [page.request]).first)
            let p = try #require(stored.propensities)
            #expect(p.count == 8 && p.allSatisfy { $0 == 0.7 || abs($0 - 8 * 0.3 / 20) < 1e-12 }, "\(p)")
        }
    }

    /// A full page-log queue drops log rows (counted), never requests.
    @Test func aFullPageLogDropsRowsNotRequests() async throws {
        var c = ServerConfig()
        c.keys.add(key: readKey, scope: .read)
        c.keys.add(key: adminKey, scope: .admin)
        c.reloadInterval = 0
        c.pageLogQueue = 1
        let store = try trainedStore()
        let api = try CascadeAPI(store: store, config: c)
        try await app(api).test(.router) { client in
            for u in 0..<40 { #expect(try await page(client, "u\(u % 9)", n: 3).count == 3) }
            api.flushPageLog()
            try await client.execute(uri: "/metrics", method: .get, headers: headers(adminKey)) { r in
                let text = String(buffer: r.body)
                let value = { (name: String) in text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? -1 }
                #expect(value("cascade_page_log_written_total") + value("cascade_page_log_dropped_total") == 40, "\(text)")
                #expect(value("cascade_page_log_written_total") >= 1)
            }
        }
    }

    @Test func aSceneServesItsOwnQuotas() async throws {
        var c = ServerConfig()
        c.keys.add(key: readKey, scope: .read)
        c.reloadInterval = 0
        c.funnel.scenes = ["related": ["quota.popular": "0", "quota.trending": "0", "quota.als": "0"]]
        let api = try CascadeAPI(store: try trainedStore(), config: c)
        try await app(api).test(.router) { client in
            var served = 0
            for u in ["u1", "u2", "u3", "u4", "u5"] {
                try await client.execute(uri: "/api/recommend/\(u)?n=10&scene=related", method: .get, headers: headers(readKey)) { r in
                    #expect(r.status == .ok, "\(String(buffer: r.body))")
                    let p = try decoded(PageJSON.self, r)
                    // Item-CF alone: users without recall from their history get a short page.
                    #expect(p.items.allSatisfy { $0.channels == ["itemcf"] }, "\(p.items.map(\.channels))")
                    served += p.items.count
                    #expect(String(buffer: r.body).contains("\"scene\":\"related\""))
                }
                try await client.execute(uri: "/api/recommend/\(u)?n=10", method: .get, headers: headers(readKey)) { r in
                    let p = try decoded(PageJSON.self, r)
                    #expect(p.items.count == 10 && p.items.contains { $0.channels != ["itemcf"] })
                }
            }
            #expect(served > 0)
        }
    }

    @Test func anItemShownIsNotShownAgainWithinTheExposureWindow() async throws {
        let api = try makeAPI(try trainedStore())
        try await app(api).test(.router) { client in
            let first = try await page(client, "u3")
            #expect(first.count == 20)
            let r = try await post(client, first.map { ["user": "u3", "item": $0, "type": "impression"] })
            #expect(r.status == .ok, "\(String(buffer: r.body))")
            let second = try await page(client, "u3")
            #expect(!second.isEmpty)
            #expect(Set(first).isDisjoint(with: second), "an impressed item came back")
            // Other users are not affected by u3's impressions.
            #expect(try await page(client, "u4").count == 20)
        }
    }

    /// Feedback batches for one user posted at once all land in the user's exposure filter: the
    /// server takes no lock of its own, the store's per-user update is atomic.
    @Test func concurrentFeedbackForOneUserLosesNoImpression() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        let items = try store.allItems().prefix(60).map(\.id)
        try await app(api).test(.router) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for batch in 0..<12 {
                    let ids = Array(items[batch * 5..<batch * 5 + 5])
                    group.addTask {
                        let events: [[String: Any]] = ids.map { ["user": "burst", "item": $0, "type": "impression", "timestamp": 1_000] }
                        let r = try await post(client, events)
                        #expect(r.status == .ok, "\(String(buffer: r.body))")
                    }
                }
                try await group.waitForAll()
            }
        }
        let filter = try ExposureFilter(serialized: try #require(try store.exposureFilter(user: "burst")))
        #expect(items.filter { !filter.contains(ExposureFilter.key($0), now: 1_000) }.isEmpty)
    }

    @Test func dislikedAndClickedItemsNeverComeBack() async throws {
        let api = try makeAPI(try trainedStore())
        try await app(api).test(.router) { client in
            let first = try await page(client, "u8", n: 5)
            let r = try await post(client, [["user": "u8", "item": first[0], "type": "dislike"],
                                            ["user": "u8", "item": first[1], "type": "click"]])
            #expect(r.status == .ok)
            for _ in 0..<2 {
                let again = try await page(client, "u8", n: 50)
                #expect(!again.contains(first[0]) && !again.contains(first[1]))
            }
        }
    }

    @Test func hiddenItemsNeverAppearAndUnhidingRestoresThem() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        try await app(api).test(.router) { client in
            let before = try await page(client, "u11", n: 10)
            let target = before[0]
            try await client.execute(uri: "/api/items/\(target)/hide", method: .post, headers: headers(adminKey)) { r in
                #expect(r.status == .ok)
            }
            #expect(try store.item(target)?.hidden == true)
            for user in ["u11", "u12", "stranger"] {
                #expect(try await !page(client, user, n: 100).contains(target))
            }
            // Also for users of the cold-start path and for similar-item lists.
            try await client.execute(uri: "/api/items/\(before[1])/similar?n=50", method: .get, headers: headers(readKey)) { r in
                #expect(!String(buffer: r.body).contains("\"\(target)\""))
            }
            try await client.execute(uri: "/api/items/\(target)/unhide", method: .post, headers: headers(adminKey)) { r in
                #expect(r.status == .ok)
            }
            #expect(try await page(client, "u11", n: 10).first == target)
        }
    }

    @Test func unknownUserGetsTheColdStartPage() async throws {
        let api = try makeAPI(try trainedStore())
        try await app(api).test(.router) { client in
            try await client.execute(uri: "/api/recommend/never-seen?n=5", method: .get, headers: headers(readKey)) { r in
                #expect(r.status == .ok)
                let p = try decoded(PageJSON.self, r)
                #expect(p.coldStart && p.items.count == 5)
            }
        }
    }

    @Test func similarItemsExcludeTheItemItselfAndUnknownItemsAre404() async throws {
        let api = try makeAPI(try trainedStore())
        try await app(api).test(.router) { client in
            let item = try await page(client, "u2", n: 1)[0]
            try await client.execute(uri: "/api/items/\(item)/similar?n=5", method: .get, headers: headers(readKey)) { r in
                #expect(r.status == .ok)
                let s = String(buffer: r.body)
                #expect(s.contains("\"method\":\"itemcf\""))
                #expect(!s.contains("\"item\":\"\(item)\",\"score\""))
            }
            try await client.execute(uri: "/api/items/no-such-item/similar", method: .get, headers: headers(readKey)) { r in
                #expect(r.status == .notFound)
                let e = try decoded(ErrorJSON.self, r)
                #expect(e.error.message.contains("no-such-item"))
            }
        }
    }

    @Test func newlyPublishedModelsAreSwappedInWithoutFailingRequests() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        #expect(api.models.versions["recall/itemcf"] == 1)
        try await app(api).test(.router) { client in
            // Requests keep flowing while a retrain publishes and the server swaps.
            async let traffic: [HTTPResponse.Status] = {
                var out: [HTTPResponse.Status] = []
                for k in 0..<40 {
                    out.append(try await client.execute(uri: "/api/recommend/u\(k % 20)?n=10", method: .get, headers: headers(readKey)) { $0.status })
                }
                return out
            }()
            var config = FunnelConfig()
            config.quotas = try config.restricted(to: ["itemcf", "als", "popular", "trending"]).quotas
            config.rank.enabled = false
            try Trainer.train(store: store, config: config)
            #expect(api.models.reloadIfChanged())
            #expect(api.models.versions["recall/itemcf"] == 2)
            #expect(try await traffic.allSatisfy { $0 == .ok })
            #expect(!api.models.reloadIfChanged(), "nothing new: no swap")
        }
    }

    @Test func aCorruptExposureFilterDegradesThePageNotTheRequest() async throws {
        let store = try trainedStore()
        try store.putExposureFilters(["u9": Data([1, 2, 3])])
        let api = try makeAPI(store)
        try await app(api).test(.router) { client in
            #expect(try await page(client, "u9", n: 5).count == 5)
            try await client.execute(uri: "/metrics", method: .get, headers: headers(adminKey)) { r in
                #expect(String(buffer: r.body).contains("cascade_stage_degraded_total{stage=\"exposure\"} 1"))
            }
        }
    }

    @Test func debugShowsEveryStageAndEachItemsTraceWhenARankerIsServed() async throws {
        let api = try makeAPI(try trainedStore(ranker: true))
        try await app(api).test(.router) { client in
            try await client.execute(uri: "/api/recommend/u6?n=8&debug=true", method: .get, headers: headers(readKey)) { r in
                #expect(r.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data(String(buffer: r.body).utf8)) as! [String: Any]
                let stages = ((json["debug"] as! [String: Any])["stages"] as! [[String: Any]]).map { $0["stage"] as! String }
                #expect(stages.contains("rank") && stages.contains("fuse") && stages.contains("merge") && stages.contains("recall/itemcf"))
                let items = json["items"] as! [[String: Any]]
                #expect(items.count == 8)
                for (k, item) in items.enumerated() {
                    let trace = try #require(item["trace"] as? [String: Any])
                    #expect(trace["rankRank"] as? Int == k + 1)
                    #expect((trace["taskScores"] as? [String: Double])?["click"] != nil)
                }
                #expect((json["models"] as! [String: Int])["rank"] == 1)
            }
            // Without debug: no traces.
            try await client.execute(uri: "/api/recommend/u6?n=3", method: .get, headers: headers(readKey)) { r in
                #expect(!String(buffer: r.body).contains("taskScores"))
            }
        }
    }
}
