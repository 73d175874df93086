import CascadeCore
import CascadeImport
import Foundation
import Testing

@Suite struct CSVReaderTests {
    let types = EventTypeRegistry()

    @Test func parsesEventsWithQuotingAndEveryTimestampForm() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.write("events.csv", #"""
            user,item,timestamp,type,value,scene
            u1,i1,1704164645,click,,
            u2,i2,2024-01-02T03:04:05Z,like,1.5,home\#r
            u3,"i,3",1704164645123,,,

            "u""4",i4,2024-01-02T03:04:05.250+02:00,watch,30,""
            u5,i5,1704164645.5,share,-2e1,"two
            lines, ""quoted"""
            """#)
        let r = try CSVFile(path: path, mapping: .events).parse(eventTypes: types)
        #expect(r.badRows.isEmpty)
        let e = r.batch.events
        try #require(e.count == 5)
        #expect(e[0] == Event(user: "u1", item: "i1", type: .click, timestamp: 1_704_164_645))
        #expect(e[1] == Event(user: "u2", item: "i2", type: .like, timestamp: 1_704_164_645, value: 1.5, scene: "home"))
        #expect(e[2] == Event(user: "u3", item: "i,3", type: .click, timestamp: 1_704_164_645.123))
        #expect(e[3] == Event(user: "u\"4", item: "i4", type: .watch, timestamp: 1_704_164_645.25 - 7200, value: 30))
        #expect(e[4] == Event(user: "u5", item: "i5", type: .share, timestamp: 1_704_164_645.5, value: -20, scene: "two\nlines, \"quoted\""))
    }

    @Test func badRowsNameTheirLineAndReason() throws {
        let csv = """
            user,item,timestamp,value
            u1,i1,100,1
            u3,i"3,300,1
            u4,"i4"x,400,1
            u5,i5,500
            u6,i6,xyz,1
            u7,i7,,1
            u8,i8,800,inf
            u9,i9,900,1e999
            u10,"i
            10",1000,abc
            u11,i11,1100,2
            """
        let r = try CSVFile.parse(Data(csv.utf8), file: "ev.csv", mapping: .events, eventTypes: types)
        #expect(r.batch.events.map(\.user) == ["u1", "u11"])
        #expect(r.badRows.map(\.line) == [3, 4, 5, 6, 7, 8, 9, 10])
        #expect(r.badRows.allSatisfy { $0.file == "ev.csv" })
        let reasons = r.badRows.map(\.reason)
        #expect(reasons[0].contains("malformed quoting") && reasons[0].contains("unquoted field 2"))
        #expect(reasons[1].contains("malformed quoting") && reasons[1].contains("after the closing quote"))
        #expect(reasons[2].contains("expected 4") && reasons[2].contains("found 3"))
        #expect(reasons[3].hasPrefix("unparseable timestamp 'xyz'"))
        #expect(reasons[4].hasPrefix("missing timestamp"))
        #expect(reasons[5].contains("non-finite number 'inf'") && reasons[5].contains("'value'"))
        #expect(reasons[6].contains("non-finite number '1e999'"))
        #expect(reasons[7].contains("unparseable number 'abc'"))
        #expect(r.badRows[3].description == "ev.csv:6: " + reasons[3])
    }

    @Test func unterminatedQuoteResumesOnTheNextLine() throws {
        let csv = "user,item,timestamp\nu1,i1,1\nu2,\"i2,2\nu3,i3,3\n"
        let r = try CSVFile.parse(Data(csv.utf8), file: "q.csv", mapping: .events, eventTypes: types)
        #expect(r.batch.events.map(\.user) == ["u1", "u3"])
        #expect(r.badRows.count == 1)
        #expect(r.badRows.first?.line == 3)
        #expect(r.badRows.first?.reason.contains("never closed") == true)
    }

    @Test func unknownAndMissingColumnsAreErrorsNamingThem() throws {
        let unknown = "user,item,timestamp,foo,bar\nu,i,1,x,y\n"
        let e1 = #expect(throws: CascadeError.self) {
            try CSVFile.parse(Data(unknown.utf8), file: "e.csv", mapping: .events, eventTypes: types)
        }
        let b1 = try #require(e1.flatMap(badInput))
        #expect(b1.file == "e.csv" && b1.line == 1)
        #expect(b1.reason.contains("'foo', 'bar'") && b1.reason.contains("user, item, timestamp, type, value, scene"))

        var ignoring = ColumnMapping.events
        ignoring.attributes = ["foo": .ignore, "bar": .ignore]
        let ok = try CSVFile.parse(Data(unknown.utf8), file: "e.csv", mapping: ignoring, eventTypes: types)
        #expect(ok.batch.events.count == 1)

        let missing = "user,item\nu,i\n"
        let e2 = #expect(throws: CascadeError.self) {
            try CSVFile.parse(Data(missing.utf8), file: "e.csv", mapping: .events, eventTypes: types)
        }
        #expect(e2.flatMap(badInput)?.reason.contains("missing required column 'timestamp'") == true)

        let twice = "user,item,timestamp,item\nu,i,1,j\n"
        let e3 = #expect(throws: CascadeError.self) {
            try CSVFile.parse(Data(twice.utf8), file: "e.csv", mapping: .events, eventTypes: types)
        }
        #expect(e3.flatMap(badInput)?.reason.contains("appears twice") == true)
    }

    @Test func emptyFilesAreErrorsNamingTheFile() throws {
        for text in ["", "\n\n", "\u{FEFF}", "user,item,timestamp\n", "user,item,timestamp\n\n  \n"] {
            let e = #expect(throws: CascadeError.self) {
                try CSVFile.parse(Data(text.utf8), file: "empty.csv", mapping: .events, eventTypes: types)
            }
            let b = try #require(e.flatMap(badInput))
            #expect(b.file == "empty.csv")
            #expect(b.reason.contains(text.contains("user") ? "header but no rows" : "file is empty"))
        }
    }

    @Test func itemsWithMappedFieldsAndInferredAttributes() throws {
        let csv = """
            id,categories,tags,author,published,lat,lon,hidden,price,color
            i1,sports|football,a|b,ann,2024-01-02,48.85,2.35,no,9.5,red
            i2,,,,,,,yes,10,7
            i3,music,,bob,1704164645000,,,,,
            """
        let mapping = ColumnMapping.items.keepingOtherColumns()
        let r = try CSVFile.parse(Data(csv.utf8), file: "items.csv", mapping: mapping, eventTypes: types)
        #expect(r.badRows.isEmpty)
        let items = r.batch.items
        try #require(items.count == 3)
        #expect(items[0] == Item(id: "i1", categories: ["sports", "football"], tags: ["a", "b"], author: "ann",
                                 location: GeoPoint(latitude: 48.85, longitude: 2.35), publishedAt: 1_704_153_600,
                                 numeric: ["price": 9.5], categorical: ["color": "red"], hidden: false))
        #expect(items[1] == Item(id: "i2", numeric: ["price": 10], categorical: ["color": "7"], hidden: true))
        #expect(items[2] == Item(id: "i3", categories: ["music"], author: "bob", publishedAt: 1_704_164_645))

        let strict = #expect(throws: CascadeError.self) {
            try CSVFile.parse(Data(csv.utf8), file: "items.csv", mapping: .items, eventTypes: types)
        }
        #expect(strict.flatMap(badInput)?.reason.contains("unknown columns 'price', 'color'") == true)
    }

    @Test func usersWithDeclaredAttributesAndDuplicateIds() throws {
        let csv = """
            uid;age;gender;interests;lat;lon
            1;24;M;a b;;
            2;x;F;;10;20
            1;30;F;;;
            3;40;F;;91;0
            4;50;F;;5;
            """
        var m = ColumnMapping.users
        m.id = "uid"
        m.attributes = ["age": .numeric, "gender": .categorical, "interests": .tags(separator: " ")]
        let r = try CSVFile.parse(Data(csv.utf8), file: "u.csv", mapping: m, delimiter: ";", eventTypes: types)
        #expect(r.batch.users == [User(id: "1", categorical: ["gender": "M"], numeric: ["age": 24], tags: ["a", "b"])])
        #expect(r.badRows.map(\.line) == [3, 4, 5, 6])
        #expect(r.badRows[0].reason.contains("unparseable number 'x' in column 'age'"))
        #expect(r.badRows[1].reason == "duplicate user id '1' (first seen on line 2)")
        #expect(r.badRows[2].reason.contains("outside"))
        #expect(r.badRows[3].reason.contains("latitude without longitude"))
    }

    @Test func invalidUTF8IsABadRow() throws {
        let bytes = Array("user,item,timestamp\nu1,i1,1\nu".utf8) + [0xE9] + Array(",i2,2\n".utf8)
        let r = try CSVFile.parse(Data(bytes), file: "e.csv", mapping: .events, eventTypes: types)
        #expect(r.batch.events.map(\.user) == ["u1"])
        #expect(r.badRows == [BadRow(file: "e.csv", line: 3, reason: "field 1 is not valid UTF-8")])
    }
}
