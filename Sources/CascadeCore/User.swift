import Foundation

/// A user as the application describes them. `id` is the application's own string id.
public struct User: Sendable, Hashable, Codable {
    public var id: String
    /// Categorical attributes such as `gender`, `age_band`, `platform`, `city`.
    public var categorical: [String: String]
    /// Numeric attributes such as `age`.
    public var numeric: [String: Double]
    /// Free-form tags (declared interests, segments).
    public var tags: [String]
    public var location: GeoPoint?

    public init(id: String, categorical: [String: String] = [:], numeric: [String: Double] = [:],
                tags: [String] = [], location: GeoPoint? = nil) {
        self.id = id
        self.categorical = categorical
        self.numeric = numeric
        self.tags = tags
        self.location = location
    }

    /// Checks the fields a store relies on; the message names the field and why.
    public func validate() throws(CascadeError) {
        try validateId(id, kind: "user")
        if let l = location, !l.isValid { throw .invalid("user \(id): location \(l.latitude),\(l.longitude) is outside [-90,90]x[-180,180]") }
        for (k, v) in numeric where !v.isFinite { throw .invalid("user \(id): numeric attribute '\(k)' is not finite (\(v))") }
    }
}

/// An item (a video, note, product...) as the application describes it.
public struct Item: Sendable, Hashable, Codable {
    public var id: String
    /// Category path, coarse to fine, e.g. `["sports", "football"]`.
    public var categories: [String]
    public var tags: [String]
    public var author: String?
    public var location: GeoPoint?
    /// Publish time in seconds since 1970-01-01 UTC.
    public var publishedAt: Double?
    public var numeric: [String: Double]
    public var categorical: [String: String]
    /// Hidden items are kept (their history still trains models) but never recommended.
    public var hidden: Bool

    public init(id: String, categories: [String] = [], tags: [String] = [], author: String? = nil,
                location: GeoPoint? = nil, publishedAt: Double? = nil, numeric: [String: Double] = [:],
                categorical: [String: String] = [:], hidden: Bool = false) {
        self.id = id
        self.categories = categories
        self.tags = tags
        self.author = author
        self.location = location
        self.publishedAt = publishedAt
        self.numeric = numeric
        self.categorical = categorical
        self.hidden = hidden
    }

    /// Checks the fields a store relies on at wall-clock time `now` (see ``FieldRanges``).
    public func validate(now: Double = Date().timeIntervalSince1970) throws(CascadeError) {
        try validateId(id, kind: "item")
        if let l = location, !l.isValid { throw .invalid("item \(id): location \(l.latitude),\(l.longitude) is outside [-90,90]x[-180,180]") }
        if let p = publishedAt, let why = FieldRanges.timestampProblem(p, now: now) { throw .invalid("item \(id): publish time: \(why)") }
        for (k, v) in numeric where !v.isFinite { throw .invalid("item \(id): numeric attribute '\(k)' is not finite (\(v))") }
    }
}

/// Ids are non-empty, at most 256 UTF-8 bytes, with no control characters.
func validateId(_ id: String, kind: String) throws(CascadeError) {
    if id.isEmpty { throw .invalid("\(kind) id is empty") }
    if id.utf8.count > 256 { throw .invalid("\(kind) id '\(id.prefix(32))...' is longer than 256 bytes") }
    if id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
        throw .invalid("\(kind) id '\(id)' contains a control character")
    }
    if !Identifier.isCanonical(id) {
        throw .invalid("\(kind) id '\(id)' is not in canonical form (Unicode NFC without a byte-order mark; send '\(Identifier.canonical(id))')")
    }
}
