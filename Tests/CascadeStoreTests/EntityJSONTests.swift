import CascadeCore
@testable import CascadeStore
import Foundation
import Testing

@Suite struct EntityJSONTests {
    @Test func handWrittenDocumentsDecodeToTheSameValues() throws {
        let tricky = "q\"uote\\back\nnew\ttab\u{1}ctl é 漢字 🎬"
        let items = [
            Item(id: "plain"),
            Item(id: tricky, categories: [tricky, "a/b"], tags: ["", "x,y"], author: tricky,
                 location: GeoPoint(latitude: -33.8688, longitude: 151.2093), publishedAt: 1_700_000_000.25,
                 numeric: ["len": 312, "score": -0.1, "big": 1e300, "tiny": 5e-324], categorical: [tricky: tricky], hidden: true),
        ]
        for item in items {
            let text = EntityJSON.item(item)
            #expect(try JSONDecoder().decode(Item.self, from: Data(text.utf8)) == item, "\(text)")
        }
        let users = [User(id: "u"), User(id: tricky, categorical: ["city": "São Paulo"], numeric: ["age": 31.5], tags: [tricky],
                                         location: GeoPoint(latitude: 0, longitude: -0.5))]
        for user in users {
            let text = EntityJSON.user(user)
            #expect(try JSONDecoder().decode(User.self, from: Data(text.utf8)) == user, "\(text)")
        }
        // Equal values give equal bytes (dictionary order does not leak).
        let a = Item(id: "k", numeric: ["a": 1, "b": 2, "c": 3, "d": 4], categorical: ["x": "1", "y": "2", "z": "3"])
        #expect(EntityJSON.item(a) == EntityJSON.item(Item(id: "k", numeric: ["d": 4, "c": 3, "b": 2, "a": 1], categorical: ["z": "3", "y": "2", "x": "1"])))
    }
}
