import CascadeCore

/// How a column that is not one of the mapped fields becomes an attribute.
public enum AttributeKind: Sendable, Equatable {
    /// `numeric[name]`; the value must be a finite number.
    case numeric
    /// `categorical[name]`, the text as it is.
    case categorical
    /// Appended to the record's `tags`, split on `separator` (a JSON array is taken as is).
    case tags(separator: String)
    /// Read and dropped. The only choice for extra columns of an events file.
    case ignore
}

/// What happens to columns that are neither mapped fields nor declared in
/// ``ColumnMapping/attributes``.
public enum OtherColumns: Sendable, Equatable {
    /// They are an error that names them and lists the accepted columns (the default).
    case reject
    /// Users and items only: each becomes an attribute, numeric when every non-empty value
    /// in the file is a finite number, categorical otherwise. (A JSON array becomes tags.)
    case attributes
}

/// Which column (CSV header name, or JSON key) holds which field, for one kind of record.
///
/// Column names match case-insensitively. Set an optional field to nil to read no column
/// for it. Defaults (see ``init(kind:)``):
///
/// | kind | required | optional |
/// | --- | --- | --- |
/// | events | `user`, `item`, `timestamp` | `type` (missing means `click`), `value`, `scene` |
/// | users | `id` | `tags`, `lat`, `lon` |
/// | items | `id` | `categories`, `tags`, `author`, `published`, `lat`, `lon`, `hidden` |
///
/// Lists (`categories`, `tags`) are split on `|` in CSV; in JSON they may also be arrays.
/// Empty values mean "absent". `published` takes the same timestamp forms as events
/// (see ``TimestampParser``); `hidden` takes true/false, yes/no or 1/0.
///
/// Any other column is an error unless it is declared in ``attributes`` or
/// ``otherColumns`` is ``OtherColumns/attributes``. Events have no attributes, so an
/// events file accepts extra columns only when they are declared ``AttributeKind/ignore``.
public struct ColumnMapping: Sendable, Equatable {
    public var kind: RecordKind

    // Events.
    public var user: String
    public var item: String
    public var timestamp: String
    public var type: String?
    public var value: String?
    public var scene: String?
    /// The type of events whose row has no type.
    public var defaultType: EventType
    /// How numeric timestamps are read (events).
    public var timestampUnit: TimestampParser.Unit = .auto

    // Users and items.
    public var id: String
    public var tags: String?
    public var tagSeparator: String
    public var latitude: String?
    public var longitude: String?

    // Items.
    public var categories: String?
    public var categorySeparator: String
    public var author: String?
    public var published: String?
    public var hidden: String?

    /// Extra columns declared explicitly, by column name.
    public var attributes: [String: AttributeKind]
    public var otherColumns: OtherColumns

    public init(kind: RecordKind) {
        self.kind = kind
        user = "user"; item = "item"; timestamp = "timestamp"
        type = "type"; value = "value"; scene = "scene"
        defaultType = .click
        id = "id"; tags = "tags"; tagSeparator = "|"
        latitude = "lat"; longitude = "lon"
        categories = "categories"; categorySeparator = "|"
        author = "author"; published = "published"; hidden = "hidden"
        attributes = [:]
        otherColumns = .reject
    }

    /// The default mapping for events: `user,item,timestamp[,type][,value][,scene]`.
    public static var events: ColumnMapping { ColumnMapping(kind: .events) }
    /// The default mapping for users: `id[,tags][,lat,lon]`.
    public static var users: ColumnMapping { ColumnMapping(kind: .users) }
    /// The default mapping for items: `id[,categories][,tags][,author][,published][,lat,lon][,hidden]`.
    public static var items: ColumnMapping { ColumnMapping(kind: .items) }

    /// A copy that keeps every other column as an attribute (users and items).
    public func keepingOtherColumns() -> ColumnMapping {
        var m = self
        m.otherColumns = .attributes
        return m
    }

    /// The fields this kind reads, with the column each is read from.
    var fields: [(field: Field, column: String)] {
        var out: [(Field, String?)]
        switch kind {
        case .events:
            out = [(.user, user), (.item, item), (.timestamp, timestamp), (.type, type), (.value, value), (.scene, scene)]
        case .users:
            out = [(.id, id), (.tags, tags), (.latitude, latitude), (.longitude, longitude)]
        case .items:
            out = [(.id, id), (.categories, categories), (.tags, tags), (.author, author), (.published, published),
                   (.latitude, latitude), (.longitude, longitude), (.hidden, hidden)]
        }
        return out.compactMap { f, c in c.map { (f, $0) } }
    }

    /// The accepted column names, mapped fields first, for error messages.
    var acceptedColumns: [String] {
        fields.map(\.column) + attributes.keys.sorted()
    }

    /// Checks the mapping itself; the message names the field at fault.
    func validate() throws(CascadeError) {
        var seen: [String: String] = [:]
        for (f, c) in fields {
            if c.isEmpty { throw .invalid("column mapping for \(kind): field \(f) has an empty column name") }
            if let other = seen[c.lowercased()] {
                throw .invalid("column mapping for \(kind): column '\(c)' is mapped to both \(other) and \(f)")
            }
            seen[c.lowercased()] = "\(f)"
        }
        if kind == .events {
            if otherColumns == .attributes {
                throw .invalid("column mapping for events: events have no attributes; declare extra columns as .ignore instead")
            }
            if let bad = attributes.first(where: { $0.value != .ignore }) {
                throw .invalid("column mapping for events: column '\(bad.key)' is declared as \(bad.value); events have no attributes, only .ignore is allowed")
            }
        }
        if tagSeparator.isEmpty || categorySeparator.isEmpty {
            throw .invalid("column mapping for \(kind): list separators must not be empty")
        }
        for (name, kind) in attributes {
            if case .tags(let s) = kind, s.isEmpty { throw .invalid("column mapping: attribute '\(name)' has an empty tag separator") }
        }
    }

    /// The fields a mapping can name.
    enum Field: String, CustomStringConvertible {
        case user, item, timestamp, type, value, scene
        case id, tags, latitude, longitude, categories, author, published, hidden
        var description: String { rawValue }
    }
}
