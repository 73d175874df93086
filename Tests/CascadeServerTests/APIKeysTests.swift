import CascadeServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct APIKeysTests {
    @Test func sha256DigestMatchesTheStandardTestVector() {
        // FIPS 180-2, "abc".
        #expect(APIKeys.hex(APIKeys.digest("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func keysAreKeptAsDigestsAndScoped() throws {
        var keys = APIKeys()
        keys.add(key: "reader", scope: .read)
        try keys.add(hexDigests: APIKeys.hex(APIKeys.digest("admin-1")) + ", " + APIKeys.hex(APIKeys.digest("admin-2")), scope: .admin)
        #expect(!keys.read.contains(Data("reader".utf8)), "plain text is never stored")
        #expect(keys.check("reader") == (read: true, admin: false))
        #expect(keys.check("admin-1") == (read: true, admin: true))
        #expect(keys.check("admin-2") == (read: true, admin: true), "two admin keys at once, for rotation")
        #expect(keys.check("admin-3") == (read: false, admin: false))
        #expect(keys.check("") == (read: false, admin: false))
        #expect(throws: APIKeyError.self) { try keys.add(hexDigests: "abc123", scope: .read) }
        #expect(throws: APIKeyError.self) { try keys.add(hexDigests: String(repeating: "zz", count: 32), scope: .read) }
    }

    @Test func generatedKeysAreLongAndDistinct() {
        let a = APIKeys.generate(), b = APIKeys.generate()
        #expect(a != b && a.count >= 43 && b.count >= 43)
        #expect(a.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }

    @Test func aServerGivenOnlyDigestsAcceptsTheKeys() async throws {
        var c = ServerConfig()
        try c.keys.add(hexDigests: APIKeys.hex(APIKeys.digest("only-digest-read")), scope: .read)
        c.reloadInterval = 0
        let api = try CascadeAPI(store: try trainedStore(), config: c)
        try await app(api).test(.router) { client in
            try await client.execute(uri: "/api/recommend/u1?n=3", method: .get, headers: headers("only-digest-read")) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/api/recommend/u1?n=3", method: .get, headers: headers("wrong")) { r in
                #expect(r.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: headers("only-digest-read")) { r in
                #expect(r.status == .forbidden)
            }
        }
    }
}
