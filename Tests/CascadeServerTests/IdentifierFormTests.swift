import CascadeCore
import CascadeServer
import CascadeStore
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing

/// Ids have one form at every door: Unicode NFC without a leading byte-order mark. An id sent in
/// another form (e + combining acute, a BOM in front) is the same id on every route.
@Suite struct IdentifierFormTests {
    static let composed = "caf\u{E9}"           // precomposed é
    static let decomposed = "cafe\u{301}"       // e + combining acute
    static let bom = "\u{FEFF}caf\u{E9}"

    /// Percent-encoding of the UTF-8 bytes, every byte escaped.
    static func path(_ s: String) -> String { s.utf8.map { String(format: "%%%02X", $0) }.joined() }

    @Test func bothNormalFormsAndABOMAreOneUserOnEveryRoute() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        let item = try store.allItems()[0].id
        try await app(api).test(.router) { client in
            try await client.execute(uri: "/api/users/\(Self.path(Self.decomposed))", method: .put, headers: headers(adminKey),
                                     body: body(#"{"tags":["first"]}"#)) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
                let u = try decoded(UserJSON.self, r)
                #expect(u.id.utf8.elementsEqual(Self.composed.utf8), "stored in NFC")
            }
            for form in [Self.composed, Self.decomposed, Self.bom] {
                try await client.execute(uri: "/api/users/\(Self.path(form))", method: .get, headers: headers(adminKey)) { r in
                    #expect(r.status == .ok, "GET of \(Array(form.unicodeScalars)): \(String(buffer: r.body))")
                }
            }
            // A PUT of the other form overwrites the same user.
            try await client.execute(uri: "/api/users/\(Self.path(Self.composed))", method: .put, headers: headers(adminKey),
                                     body: body(#"{"tags":["second"]}"#)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/users/\(Self.path(Self.decomposed))", method: .get, headers: headers(adminKey)) { r in
                let u = try decoded(UserJSON.self, r)
                #expect(u.tags == ["second"])
            }
            // Feedback in each form (JSON ids, one with a BOM) lands on that one user.
            for form in [Self.decomposed, Self.bom, Self.composed] {
                let r = try await post(client, [["user": form, "item": item, "timestamp": 1_700_000_000]])
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
        }
        let events = try store.lastEvents(user: Self.composed, limit: 10, types: nil)
        #expect(events.count == 3)
        #expect(try store.allUsers().filter { $0.id.unicodeScalars.contains("\u{301}") || $0.id.hasPrefix("\u{FEFF}") }.isEmpty)
    }

    @Test func storesRefuseIdsNotInCanonicalForm() throws {
        let s = try SQLiteStore()
        for bad in [Self.decomposed, Self.bom] {
            #expect(throws: CascadeError.self) { try s.appendEvents([Event(user: bad, item: "i", timestamp: 1)]) }
            #expect(throws: CascadeError.self) { try s.upsertItems([Item(id: bad)]) }
        }
        #expect(try s.counts().events == 0)
        #expect(Identifier.canonical(Self.decomposed).utf8.elementsEqual(Self.composed.utf8))
        #expect(Identifier.canonical(Self.bom).utf8.elementsEqual(Self.composed.utf8))
        #expect(Identifier.canonical("plain-ascii") == "plain-ascii")
    }
}

struct UserJSON: Decodable {
    let id: String
    let tags: [String]
}
