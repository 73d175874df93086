import CascadeCore
import CascadeStore
import Foundation

/// Which files a store's events came from, so importing one file twice (which would double its
/// events: events are appended, never merged) is noticed and refused unless asked for.
///
/// A file is known by its size and the 64-bit FNV-1a hash of its bytes, whatever its name or
/// place; the record is kept in the store as the artifact `imports` (a JSON list), so every
/// machine importing into a shared store sees it. Users and items files are recorded too but
/// never refused: importing them again updates the same rows.
public struct ImportHistory: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var fingerprint: String
        public var file: String
        /// Whether the import that read this file appended events.
        public var events: Bool
        public var importedAt: Double
    }

    public static let artifactName = "imports"
    public private(set) var entries: [Entry]

    /// The record of `store` (empty when nothing was recorded).
    public static func load(from store: any Store) throws -> ImportHistory {
        guard let a = try store.activeArtifact(name: artifactName) else { return ImportHistory(entries: []) }
        do { return ImportHistory(entries: try JSONDecoder().decode([Entry].self, from: a.blob)) } catch {
            throw CascadeError.corrupt("artifact \(artifactName) v\(a.info.version): \(error)")
        }
    }

    /// Size and FNV-1a 64 of the file's bytes, read in 1 MiB chunks. O(file size).
    public static func fingerprint(path: String) throws -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { throw CascadeError.notFound("file \(path)") }
        defer { try? h.close() }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var size = 0
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty {
            size += chunk.count
            for b in chunk { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        return "\(size)-" + String(hash, radix: 16)
    }

    /// The earlier import of a file with these bytes that appended events, if any.
    public func earlierEventImport(fingerprint: String) -> Entry? {
        entries.last { $0.fingerprint == fingerprint && $0.events }
    }

    /// Records `files` (path, fingerprint) as imported now and saves the record in `store`.
    public mutating func record(_ files: [(path: String, fingerprint: String)], events: Bool, store: any Store) throws {
        let now = Date().timeIntervalSince1970
        for f in files {
            entries.append(Entry(fingerprint: f.fingerprint, file: (f.path as NSString).lastPathComponent, events: events, importedAt: now))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try store.putArtifact(name: Self.artifactName, manifest: ["kind": "imports", "files": "\(entries.count)"],
                              blob: try encoder.encode(entries), activate: true)
    }
}
