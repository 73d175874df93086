import CascadeCore
import CascadeStore
import Foundation
import Testing

@Suite struct SQLiteStoreTests {
    @Test func dataSurvivesReopening() throws {
        let path = TempDir.make().appendingPathComponent("reopen.sqlite").path
        do {
            let s = try SQLiteStore(path: path)
            try s.upsertItems([Item(id: "i1", categories: ["a"])])
            try s.appendEvents([Event(user: "u1", item: "i1", type: .like, timestamp: 10)])
            try s.putArtifact(name: "m", manifest: [:], blob: Data([9]), activate: true)
        }
        let s = try SQLiteStore(path: path)
        #expect(try s.item("i1")?.categories == ["a"])
        #expect(try s.lastEvents(user: "u1", limit: 1, types: nil).first?.type == .like)
        #expect(try s.activeArtifact(name: "m")?.blob == Data([9]))
        // Interning continues after the ids already stored.
        try s.appendEvents([Event(user: "u2", item: "i2", timestamp: 11)])
        #expect(try s.idSnapshot().users.ids == ["u1", "u2"])
    }

    /// Read-only commands open the file read-only: they read everything, write nothing, and a
    /// mistyped path is an error instead of a new empty store.
    @Test func readOnlyHandlesReadAndNeverWriteOrCreate() throws {
        let dir = TempDir.make()
        let path = dir.appendingPathComponent("ro.sqlite").path
        do {
            let s = try SQLiteStore(path: path)
            try s.appendEvents([Event(user: "u1", item: "i1", type: .like, timestamp: 10), Event(user: "u1", item: "i2", timestamp: 20)])
            try s.putArtifact(name: "m", manifest: [:], blob: Data([9]), activate: true)
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let r = try SQLiteStore(path: path, readOnly: true)
        #expect(try r.counts().events == 2)
        #expect(try r.lastEvents(user: "u1", limit: 5, types: nil).map(\.item) == ["i2", "i1"])
        #expect(try r.activeArtifact(name: "m")?.blob == Data([9]))
        #expect(try r.newestEventTime() == 20)
        #expect(throws: CascadeError.self) { try r.appendEvents([Event(user: "u2", item: "i1", timestamp: 30)]) }
        #expect(throws: CascadeError.self) { try r.putArtifact(name: "m", manifest: [:], blob: Data([1]), activate: true) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        let missing = dir.appendingPathComponent("typo.sqlite").path
        #expect {
            _ = try SQLiteStore(path: missing, readOnly: true)
        } throws: { error in
            "\(error)".contains("no store at \(missing)")
        }
        #expect(!FileManager.default.fileExists(atPath: missing), "a mistyped path creates nothing")
    }

    @Test func twoHandlesOnOneFileAgreeOnIds() throws {
        let path = TempDir.make().appendingPathComponent("shared.sqlite").path
        let a = try SQLiteStore(path: path)
        let b = try SQLiteStore(path: path)
        try a.appendEvents([Event(user: "u1", item: "i1", timestamp: 1)])
        try b.appendEvents([Event(user: "u2", item: "i1", timestamp: 2)])
        try a.appendEvents([Event(user: "u3", item: "i2", timestamp: 3)])
        #expect(try a.idSnapshot().users.ids == ["u1", "u2", "u3"])
        #expect(try b.loadEventLog().users == [0, 1, 2])
    }

    @Test func unwritablePathIsAClearError() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/db.sqlite"
        #expect {
            _ = try SQLiteStore(path: missing)
        } throws: { error in
            "\(error)".contains(missing) && "\(error)".contains("does not exist")
        }
        let dir = TempDir.make()
        let readOnly = dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: readOnly.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: readOnly.path) }
        // root ignores directory permissions; only check where they bite.
        if getuid() != 0 {
            #expect(throws: CascadeError.self) { _ = try SQLiteStore(path: readOnly.appendingPathComponent("db.sqlite").path) }
        }
        let notADatabase = dir.appendingPathComponent("text.sqlite")
        try Data("this is not a database, just text padded out to be long enough".utf8).write(to: notADatabase)
        #expect {
            _ = try SQLiteStore(path: notADatabase.path)
        } throws: { error in
            "\(error)".contains(notADatabase.path)
        }
    }
}
