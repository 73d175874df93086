import CascadeCore
import CascadeServer
import CascadeStore
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing

/// Writes a web page in a browser could forge are refused: a write must say its body is JSON
/// (which a cross-site form cannot without a preflight the API never grants) and may not come
/// from another origin; keys in the query string open the dashboard only.
@Suite struct CrossOriginTests {
    @Test func writesNeedJSONAndTheirOwnOrigin() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store, auth: false)
        let item = try store.allItems()[0].id
        let before = try store.counts().events
        let feedback = #"{"events":[{"user":"u1","item":"\#(item)"}]}"#
        try await app(api).test(.router) { client in
            for type in [nil, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                var h = HTTPFields()
                if let type { h[.contentType] = type }
                try await client.execute(uri: "/api/feedback", method: .post, headers: h, body: body(feedback)) { r in
                    #expect(r.status == .unsupportedMediaType, "Content-Type \(type ?? "none"): \(String(buffer: r.body))")
                    let m = try decoded(ErrorJSON.self, r).error.message
                    #expect(m.contains("application/json"), "\(m)")
                }
                try await client.execute(uri: "/api/items/\(item)/hide", method: .post, headers: h) { r in
                    #expect(r.status == .unsupportedMediaType, "hide with Content-Type \(type ?? "none")")
                }
            }
            var cross = HTTPFields()
            cross[.contentType] = "application/json"
            cross[.origin] = "http://evil.example"
            try await client.execute(uri: "/api/feedback", method: .post, headers: cross, body: body(feedback)) { r in
                #expect(r.status == .forbidden, "\(String(buffer: r.body))")
                let m = try decoded(ErrorJSON.self, r).error.message
                    #expect(m.contains("origin"), "\(m)")
            }
            try await client.execute(uri: "/api/items/\(item)", method: .delete, headers: cross) { #expect($0.status == .forbidden) }
            // The API's own origin (the dashboard) and clients that send no Origin may write.
            var same = HTTPFields()
            same[.contentType] = "application/json; charset=utf-8"
            same[.origin] = "http://localhost"  // the test client's authority
            try await client.execute(uri: "/api/feedback", method: .post, headers: same, body: body(feedback)) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
            // Reads stay open to any origin.
            try await client.execute(uri: "/api/recommend/u1", method: .get, headers: cross) { #expect($0.status == .ok) }
        }
        #expect(try store.counts().events == before + 1)
        #expect(try store.item(item)?.hidden == false)
    }

    @Test func aKeyInTheQueryStringOpensTheDashboardOnly() async throws {
        let api = try makeAPI(try trainedStore())
        try await app(api).test(.router) { client in
            try await client.execute(uri: "/dashboard?key=\(adminKey)", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/recommend/u1?key=\(readKey)", method: .get) { r in
                #expect(r.status == .unauthorized)
                let m = try decoded(ErrorJSON.self, r).error.message
                    #expect(m.contains("query"), "\(m)")
            }
            try await client.execute(uri: "/metrics?key=\(adminKey)", method: .get) { #expect($0.status == .unauthorized) }
        }
    }
}
