import CascadeCore
import CascadeEngine
import CascadeLab
import CascadeServer
import CascadeSim
import CascadeStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// A small simulated world, written to a fresh in-memory store and trained: every test gets its
/// own, so tests that write (feedback, hides, retraining) do not disturb each other.
func trainedStore(seed: UInt64 = 7, ranker: Bool = false) throws -> SQLiteStore {
    let store = try SQLiteStore()
    try train(store, seed: seed, ranker: ranker)
    return store
}

/// Writes the small simulated world into `store` and trains the funnel on it.
func train(_ store: any Store, seed: UInt64 = 7, ranker: Bool = false) throws {
    var c = SimConfig(users: 120, items: 400, events: 6_000, seed: seed, authors: 30)
    c.cities = 3
    c.topCategories = 5
    c.subcategoriesPerTop = 4
    c.policy.popularPoolSize = 40
    let world = SimulatedWorld.generate(c)
    try SimulationLoader.write(world, to: store)
    var config = FunnelConfig()
    config.quotas = try config.restricted(to: ["itemcf", "als", "popular", "trending"]).quotas
    config.rank.enabled = ranker
    config.rank.epochs = 1
    config.rank.parameters.hidden = [32]
    config.rank.parameters.expertHidden = [16]
    try Trainer.train(store: store, config: config)
}

let readKey = "read-key-123"
let adminKey = "admin-key-456"

func makeAPI(_ store: any Store, auth: Bool = true, maxBody: Int = 1 << 20) throws -> CascadeAPI {
    var c = ServerConfig()
    if auth { c.keys.add(key: readKey, scope: .read); c.keys.add(key: adminKey, scope: .admin) }
    c.maxBodyBytes = maxBody
    c.maxBatch = 100
    c.reloadInterval = 0
    return try CascadeAPI(store: store, config: c)
}

func app(_ api: CascadeAPI) -> some ApplicationProtocol {
    Application(router: api.router())
}

func headers(_ key: String?) -> HTTPFields {
    var h = HTTPFields()
    if let key { h[.authorization] = "Bearer \(key)" }
    h[.contentType] = "application/json"
    return h
}

func body(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

func decoded<T: Decodable>(_ type: T.Type, _ r: TestResponse) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(String(buffer: r.body).utf8))
}

struct ErrorJSON: Decodable {
    struct Inner: Decodable { let status: Int; let code: String; let message: String }
    let error: Inner
}

struct PageJSON: Decodable {
    struct Entry: Decodable { let item: String; let score: Float; let channels: [String] }
    let request: String
    let user: String
    let items: [Entry]
    let coldStart: Bool
    let models: [String: Int]
}

/// Items on the user's page, via the API.
func page(_ client: some TestClientProtocol, _ user: String, n: Int = 20) async throws -> [String] {
    try await client.execute(uri: "/api/recommend/\(user)?n=\(n)", method: .get, headers: headers(readKey)) { r in
        #expect(r.status == .ok, "\(String(buffer: r.body))")
        return try decoded(PageJSON.self, r).items.map(\.item)
    }
}

func post(_ client: some TestClientProtocol, _ events: [[String: Any]]) async throws -> TestResponse {
    let data = try JSONSerialization.data(withJSONObject: ["events": events])
    return try await client.execute(uri: "/api/feedback", method: .post, headers: headers(adminKey),
                                    body: ByteBuffer(bytes: data))
}
