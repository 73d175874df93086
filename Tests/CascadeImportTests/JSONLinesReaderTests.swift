import CascadeCore
import CascadeImport
import Foundation
import Testing

@Suite struct JSONLinesReaderTests {
    let types = EventTypeRegistry()

    @Test func parsesEvents() throws {
        let text = """
            {"user": "u1", "item": 7, "timestamp": 1704164645, "type": "like", "value": 2}

            {"user":"u2","item":"i\\u00e9\\ud83d\\ude00","timestamp":"2024-01-02T03:04:05Z","scene":"home","value":null}
            {"item":"i3","user":"u3","timestamp":1704164645123}
            """
        let r = try JSONLinesFile.parse(Data(text.utf8), file: "e.jsonl", mapping: .events, eventTypes: types)
        #expect(r.badRows.isEmpty)
        #expect(r.batch.events == [
            Event(user: "u1", item: "7", type: .like, timestamp: 1_704_164_645, value: 2),
            Event(user: "u2", item: "ié😀", type: .click, timestamp: 1_704_164_645, scene: "home"),
            Event(user: "u3", item: "i3", type: .click, timestamp: 1_704_164_645.123),
        ])
    }

    @Test func badLinesAndUnknownKeys() throws {
        let text = """
            {"user":"u1","item":"i1","timestamp":1}
            {"user":"u2","item":"i2","timestamp":"yesterday"}
            {"user":"u3","item":"i3"}
            {"user":"u4","item":"i4","timestamp":1,
            {"user":"u5","item":{"id":1},"timestamp":1}
            {"user":"u6","item":"i6","timestamp":1,"value":"inf"}
            {"user":"u7","item":"i7","timestamp":1,"type":"teleport"}
            """
        let r = try JSONLinesFile.parse(Data(text.utf8), file: "e.jsonl", mapping: .events, eventTypes: types)
        #expect(r.batch.events.map(\.user) == ["u1"])
        #expect(r.badRows.map(\.line) == [2, 3, 4, 5, 6, 7])
        #expect(r.badRows[0].reason.hasPrefix("unparseable timestamp 'yesterday'"))
        #expect(r.badRows[1].reason.hasPrefix("missing timestamp"))
        #expect(r.badRows[2].reason.hasPrefix("not a valid JSON object"))
        #expect(r.badRows[3].reason.contains("nested objects"))
        #expect(r.badRows[4].reason.contains("non-finite number 'inf'"))
        #expect(r.badRows[5].reason.contains("unknown event type 'teleport'"))

        let unknown = "{\"user\":\"u\",\"item\":\"i\",\"timestamp\":1}\n{\"user\":\"u\",\"item\":\"i\",\"timestamp\":1,\"rating\":5}\n"
        let e = #expect(throws: CascadeError.self) {
            try JSONLinesFile.parse(Data(unknown.utf8), file: "e.jsonl", mapping: .events, eventTypes: types)
        }
        let b = try #require(e.flatMap(badInput))
        #expect(b.line == 2 && b.reason.contains("unknown column 'rating'") && b.reason.contains("user, item, timestamp"))
    }

    @Test func itemsWithArraysAndInferredAttributes() throws {
        let text = """
            {"id":"i1","categories":["a","b"],"tags":"x|y","published":1704164645000,"price":3,"brand":"acme","labels":["p","q"]}
            {"id":"i2","price":"4.5","brand":12,"hidden":true}
            {"id":"i1"}
            """
        let r = try JSONLinesFile.parse(Data(text.utf8), file: "items.jsonl", mapping: ColumnMapping.items.keepingOtherColumns(), eventTypes: types)
        #expect(r.batch.items == [
            Item(id: "i1", categories: ["a", "b"], tags: ["x", "y", "p", "q"], publishedAt: 1_704_164_645,
                 numeric: ["price": 3], categorical: ["brand": "acme"]),
            Item(id: "i2", numeric: ["price": 4.5], categorical: ["brand": "12"], hidden: true),
        ])
        #expect(r.badRows == [BadRow(file: "items.jsonl", line: 3, reason: "duplicate item id 'i1' (first seen on line 1)")])
    }

    @Test func emptyFile() {
        let e = #expect(throws: CascadeError.self) {
            try JSONLinesFile.parse(Data("\n \n".utf8), file: "e.jsonl", mapping: .events, eventTypes: types)
        }
        #expect(e.flatMap(badInput)?.reason.contains("empty") == true)
    }
}
