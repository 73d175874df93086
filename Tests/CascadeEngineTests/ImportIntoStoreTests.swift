import CascadeCore
import CascadeImport
import CascadeStore
import Foundation
import Testing
import CascadeTestSupport

/// Importers against the real SQLite store: a file with a bad row changes nothing.
@Suite struct ImportIntoStoreTests {
    func file(_ name: String, _ text: String) throws -> String {
        let dir = Scratch.path("import")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func seeded() throws -> SQLiteStore {
        let s = try SQLiteStore(path: Scratch.path("imp").appendingPathExtension("sqlite").path)
        try s.appendEvents([Event(user: "old", item: "thing", timestamp: 1)])
        return s
    }

    @Test func goodCSVImportsWithDefaultTypeClick() throws {
        let s = try seeded()
        let path = try file("events.csv", "user,item,timestamp,type,value\nu1,i1,1700000000,,\nu1,i2,2024-01-02T03:04:05Z,like,\nu2,i1,1700000000123,watch,42.5\n")
        let r = try Importer.run(CSVFile(path: path, mapping: .events), into: s)
        #expect(r.events == 3)
        let last = try s.lastEvents(user: "u1", limit: 5, types: nil)
        #expect(last.map(\.type) == [.like, .click])
        #expect(try s.lastEvents(user: "u2", limit: 1, types: nil).first == Event(user: "u2", item: "i1", type: .watch, timestamp: 1_700_000_000.123, value: 42.5))
    }

    @Test(arguments: [
        ("malformed quoting", "user,item,timestamp\nu1,i1,1\nu2,\"i2,2\n", "quote"),
        ("unparseable timestamp", "user,item,timestamp\nu1,i1,1\nu2,i2,yesterday\n", "timestamp"),
        ("missing timestamp", "user,item,timestamp\nu1,i1,1\nu2,i2,\n", "timestamp"),
        ("wrong field count", "user,item,timestamp\nu1,i1,1\nu2,i2\n", "field"),
        ("unknown type", "user,item,timestamp,type\nu1,i1,1,click\nu2,i2,2,teleport\n", "teleport"),
    ])
    func aBadRowImportsNothingAndNamesTheLine(_ c: (String, String, String)) throws {
        let s = try seeded()
        let before = try s.counts()
        let path = try file("events.csv", c.1)
        #expect {
            try Importer.run(CSVFile(path: path, mapping: .events), into: s)
        } throws: { error in
            let m = "\(error)"
            return m.contains(path) && m.contains(":3") && m.lowercased().contains(c.2)
        }
        #expect(throws: CascadeError.self, "\(c.0)") { try Importer.run(CSVFile(path: path, mapping: .events), into: s) }
        #expect(try s.counts() == before, "\(c.0): the store is unchanged")
        // With skipping, the good row lands and the bad one is counted.
        let r = try Importer.run([CSVFile(path: path, mapping: .events)], into: s, skipBadRows: true)
        #expect(r.events == 1 && r.skippedRows == 1)
        #expect(try s.counts().events == before.events + 1)
    }

    @Test func fileLevelProblemsChangeNothing() throws {
        let s = try seeded()
        let before = try s.counts()
        let cases: [(any ImportSource, String)] = [
            (CSVFile(path: try file("empty.csv", ""), mapping: .events), "empty"),
            (CSVFile(path: try file("header.csv", "user,item,timestamp\n"), mapping: .events), "no rows"),
            (CSVFile(path: try file("extra.csv", "user,item,timestamp,mood\nu,i,1,happy\n"), mapping: .events), "mood"),
            (CSVFile(path: try file("nots.csv", "user,item\nu,i\n"), mapping: .events), "timestamp"),
            (CSVFile(path: try file("items.csv", "id,categories\na,x\nb,y\na,z\n"), mapping: .items), "duplicate"),
            (JSONLinesFile(path: try file("e.jsonl", "{\"user\":\"u\",\"item\":\"i\",\"timestamp\":1}\n{\"user\":\"u\",\n"), mapping: .events), "json"),
            (CSVFile(path: "/nonexistent/\(UUID().uuidString).csv", mapping: .events), "no such file"),
        ]
        for (source, word) in cases {
            #expect {
                try Importer.run(source, into: s)
            } throws: { error in
                "\(error)".lowercased().contains(word)
            }
        }
        #expect(try s.counts() == before)
    }

    /// A file is known by its bytes: the same events file under another name is an earlier
    /// import; a changed file is not; users files never block.
    @Test func importHistoryRecognisesAFileByItsBytes() throws {
        let s = try seeded()
        let a = try file("events.csv", "user,item,timestamp\nu1,i1,1\n")
        let copy = try file("renamed.csv", "user,item,timestamp\nu1,i1,1\n")
        let other = try file("events.csv", "user,item,timestamp\nu1,i1,2\n")
        var h = try ImportHistory.load(from: s)
        #expect(h.entries.isEmpty)
        let fa = try ImportHistory.fingerprint(path: a)
        #expect(h.earlierEventImport(fingerprint: fa) == nil)
        try h.record([(a, fa)], events: true, store: s)
        let again = try ImportHistory.load(from: s)
        #expect(again.earlierEventImport(fingerprint: try ImportHistory.fingerprint(path: copy))?.file == "events.csv")
        #expect(again.earlierEventImport(fingerprint: try ImportHistory.fingerprint(path: other)) == nil)
        var h2 = again
        let users = try file("users.csv", "id\nu1\n")
        let fu = try ImportHistory.fingerprint(path: users)
        try h2.record([(users, fu)], events: false, store: s)
        #expect(try ImportHistory.load(from: s).earlierEventImport(fingerprint: fu) == nil)
        #expect(try ImportHistory.load(from: s).entries.count == 2)
    }
}
