import CascadeCore
import Foundation

/// Picks readers for paths by file name, for callers (such as the command line) that are given
/// paths rather than formats.
public enum ImportSources {
    /// The source for one file, by name:
    /// - `*.inter`, `*.user`, `*.item`: ``RecBoleFile``;
    /// - `u.data`, `u.item`, `u.user`, `u1.base`..., `ratings.dat`, `movies.dat`, `users.dat`: ``MovieLensFile``;
    /// - `*.csv`, `*.tsv`, `*.jsonl`, `*.ndjson`: ``CSVFile`` / ``JSONLinesFile`` with the default mapping for
    ///   the kind named by the file's stem (`users`, `items` or `events`, optionally followed by
    ///   `_anything` or `-anything`), unless `kind` says otherwise. With `keepOtherColumns`, users and items
    ///   keep columns beyond the mapped fields as attributes.
    public static func source(forFile path: String, kind: RecordKind? = nil, keepOtherColumns: Bool = false) throws -> any ImportSource {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension.lowercased()
        if RecBoleFile.kind(ofPath: path) != nil { return RecBoleFile(path: path) }
        if let f = MovieLensFormat.detect(path: path) { return MovieLensFile(path: path, format: f) }
        guard ["csv", "tsv", "jsonl", "ndjson"].contains(ext) else {
            throw CascadeError.badInput(file: path, line: 0, reason: "unknown file type (expected RecBole .inter/.user/.item, MovieLens u.data/u.item/u.user/ratings.dat/movies.dat/users.dat, or .csv, .tsv, .jsonl)")
        }
        guard let k = kind ?? kindFromStem(url.deletingPathExtension().lastPathComponent) else {
            throw CascadeError.badInput(file: path, line: 0, reason: "cannot tell whether the file holds users, items or events; name it users.\(ext), items.\(ext) or events.\(ext), or give the kind")
        }
        var mapping = ColumnMapping(kind: k)
        if keepOtherColumns && k != .events { mapping.otherColumns = .attributes }
        switch ext {
        case "csv": return CSVFile(path: path, mapping: mapping)
        case "tsv": return CSVFile(path: path, mapping: mapping, delimiter: "\t")
        default: return JSONLinesFile(path: path, mapping: mapping)
        }
    }

    /// Sources for a file, or for every file of a directory that ``source(forFile:kind:keepOtherColumns:)``
    /// recognises (MovieLens split files such as `u1.base` excepted), users first, then items, then events.
    public static func sources(at path: String, keepOtherColumns: Bool = false) throws -> [any ImportSource] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CascadeError.badInput(file: path, line: 0, reason: "no such file or directory")
        }
        guard isDirectory.boolValue else { return [try source(forFile: path, keepOtherColumns: keepOtherColumns)] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path).sorted() } catch {
            throw CascadeError.badInput(file: path, line: 0, reason: "cannot list directory: \(error.localizedDescription)")
        }
        var found: [(rank: Int, source: any ImportSource)] = []
        for name in names {
            let full = URL(fileURLWithPath: path).appendingPathComponent(name).path
            let lower = name.lowercased()
            if lower.hasSuffix(".base") || lower.hasSuffix(".test") { continue }
            guard let s = try? source(forFile: full, keepOtherColumns: keepOtherColumns) else { continue }
            found.append((rank(of: s), s))
        }
        guard !found.isEmpty else {
            throw CascadeError.badInput(file: path, line: 0, reason: "no importable files in the directory (RecBole atomic files, MovieLens files, or users/items/events .csv/.jsonl)")
        }
        return found.enumerated().sorted { ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset) }.map(\.element.source)
    }

    private static func kindFromStem(_ stem: String) -> RecordKind? {
        let s = stem.lowercased()
        for kind in RecordKind.allCases {
            let singular = String(kind.rawValue.dropLast())
            for name in [kind.rawValue, singular] where s == name || s.hasPrefix(name + "_") || s.hasPrefix(name + "-") {
                return kind
            }
        }
        return nil
    }

    /// Users before items before events, so reports read naturally.
    private static func rank(of s: any ImportSource) -> Int {
        let kind: RecordKind?
        switch s {
        case let f as RecBoleFile: kind = RecBoleFile.kind(ofPath: f.path)
        case let f as MovieLensFile:
            switch f.format {
            case .users100k, .users1m: kind = .users
            case .items100k, .movies1m: kind = .items
            default: kind = .events
            }
        case let f as CSVFile: kind = f.mapping.kind
        case let f as JSONLinesFile: kind = f.mapping.kind
        default: kind = nil
        }
        switch kind {
        case .users: return 0
        case .items: return 1
        default: return 2
        }
    }
}
