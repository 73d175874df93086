import CascadeCore
import CascadeServer
import CascadeStore
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing

/// A deleted user or item is gone for every route until it is created again.
@Suite struct DeletionTests {
    @Test func deletedUsersAndItemsAreGoneUntilRecreated() async throws {
        let store = try trainedStore()
        let api = try makeAPI(store)
        let items = try store.allItems().map(\.id)
        try await app(api).test(.router) { client in
            let before = try await page(client, "u3")
            #expect(!before.isEmpty)
            try await client.execute(uri: "/api/recommend/u3", method: .get, headers: headers(readKey)) { r in
                let p = try decoded(PageJSON.self, r)
                #expect(p.coldStart == false)
            }
            try await client.execute(uri: "/api/users/u3", method: .delete, headers: headers(adminKey)) { #expect($0.status == .ok) }
            // No personal page from the old history: the stranger's page.
            try await client.execute(uri: "/api/recommend/u3", method: .get, headers: headers(readKey)) { r in
                let p = try decoded(PageJSON.self, r)
                #expect(p.coldStart)
                #expect(p.items.allSatisfy { !$0.channels.contains("itemcf") && !$0.channels.contains("als") }, "\(p.items.map(\.channels))")
            }
            let refused = try await post(client, [["user": "u3", "item": items[0], "timestamp": 1_700_000_000]])
            #expect(refused.status == .notFound, "\(String(buffer: refused.body))")
            #expect(String(buffer: refused.body).contains("deleted"))
            // Re-created, the user takes feedback again.
            try await client.execute(uri: "/api/users/u3", method: .put, headers: headers(adminKey), body: body("{}")) { #expect($0.status == .ok) }
            let accepted = try await post(client, [["user": "u3", "item": items[0], "timestamp": 1_700_000_000]])
            #expect(accepted.status == .ok)

            try await client.execute(uri: "/api/items/\(items[1])", method: .delete, headers: headers(adminKey)) { #expect($0.status == .ok) }
            let onDeleted = try await post(client, [["user": "u4", "item": items[1], "timestamp": 1_700_000_000]])
            #expect(onDeleted.status == .notFound, "\(String(buffer: onDeleted.body))")
            let u4 = try await page(client, "u4", n: 50)
            #expect(!u4.contains(items[1]))
        }
        #expect(try store.lastEvents(user: "u4", limit: 1000, types: nil).allSatisfy { $0.item != items[1] || $0.timestamp != 1_700_000_000 })
    }
}
