import ArgumentParser
import CascadeCore
import CascadeImport
import CascadeStore
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import users, items and events from CSV, JSON Lines, RecBole atomic files or MovieLens files.",
        discussion: """
            By default a file with a bad row imports nothing: the first bad row is reported as \
            FILE:LINE: reason, and the store is left unchanged. With --skip-bad-rows the good rows \
            are imported in one transaction and the skipped rows are counted.

            csv / jsonl: events need `user,item,timestamp` and may have `type` (default click), \
            `value` and `scene`; timestamps are unix seconds, unix milliseconds or ISO 8601. \
            Users need `id`, items need `id` (optional categories, tags, author, published, lat, lon, hidden). \
            Rename columns with --map, e.g. --map user=customer_id --map timestamp=ts.
            recbole: .inter/.user/.item files with typed headers (user_id:token ...).
            movielens: ml-100k u.data/u.item/u.user or ml-1m ratings.dat/movies.dat/users.dat.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, jsonl, recbole, movielens
    }

    @OptionGroup var store: StoreOptions

    @Option(help: "File format: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: Format

    @Option(help: "Events file.")
    var events: String?

    @Option(help: "Users file.")
    var users: String?

    @Option(help: "Items file.")
    var items: String?

    @Argument(help: "More files (recbole and movielens: the kind is told by the file name).")
    var files: [String] = []

    @Option(name: .customLong("map"), help: "Column mapping KEY=COLUMN for csv/jsonl (keys: user, item, timestamp, type, value, scene, id, tags, categories, author, published, hidden, lat, lon).")
    var mappings: [String] = []

    @Flag(help: "Keep unknown columns of users and items files as attributes instead of failing.")
    var keepOtherColumns = false

    @Option(name: .customLong("ignore"), help: "A column to read and drop (csv/jsonl, any file kind; repeat for several), e.g. --ignore rating_source.")
    var ignoredColumns: [String] = []

    @Option(help: "How numeric timestamps of csv/jsonl events are read: auto (seconds; numbers above 1e11 are milliseconds, and the report says how many), s (always seconds) or ms (always milliseconds).")
    var timestampUnit: String = TimestampParser.Unit.auto.rawValue

    @Flag(help: "Import the good rows and count the bad ones instead of importing nothing.")
    var skipBadRows = false

    @Flag(help: "Import events from a file whose bytes were imported into this store before (its events are appended again, doubling them).")
    var allowRepeat = false

    func validate() throws {
        if events == nil && users == nil && items == nil && files.isEmpty {
            throw ValidationError("give at least one file: --events, --users, --items or a path")
        }
        if !files.isEmpty && (format == .csv || format == .jsonl) {
            throw ValidationError("csv and jsonl files must be given with --events, --users or --items")
        }
    }

    func mapping(_ kind: RecordKind) throws -> ColumnMapping {
        var m = ColumnMapping(kind: kind)
        if keepOtherColumns && kind != .events { m = m.keepingOtherColumns() }
        guard let unit = TimestampParser.Unit(rawValue: timestampUnit) else {
            throw ValidationError("--timestamp-unit must be auto, s or ms, got \(timestampUnit)")
        }
        m.timestampUnit = unit
        for c in ignoredColumns { m.attributes[c] = .ignore }
        for entry in mappings {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else { throw ValidationError("--map expects KEY=COLUMN, got '\(entry)'") }
            switch parts[0] {
            case "user": m.user = parts[1]
            case "item": m.item = parts[1]
            case "timestamp": m.timestamp = parts[1]
            case "type": m.type = parts[1]
            case "value": m.value = parts[1]
            case "scene": m.scene = parts[1]
            case "id": m.id = parts[1]
            case "tags": m.tags = parts[1]
            case "categories": m.categories = parts[1]
            case "author": m.author = parts[1]
            case "published": m.published = parts[1]
            case "hidden": m.hidden = parts[1]
            case "lat": m.latitude = parts[1]
            case "lon": m.longitude = parts[1]
            default: throw ValidationError("--map: unknown key '\(parts[0])'")
            }
        }
        return m
    }

    func sources() throws -> [any ImportSource] {
        var out: [any ImportSource] = []
        let given: [(String?, RecordKind)] = [(users, .users), (items, .items), (events, .events)]
        for (path, kind) in given {
            guard let path else { continue }
            switch format {
            case .csv: out.append(CSVFile(path: path, mapping: try mapping(kind)))
            case .jsonl: out.append(JSONLinesFile(path: path, mapping: try mapping(kind)))
            case .recbole: out.append(RecBoleFile(path: path))
            case .movielens: out.append(MovieLensFile(path: path))
            }
        }
        for path in files {
            out.append(format == .recbole ? RecBoleFile(path: path) as any ImportSource : MovieLensFile(path: path))
        }
        return out
    }

    func run() throws {
        try runReporting {
            let srcs = try sources()
            let s = try store.open()
            // A file imported before would have its events appended a second time: say so.
            var history = try ImportHistory.load(from: s)
            let paths = [users, items, events].compactMap { $0 } + files
            let prints = try paths.map { (path: $0, fingerprint: try ImportHistory.fingerprint(path: $0)) }
            if !allowRepeat {
                for f in prints {
                    if let e = history.earlierEventImport(fingerprint: f.fingerprint) {
                        let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: e.importedAt))
                        throw CascadeError.invalid("\(f.path) has the same bytes as \(e.file), whose events were imported into \(store.display) at \(when); importing it again would append its events a second time (pass --allow-repeat to do so)")
                    }
                }
            }
            let bar = ProgressBar("import")
            bar.stage("reading \(srcs.count) file(s)")
            let report = try Importer.run(srcs, into: s, skipBadRows: skipBadRows)
            bar.finish()
            try history.record(prints, events: report.events > 0, store: s)
            print(report.description)
        }
    }
}
