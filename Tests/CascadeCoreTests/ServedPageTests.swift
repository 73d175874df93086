import CascadeCore
import Foundation
import Testing

@Suite struct ServedPageTests {
    /// The hand-written payload is the JSON `JSONEncoder` writes with sorted keys (where that
    /// escapes nothing differently), and reads back whole, awkward strings included.
    @Test func payloadIsJSONAndReadsBackWhole() throws {
        let plain = ServedPage(request: "r1", user: "u1", timestamp: 5, items: ["i1", "i2"], propensities: [0.8, 1, 0.05, 1e-5],
                               experiment: "fp:l:e:arm", scene: "home", models: ["rank": 3, "itemcf": 1, "als": 12])
        struct Reference: Encodable {
            var items: [String]; var propensities: [Double]?; var experiment: String?; var scene: String?; var models: [String: Int]
        }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let reference = String(decoding: try e.encode(Reference(items: plain.items, propensities: plain.propensities, experiment: plain.experiment,
                                                                 scene: plain.scene, models: plain.models)), as: UTF8.self)
        #expect(try plain.payload() == reference)
        let bare = ServedPage(request: "r2", user: "u", timestamp: 1, items: [])
        #expect(try bare.payload() == #"{"items":[],"models":{}}"#)

        let awkward = ServedPage(request: "r3", user: "u", timestamp: 2, items: ["quote\"d", "back\\slash", "tab\tnew\nline\u{1}", "ünïcødé 🎬", "a/b"],
                                 experiment: "e\"x", scene: "s\\", models: ["k\"": 1])
        for page in [plain, bare, awkward] {
            let text = try page.payload()
            #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [String: Any], "\(text)")
            #expect(try ServedPage.stored(request: page.request, user: page.user, timestamp: page.timestamp, payload: text) == page)
        }
        var bad = plain
        bad.propensities = [.nan]
        #expect(throws: CascadeError.self) { try bad.payload() }
    }
}
