import CascadeServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct ExperimentsAPITests {
    static let config = #"""
    { "buckets": 100, "layers": [ { "name": "recall", "experiments": [
        { "name": "popular-only", "kind": "ab", "arms": [
          { "name": "control", "buckets": "0-49" },
          { "name": "popular", "buckets": "50-99", "overrides": { "quota.itemcf": 0, "quota.als": 0 } } ] } ] } ] }
    """#

    @Test func armsOverrideTheFunnelPerUserAndTheConfigIsVersioned() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        try await app(api).test(.router) { client in
            try await client.execute(uri: "/api/experiments", method: .get, headers: headers(adminKey)) { r in
                #expect(r.status == .ok && String(buffer: r.body).contains("\"layers\":[]"))
            }
            try await client.execute(uri: "/api/experiments", method: .put, headers: headers(readKey), body: body(Self.config)) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/api/experiments", method: .put, headers: headers(adminKey), body: body(Self.config)) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
            var arms: [String: Int] = [:]
            for k in 0..<60 {
                try await client.execute(uri: "/api/recommend/u\(k)?n=10&debug=1", method: .get, headers: headers(readKey)) { r in
                    let json = try JSONSerialization.jsonObject(with: Data(String(buffer: r.body).utf8)) as! [String: Any]
                    let tag = try #require(json["experiment"] as? String)
                    let items = json["items"] as! [[String: Any]]
                    let channels = Set(items.flatMap { $0["channels"] as! [String] })
                    if tag.hasSuffix("recall:popular-only:popular") {
                        arms["popular", default: 0] += 1
                        #expect(channels.isDisjoint(with: ["itemcf", "als"]), "\(tag): \(channels)")
                        let overrides = (json["debug"] as! [String: Any])["overrides"] as! [String: String]
                        #expect(overrides["quota.itemcf"] == "0")
                    } else {
                        #expect(tag.hasSuffix("recall:popular-only:control"), "\(tag)")
                        arms["control", default: 0] += 1
                    }
                }
            }
            #expect(arms["popular", default: 0] > 10 && arms["control", default: 0] > 10, "\(arms)")
            // A bad config is refused with its reasons and the running one stays.
            let bad = Self.config.replacingOccurrences(of: "quota.als", with: "quota.nonsense")
            try await client.execute(uri: "/api/experiments", method: .put, headers: headers(adminKey), body: body(bad)) { r in
                #expect(r.status == .unprocessableContent)
                let e = try decoded(ErrorJSON.self, r)
                #expect(e.error.message.contains("quota.nonsense"))
            }
            try await client.execute(uri: "/api/experiments", method: .get, headers: headers(adminKey)) { r in
                #expect(String(buffer: r.body).contains("popular-only"))
            }
        }
        #expect(try store.activeArtifact(name: ServingModels.experimentsArtifact)?.info.version == 1)
        // Another server on the same store picks the config up at load.
        let other = try makeAPI(store)
        #expect(other.models.experiments?.layers.first?.name == "recall")
    }
}
