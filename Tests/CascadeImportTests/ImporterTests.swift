import CascadeCore
import CascadeImport
import Foundation
import Testing

@Suite struct ImporterTests {
    static let events = """
        user,item,timestamp,type,value
        u1,i1,1704164645,click,
        u2,i2,xyz,click,
        u3,i3,1704164645,like,2
        u4,i4,,click,
        """

    @Test func anyBadRowStopsTheImportByDefault() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.write("events.csv", Self.events)
        let store = MemoryStore()
        let error = #expect(throws: CascadeError.self) {
            try Importer.run(CSVFile(path: path, mapping: .events), into: store)
        }
        let b = try #require(error.flatMap(badInput))
        #expect(b.file == path && b.line == 3)
        #expect(b.reason.hasPrefix("unparseable timestamp 'xyz'"))
        #expect(b.reason.contains("2 bad rows") && b.reason.contains("nothing was imported"))
        #expect("\(error!)".hasPrefix("\(path):3: unparseable timestamp 'xyz'"))
        #expect(store.batches.isEmpty)
    }

    @Test func skippingBadRowsImportsTheRestInOneBatch() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.write("events.csv", Self.events)
        let store = MemoryStore()
        let report = try Importer.run(CSVFile(path: path, mapping: .events), into: store, skipBadRows: true)
        #expect(store.batches.count == 1)
        #expect(store.batches.first?.events.map(\.user) == ["u1", "u3"])
        #expect(report.events == 2 && report.users == 0 && report.items == 0)
        #expect(report.skippedRows == 2)
        #expect(report.firstSkippedRows.map(\.line) == [3, 5])
        #expect(report.description.contains("skipped 2 bad row(s)"))
    }

    @Test func reportListsOnlyTheFirstFewSkippedRows() throws {
        var csv = "user,item,timestamp\n"
        for i in 0..<25 { csv += "u\(i),i,\(i % 2 == 0 ? "bad" : "1")\n" }
        let dir = TempDir()
        defer { dir.remove() }
        let store = MemoryStore()
        let report = try Importer.run(CSVFile(path: dir.write("e.csv", csv), mapping: .events), into: store, skipBadRows: true)
        #expect(report.skippedRows == 13 && report.events == 12)
        #expect(report.firstSkippedRows.count == Importer.listedBadRows)
    }

    @Test func eventTypesMustBeRegisteredInTheStore() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.write("events.csv", "user,item,timestamp,type\nu1,i1,1,add_to_cart\n")
        let store = MemoryStore()
        let error = #expect(throws: CascadeError.self) { try Importer.run(CSVFile(path: path, mapping: .events), into: store) }
        #expect(error.flatMap(badInput)?.reason.contains("unknown event type 'add_to_cart'") == true)
        try store.registerEventType("add_to_cart", weight: 2)
        try Importer.run(CSVFile(path: path, mapping: .events), into: store)
        #expect(store.batches.first?.events.first?.type == EventType("add_to_cart"))
    }

    @Test func missingAndEmptyFilesAreClearErrors() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = MemoryStore()
        let missing = dir.path("nope.csv")
        let e1 = #expect(throws: CascadeError.self) { try Importer.run(CSVFile(path: missing, mapping: .events), into: store) }
        #expect(e1 == .badInput(file: missing, line: 0, reason: "no such file"))
        #expect("\(e1!)" == "\(missing): no such file")

        let e2 = #expect(throws: CascadeError.self) { try Importer.run(MovieLensFile(path: dir.path("u.data")), into: store) }
        #expect(e2.flatMap(badInput)?.reason == "no such file")

        let empty = dir.write("empty.inter", "")
        let good = dir.write("good.csv", "user,item,timestamp\nu,i,1\n")
        let e3 = #expect(throws: CascadeError.self) {
            try Importer.run(CSVFile(path: good, mapping: .events), RecBoleFile(path: empty), into: store)
        }
        #expect(e3.flatMap(badInput)?.file == empty)
        #expect(store.batches.isEmpty)
    }

    @Test func directoryOfRecBoleFilesImportsAtomically() throws {
        let dir = TempDir()
        defer { dir.remove() }
        dir.write("ml.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t10\t4\t100\n2\t20\t5\t200\n")
        dir.write("ml.user", "user_id:token\tage:token\tgender:token\n1\t30\tM\n2\t40\tF\n")
        dir.write("ml.item", "item_id:token\tclass:token_seq\n10\tDrama\n20\tComedy Drama\n")
        dir.write("notes.txt", "ignored")
        let sources = try ImportSources.sources(at: dir.url.path)
        #expect(sources.map { URL(fileURLWithPath: $0.description).lastPathComponent } == ["ml.user", "ml.item", "ml.inter"])
        let store = MemoryStore()
        let report = try Importer.run(sources, into: store)
        #expect(report.users == 2 && report.items == 2 && report.events == 2 && report.skippedRows == 0)
        let batch = try #require(store.batches.first)
        #expect(store.batches.count == 1)
        #expect(batch.items.map(\.categories) == [["Drama"], ["Comedy", "Drama"]])
        #expect(batch.users.map { $0.numeric["age"] } == [30, 40])
    }

    @Test func usersDefinedTwiceAcrossFilesKeepTheLast() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = dir.write("users.csv", "id,tags\n1,a\n2,b\n")
        let b = dir.write("users_more.csv", "id,tags\n1,c\n")
        let sources = [try ImportSources.source(forFile: a), try ImportSources.source(forFile: b)]
        let store = MemoryStore()
        let report = try Importer.run(sources, into: store)
        #expect(store.batches.first?.users == [User(id: "1", tags: ["c"]), User(id: "2", tags: ["b"])])
        #expect(report.warnings.contains { $0.contains("1 user(s) defined in more than one file") })
    }

    @Test func sourceDetectionNeedsAKindForGenericFiles() throws {
        #expect(try ImportSources.source(forFile: "/d/events.jsonl") is JSONLinesFile)
        #expect(try ImportSources.source(forFile: "/d/items_2024.csv") is CSVFile)
        #expect(try ImportSources.source(forFile: "/d/ratings.dat") is MovieLensFile)
        #expect(throws: CascadeError.self) { try ImportSources.source(forFile: "/d/data.csv") }
        #expect(try ImportSources.source(forFile: "/d/data.csv", kind: .items) is CSVFile)
    }
}
