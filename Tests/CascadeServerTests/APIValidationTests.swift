import CascadeCore
import CascadeServer
import CascadeStore
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct APIValidationTests {
    @Test func keysAreScoped() async throws {
        let api = try makeAPI(try trainedStore())
        try await app(api).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/recommend/u1", method: .get) { r in
                #expect(r.status == .unauthorized)
                let e = try decoded(ErrorJSON.self, r)
                #expect(e.error.code == "unauthorized")
            }
            try await client.execute(uri: "/api/recommend/u1", method: .get, headers: headers("wrong")) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/recommend/u1", method: .get, headers: headers(adminKey)) { #expect($0.status == .ok) }
            var h = HTTPFields()
            h[HTTPField.Name("X-API-Key")!] = readKey
            try await client.execute(uri: "/api/recommend/u1", method: .get, headers: h) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/feedback", method: .post, headers: headers(readKey),
                                     body: body(#"{"events":[{"user":"u1","item":"i1"}]}"#)) { r in
                #expect(r.status == .forbidden)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: headers(readKey)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/metrics", method: .get, headers: headers(adminKey)) { r in
                #expect(r.status == .ok)
                let text = String(buffer: r.body)
                #expect(text.contains("cascade_requests_total{route=\"GET /api/recommend/{user}\",status=\"200\"} 2"))
                #expect(text.contains("cascade_model_version{model=\"recall/itemcf\"} 1"))
                #expect(text.contains("cascade_stage_duration_seconds_bucket{stage=\"recall/itemcf\""))
            }
        }
    }

    @Test func badRequestsGetJSONErrorsAndChangeNothing() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store, maxBody: 4096)
        let before = try store.counts().events
        let u1 = try store.user("u1")
        let item = try store.allItems()[0].id
        let cases: [(String, HTTPRequest.Method, String?, HTTPResponse.Status, String)] = [
            ("/api/recommend/u1?n=0", .get, nil, .unprocessableContent, "n"),
            ("/api/recommend/u1?n=100000", .get, nil, .unprocessableContent, "n"),
            ("/api/recommend/u1?n=abc", .get, nil, .unprocessableContent, "n"),
            ("/api/recommend/u1?debug=maybe", .get, nil, .unprocessableContent, "debug"),
            ("/api/nothing-here", .get, nil, .notFound, "no such route"),
            ("/api/feedback", .post, "{not json", .badRequest, "malformed JSON"),
            ("/api/feedback", .post, "", .badRequest, "empty body"),
            ("/api/feedback", .post, #"{"events":[]}"#, .unprocessableContent, "empty"),
            ("/api/feedback", .post, #"{"events":[{"user":"u1"}]}"#, .badRequest, "item"),
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)"},{"user":"u1","item":"no-such-item"}]}"#, .notFound, "events[1].item"),
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)","type":"teleport"}]}"#, .unprocessableContent, "events[0].type"),
            ("/api/feedback", .post, #"{"events":[{"user":"","item":"\#(item)"}]}"#, .unprocessableContent, "user id is empty"),
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)","timestamp":"soon"}]}"#, .badRequest, "timestamp"),
            // Milliseconds where seconds are expected, overflow, before 1970, the far future, a value
            // no float holds: each refused naming the event and the field (they once hung every page).
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)"},{"user":"u1","item":"\#(item)","timestamp":1765000000000}]}"#, .unprocessableContent, "events[1]: "),
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)","timestamp":1765000000000}]}"#, .unprocessableContent, "milliseconds"),
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)","timestamp":1e300}]}"#, .unprocessableContent, "timestamp"),
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)","timestamp":-1e15}]}"#, .unprocessableContent, "timestamp"),
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)","timestamp":99999999999}]}"#, .unprocessableContent, "timestamp"),
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)","type":"watch","value":1e300}]}"#, .unprocessableContent, "value"),
            ("/api/items/late", .put, #"{"publishedAt":99999999999}"#, .unprocessableContent, "publish time"),
            ("/api/feedback", .post, "{\"events\":[" + Array(repeating: #"{"user":"u1","item":"\#(item)"}"#, count: 101).joined(separator: ",") + "]}", .contentTooLarge, "at most 100"),
            ("/api/feedback", .post, #"{"events":[{"user":"u1","item":"\#(item)","scene":""#+String(repeating: "x", count: 5000)+#""}]}"#, .contentTooLarge, ""),
            ("/api/users/nobody", .get, nil, .notFound, "nobody"),
            ("/api/users/u1", .put, #"{"id":"u2"}"#, .unprocessableContent, "differs"),
            ("/api/users/u1", .put, #"{"location":{"latitude":500,"longitude":0}}"#, .unprocessableContent, "location"),
            ("/api/items/nothing", .delete, nil, .notFound, "nothing"),
            ("/api/items/nothing/hide", .post, nil, .notFound, "nothing"),
        ]
        try await app(api).test(.router) { client in
            for (uri, method, text, status, fragment) in cases {
                try await client.execute(uri: uri, method: method, headers: headers(adminKey), body: text.map(body)) { r in
                    #expect(r.status == status, "\(method) \(uri): \(String(buffer: r.body))")
                    let e = try decoded(ErrorJSON.self, r)
                    #expect(e.error.status == Int(status.code))
                    #expect(fragment.isEmpty || e.error.message.contains(fragment), "\(uri): \(e.error.message)")
                }
            }
        }
        #expect(try store.counts().events == before, "a refused request stored events")
        #expect(try store.user("nobody") == nil)
        #expect(try store.user("u1") == u1)
    }

    @Test func usersAndItemsRoundTrip() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        try await app(api).test(.router) { client in
            try await client.execute(uri: "/api/users/new%20user", method: .put, headers: headers(adminKey),
                                     body: body(#"{"categorical":{"city":"Lyon"},"tags":["cats"]}"#)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/users/new%20user", method: .get, headers: headers(adminKey)) { r in
                let u = try decoded(User.self, r)
                #expect(u.id == "new user" && u.categorical["city"] == "Lyon" && u.tags == ["cats"])
            }
            try await client.execute(uri: "/api/items/fresh-1", method: .put, headers: headers(adminKey),
                                     body: body(#"{"categories":["news"],"author":"ann","publishedAt":1700000000}"#)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/items/fresh-1", method: .get, headers: headers(adminKey)) { r in
                let i = try decoded(Item.self, r)
                #expect(i.author == "ann" && i.categories == ["news"] && !i.hidden)
            }
            // A new item can receive feedback at once.
            let r = try await post(client, [["user": "new user", "item": "fresh-1", "type": "like"]])
            #expect(r.status == .ok)
            #expect(try store.lastEvents(user: "new user", limit: 5, types: nil).map(\.item) == ["fresh-1"])
            try await client.execute(uri: "/api/users/new%20user", method: .delete, headers: headers(adminKey)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/users/new%20user", method: .get, headers: headers(adminKey)) { #expect($0.status == .notFound) }
        }
    }

    /// A path id no write could have stored (control characters, over 256 bytes) is a 422 that
    /// names the parameter, before any store sees it (PostgreSQL rejects NUL in text outright).
    @Test func pathIdsAreValidatedBeforeTheStore() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        let long = String(repeating: "z", count: 300)
        try await app(api).test(.router) { client in
            for (uri, key) in [("/api/items/%00/similar", readKey), ("/api/recommend/u%01", readKey), ("/api/users/\(long)", adminKey),
                               ("/api/items/a%0Ab", adminKey)] {
                try await client.execute(uri: uri, method: .get, headers: headers(key)) { r in
                    #expect(r.status == .unprocessableContent, "\(uri)")
                    #expect(String(buffer: r.body).contains("path parameter"), "\(uri): \(String(buffer: r.body))")
                }
            }
        }
    }

    /// Random requests over every route with random ids, parameters and bodies: never a 5xx.
    /// (`scripts/fuzz-api.py` runs 10,000 of them against a live server.)
    @Test func randomRequestsNeverGetA5xx() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        let items = try store.allItems().prefix(20).map(\.id)
        let fragments = ["", "{", "}", "[]", "null", "\"", "{\"events\":", "[{\"user\":1}]", "\\u0000", "\u{1}", "1e999", "-1",
                         "{\"events\":[{\"user\":\"u1\",\"item\":\"\(items[0])\",\"type\":\"click\",\"value\":1e308}]}", "\"item\":", "true"]
            // Hostile classes: extreme and millisecond timestamps, unnormalised and BOM-prefixed ids.
            + ["1765000000000", "1e300", "-1e15", "99999999999", "0", "1.7e9"].map {
                "{\"events\":[{\"user\":\"u1\",\"item\":\"\(items[1])\",\"timestamp\":\($0)}]}"
            }
            + ["cafe\u{301}", "\u{FEFF}u2", "\u{FEFF}", "e\u{301}\u{301}"].map {
                "{\"events\":[{\"user\":\"\($0)\",\"item\":\"\(items[2])\",\"timestamp\":1700000000}]}"
            }
        let paths = ["/api/recommend/", "/api/users/", "/api/items/", "/api/feedback", "/health", "/metrics", "/api/", "/"]
        let ids = items + ["u1", "", "%", "%00", "%2F", "..", String(repeating: "z", count: 300), "u%20x", "é", "e%CC%81", "%EF%BB%BFu1", "%EF%BB%BF"]
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch]
        try await app(api).test(.router) { client in
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<300 {
                var uri = paths.randomElement(using: &rng)!
                if uri.hasSuffix("/") { uri += ids.randomElement(using: &rng)! }
                if Bool.random(using: &rng) { uri += ["/similar", "/hide", "/unhide", "?n=\(Int.random(in: -5...500, using: &rng))", "?debug=1&n=3"].randomElement(using: &rng)! }
                let text = (0..<Int.random(in: 0...4, using: &rng)).map { _ in fragments.randomElement(using: &rng)! }.joined()
                let key = [adminKey, readKey, "nope"].randomElement(using: &rng)!
                try await client.execute(uri: uri, method: methods.randomElement(using: &rng)!, headers: headers(key), body: body(text)) { r in
                    #expect(r.status.code < 500, "\(uri) \(text): \(String(buffer: r.body))")
                }
            }
        }
        // Whatever got through is in range and in canonical form.
        let accepted = FieldRanges.timestamps(now: Date().timeIntervalSince1970)
        let log = try store.loadEventLog()
        #expect(log.timestamps.allSatisfy { accepted.contains($0) })
        #expect(try store.idSnapshot().users.ids.allSatisfy(Identifier.isCanonical))
    }
}
