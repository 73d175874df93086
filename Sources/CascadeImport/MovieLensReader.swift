import CascadeCore
import Foundation

/// The raw MovieLens files of ml-100k and ml-1m (no header lines).
public enum MovieLensFormat: String, Sendable, CaseIterable {
    /// ml-100k `u.data` (and the split files `u1.base`, `ua.test`, ...): `user\titem\trating\ttimestamp`.
    case ratings100k
    /// ml-100k `u.item`: `id|title|release date|video release date|IMDb URL|` and 19 genre flags.
    case items100k
    /// ml-100k `u.user`: `id|age|gender|occupation|zip`.
    case users100k
    /// ml-1m `ratings.dat`: `UserID::MovieID::Rating::Timestamp`.
    case ratings1m
    /// ml-1m `movies.dat`: `MovieID::Title::Genres`, genres separated by `|`.
    case movies1m
    /// ml-1m `users.dat`: `UserID::Gender::Age::Occupation::Zip-code`.
    case users1m

    /// The format of a file, from its name; nil when the name is not a MovieLens file name.
    public static func detect(path: String) -> MovieLensFormat? {
        let name = URL(fileURLWithPath: path).lastPathComponent.lowercased()
        switch name {
        case "u.data": return .ratings100k
        case "u.item": return .items100k
        case "u.user": return .users100k
        case "ratings.dat": return .ratings1m
        case "movies.dat": return .movies1m
        case "users.dat": return .users1m
        default:
            if name.hasPrefix("u"), name.hasSuffix(".base") || name.hasSuffix(".test") { return .ratings100k }
            return nil
        }
    }

    var separator: [UInt8] {
        switch self {
        case .ratings100k: return [9]
        case .items100k, .users100k: return [124]
        case .ratings1m, .movies1m, .users1m: return [58, 58]
        }
    }

    var fieldCount: Int {
        switch self {
        case .ratings100k, .ratings1m: return 4
        case .items100k: return 5 + MovieLensFile.genres100k.count
        case .users100k, .users1m: return 5
        case .movies1m: return 3
        }
    }
}

/// A raw MovieLens file (ml-100k or ml-1m).
///
/// Every rating becomes an event of type `click` whose `value` is the rating (1-5).
/// Text is decoded as ISO Latin 1, the encoding of these files, so any byte is accepted.
/// - `u.item`: categories are the names of the genres flagged 1 (`Action`, `Children's`, ...);
///   `title` and `imdb_url` are categorical attributes; the release date (`01-Jan-1995`) is the
///   publish time.
/// - `movies.dat`: categories are the `|`-separated genres; `title` is categorical, and the year
///   in parentheses at the end of the title is the numeric attribute `year`.
/// - `u.user`, `users.dat`: `age` is numeric (in ml-1m, the lower bound of the age band);
///   `gender`, `occupation` (ml-1m codes are turned into their names) and `zip` are categorical.
public struct MovieLensFile: ImportSource {
    public var path: String
    /// The format; nil means "from the file name" (see ``MovieLensFormat/detect(path:)``).
    public var format: MovieLensFormat?

    public init(path: String, format: MovieLensFormat? = nil) {
        self.path = path
        self.format = format
    }

    public var description: String { path }

    public func parse(eventTypes: EventTypeRegistry) throws -> ParseResult {
        guard let f = format ?? MovieLensFormat.detect(path: path) else {
            throw CascadeError.badInput(file: path, line: 0, reason: "not a MovieLens file name (expected u.data, u.item, u.user, ratings.dat, movies.dat or users.dat)")
        }
        return try Self.parse(FileLoader.load(path), file: path, format: f)
    }

    /// The 19 genres of ml-100k, in the order of the flags of `u.item`.
    public static let genres100k = [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
        "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    ]

    /// ml-1m occupation names by code.
    public static let occupations1m = [
        "other", "academic/educator", "artist", "clerical/admin", "college/grad student", "customer service",
        "doctor/health care", "executive/managerial", "farmer", "homemaker", "K-12 student", "lawyer",
        "programmer", "retired", "sales/marketing", "scientist", "self-employed", "technician/engineer",
        "tradesman/craftsman", "unemployed", "writer",
    ]

    /// Parses the bytes of a file in `format`; `file` names them in messages.
    public static func parse(_ data: Data, file: String, format: MovieLensFormat) throws -> ParseResult {
        var result = ParseResult()
        var firstLine: [String: Int] = [:]
        var rows = 0
        data.withBuffer { buf in
            if format == .ratings100k || format == .ratings1m { result.batch.events.reserveCapacity(Bytes.lineCount(buf) + 1) }
            var lines = LineCursor(buf)
            var fields: [Range<Int>] = []
            while let r = lines.next() {
                if Bytes.isBlank(buf, r) { continue }
                rows += 1
                Bytes.split(buf, r, on: format.separator, into: &fields)
                do throws(RowError) {
                    guard fields.count == format.fieldCount else {
                        throw RowError("wrong number of fields: expected \(format.fieldCount), found \(fields.count)")
                    }
                    let row = MovieLensRow(buf: buf, fields: fields)
                    switch format {
                    case .ratings100k, .ratings1m:
                        result.batch.events.append(try row.rating())
                    case .items100k, .movies1m:
                        let item = format == .items100k ? try row.item100k() : try row.movie1m()
                        try checkNew(item.id, "item", &firstLine, line: lines.line)
                        do throws(CascadeError) { try item.validate() } catch { throw RowError(reason(error)) }
                        result.batch.items.append(item)
                    case .users100k, .users1m:
                        let user = format == .users100k ? try row.user100k() : try row.user1m()
                        try checkNew(user.id, "user", &firstLine, line: lines.line)
                        do throws(CascadeError) { try user.validate() } catch { throw RowError(reason(error)) }
                        result.batch.users.append(user)
                    }
                } catch {
                    result.badRows.append(BadRow(file: file, line: lines.line, reason: error.reason))
                }
            }
        }
        if rows == 0 { throw CascadeError.badInput(file: file, line: 0, reason: "file is empty") }
        return result
    }

    private static func checkNew(_ id: String, _ noun: String, _ firstLine: inout [String: Int], line: Int) throws(RowError) {
        if let first = firstLine[id] { throw RowError("duplicate \(noun) id '\(id)' (first seen on line \(first))") }
        firstLine[id] = line
    }
}

/// The fields of one MovieLens line.
private struct MovieLensRow {
    let buf: UnsafeBufferPointer<UInt8>
    let fields: [Range<Int>]

    func text(_ i: Int) -> String { Bytes.latin1(buf, Bytes.trimmed(buf, fields[i])) }

    func required(_ i: Int, _ what: String) throws(RowError) -> String {
        let s = text(i)
        if s.isEmpty { throw RowError("missing \(what) (field \(i + 1))") }
        return Identifier.canonical(s)
    }

    func number(_ i: Int, _ what: String) throws(RowError) -> Double {
        guard let v = Bytes.double(buf, fields[i]) else { throw RowError("unparseable \(what) '\(Bytes.display(buf, fields[i]))' (field \(i + 1))") }
        guard v.isFinite else { throw RowError("non-finite \(what) '\(Bytes.display(buf, fields[i]))' (field \(i + 1))") }
        return v
    }

    func rating() throws(RowError) -> Event {
        let user = try required(0, "user id"), item = try required(1, "item id")
        let value = try number(2, "rating")
        guard !Bytes.isBlank(buf, fields[3]) else { throw RowError("missing timestamp (field 4)") }
        guard let ts = TimestampParser.parse(buf, fields[3]) else {
            throw RowError("unparseable timestamp '\(Bytes.display(buf, fields[3]))' (expected unix seconds)")
        }
        let e = Event(user: user, item: item, type: .click, timestamp: ts, value: value)
        do { try e.validate() } catch { throw RowError(reason(error)) }
        return e
    }

    func item100k() throws(RowError) -> Item {
        var item = Item(id: try required(0, "item id"))
        let title = text(1)
        if !title.isEmpty { item.categorical["title"] = title }
        let released = text(2)
        if !released.isEmpty {
            guard let t = Self.releaseDate(released) else { throw RowError("unparseable release date '\(released)' (expected DD-Mon-YYYY)") }
            item.publishedAt = t
        }
        let url = text(4)
        if !url.isEmpty { item.categorical["imdb_url"] = url }
        for (g, name) in MovieLensFile.genres100k.enumerated() {
            switch text(5 + g) {
            case "1": item.categories.append(name)
            case "0", "": break
            case let flag: throw RowError("genre flag '\(flag)' for \(name) (field \(6 + g)) is not 0 or 1")
            }
        }
        return item
    }

    func movie1m() throws(RowError) -> Item {
        var item = Item(id: try required(0, "movie id"))
        let title = text(1)
        if !title.isEmpty {
            item.categorical["title"] = title
            if let year = Self.yearInTitle(title) { item.numeric["year"] = Double(year) }
        }
        item.categories = text(2).split(separator: "|").map { String($0) }.filter { $0 != "(no genres listed)" }
        return item
    }

    func user100k() throws(RowError) -> User {
        var user = User(id: try required(0, "user id"))
        if !Bytes.isBlank(buf, fields[1]) { user.numeric["age"] = try number(1, "age") }
        for (i, key) in [(2, "gender"), (3, "occupation"), (4, "zip")] {
            let v = text(i)
            if !v.isEmpty { user.categorical[key] = v }
        }
        return user
    }

    func user1m() throws(RowError) -> User {
        var user = User(id: try required(0, "user id"))
        let gender = text(1)
        if !gender.isEmpty { user.categorical["gender"] = gender }
        if !Bytes.isBlank(buf, fields[2]) { user.numeric["age"] = try number(2, "age") }
        let occupation = text(3)
        if let code = Int(occupation), MovieLensFile.occupations1m.indices.contains(code) {
            user.categorical["occupation"] = MovieLensFile.occupations1m[code]
        } else if !occupation.isEmpty {
            user.categorical["occupation"] = occupation
        }
        let zip = text(4)
        if !zip.isEmpty { user.categorical["zip"] = zip }
        return user
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Seconds since 1970 of a `DD-Mon-YYYY` date (UTC midnight).
    static func releaseDate(_ s: String) -> Double? {
        let parts = s.split(separator: "-")
        guard parts.count == 3, let day = Int(parts[0]), let year = Int(parts[2]),
              let m = months.firstIndex(of: parts[1].lowercased()),
              day >= 1, day <= TimestampParser.daysInMonth(year, m + 1) else { return nil }
        return Double(TimestampParser.daysFromCivil(year, m + 1, day) * 86_400)
    }

    /// The year of a title ending in `(YYYY)`.
    static func yearInTitle(_ title: String) -> Int? {
        let t = title.trimmingCharacters(in: .whitespaces)
        guard t.hasSuffix(")"), let open = t.lastIndex(of: "(") else { return nil }
        let inner = t[t.index(after: open)..<t.index(before: t.endIndex)]
        guard inner.count == 4, let y = Int(inner) else { return nil }
        return y
    }
}
