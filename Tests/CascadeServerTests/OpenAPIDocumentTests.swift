import CascadeServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// docs/openapi.json is kept true: it lists exactly the routes the server has, every listed
/// route answers, and each 200 answer carries the fields its schema marks required.
@Suite struct OpenAPIDocumentTests {
    static func load() -> [String: Any] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try! Data(contentsOf: root.appendingPathComponent("docs/openapi.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    var paths: [String: [String: Any]] { Self.load()["paths"] as! [String: [String: Any]] }

    @Test func documentListsExactlyTheServedRoutes() {
        var documented: Set<String> = []
        for (path, methods) in paths { for m in methods.keys { documented.insert("\(m.uppercased()) \(path)") } }
        let served = Set(CascadeAPI.routes.map { "\($0.method) \($0.path)" })
        #expect(documented == served)
    }

    @Test func everyDocumentedRouteAnswersWithItsSchema() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        let item = try store.allItems()[3].id
        let schemas = (Self.load()["components"] as! [String: Any])["schemas"] as! [String: [String: Any]]
        func required(_ op: [String: Any]) -> [String] {
            guard let r = (op["responses"] as? [String: Any])?["200"] as? [String: Any],
                  let content = (r["content"] as? [String: Any])?["application/json"] as? [String: Any],
                  let ref = (content["schema"] as? [String: Any])?["$ref"] as? String else { return [] }
            return schemas[String(ref.split(separator: "/").last!)]?["required"] as? [String] ?? []
        }
        let bodies: [String: String] = [
            "POST /api/feedback": #"{"events":[{"user":"u1","item":"\#(item)","type":"click"}]}"#,
            "PUT /api/users/{id}": #"{"tags":["a"]}"#,
            "PUT /api/items/{id}": #"{"categories":["c"]}"#,
            "PUT /api/experiments": ExperimentsAPITests.config,
        ]
        // Deletions last, so the other routes find their ids.
        let order = CascadeAPI.routes.sorted { ($0.method == "DELETE" ? 1 : 0) < ($1.method == "DELETE" ? 1 : 0) }
        var wanted: [String: [String]] = [:]
        for route in order { wanted["\(route.method) \(route.path)"] = required(paths[route.path]![route.method.lowercased()] as! [String: Any]) }
        try await app(api).test(.router) { [wanted] client in
            for route in order {
                let key = "\(route.method) \(route.path)"
                let uri = route.path.replacingOccurrences(of: "{user}", with: "u1").replacingOccurrences(of: "{id}", with: route.path.hasPrefix("/api/users") ? "u1" : item)
                try await client.execute(uri: uri, method: HTTPRequest.Method(route.method)!, headers: headers(adminKey),
                                         body: bodies[key].map(body)) { r in
                    #expect(r.status == .ok, "\(key): \(String(buffer: r.body))")
                    guard let want = wanted[key], !want.isEmpty else { return }
                    let json = try JSONSerialization.jsonObject(with: Data(String(buffer: r.body).utf8)) as! [String: Any]
                    for field in want { #expect(json[field] != nil, "\(key) answer lacks '\(field)'") }
                }
            }
        }
    }
}
