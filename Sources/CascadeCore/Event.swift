import Foundation

/// The kind of a feedback event, by name. The built-in kinds cover the seeds' feeds, shops and
/// video apps; applications may register their own in an ``EventTypeRegistry``.
public struct EventType: Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public init(from decoder: any Decoder) throws { name = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(name) }
    public var description: String { name }

    public static let impression: EventType = "impression"
    public static let click: EventType = "click"
    public static let like: EventType = "like"
    public static let favorite: EventType = "favorite"
    public static let share: EventType = "share"
    public static let comment: EventType = "comment"
    public static let followAuthor: EventType = "follow"
    public static let purchase: EventType = "purchase"
    public static let dislike: EventType = "dislike"
    /// `value` holds the seconds watched.
    public static let watch: EventType = "watch"
    public static let completion: EventType = "completion"
}

/// One piece of feedback: `user` did `type` to `item` at `timestamp` (seconds since 1970 UTC).
public struct Event: Sendable, Hashable, Codable {
    public var user: String
    public var item: String
    public var type: EventType
    public var timestamp: Double
    /// Optional magnitude: seconds watched, a rating, a price.
    public var value: Double?
    /// Optional scene or context (page, placement), free text.
    public var scene: String?
    /// The request id of the served page the event answers (the id the recommend API returned),
    /// when the client sends it back: labels join to the page that caused them by it.
    public var request: String?
    /// The item's 0-based slot on that page (top = 0), when known: an impression's position,
    /// which position-debiased training and counterfactual estimates read.
    public var position: Int?

    public init(user: String, item: String, type: EventType = .click, timestamp: Double,
                value: Double? = nil, scene: String? = nil, request: String? = nil, position: Int? = nil) {
        self.user = user
        self.item = item
        self.type = type
        self.timestamp = timestamp
        self.value = value
        self.scene = scene
        self.request = request
        self.position = position
    }

    /// Checks ids, type and every field against ``FieldRanges`` at wall-clock time `now`.
    public func validate(now: Double = Date().timeIntervalSince1970) throws(CascadeError) {
        try validateId(user, kind: "user")
        try validateId(item, kind: "item")
        if type.name.isEmpty { throw .invalid("event of user \(user) on item \(item): empty event type") }
        if let why = FieldRanges.timestampProblem(timestamp, now: now) { throw .invalid("event of user \(user) on item \(item): \(why)") }
        if let v = value, let why = FieldRanges.valueProblem(v) { throw .invalid("event of user \(user) on item \(item): \(why)") }
        if let s = scene {
            if s.utf8.count > 256 { throw .invalid("event of user \(user) on item \(item): scene '\(s.prefix(32))...' is longer than 256 bytes") }
            // Tabs and line breaks survive CSV quoting and every store; NUL and the other
            // control characters do not (PostgreSQL refuses NUL in text).
            if s.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r") || $0.value == 0x7F }) {
                throw .invalid("event of user \(user) on item \(item): scene contains a control character other than tab or line break")
            }
        }
        if let p = position, let why = FieldRanges.positionProblem(p) { throw .invalid("event of user \(user) on item \(item): \(why)") }
        if let r = request {
            do { try validateId(r, kind: "request") } catch {
                guard case .invalid(let why) = error else { throw error }
                throw .invalid("event of user \(user) on item \(item): \(why)")
            }
        }
    }
}

/// Maps event type names to compact codes and to the weight each type carries as a positive signal.
///
/// Codes of the built-in types are fixed (0-10); registered types get the next free code, at most
/// 255 types in all. A weight of 0 means "not a positive" (impressions); negative weights mark
/// negative feedback (dislike), which interaction matrices leave out and filters use.
public struct EventTypeRegistry: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var code: UInt8
        public var name: String
        public var weight: Float
        public init(code: UInt8, name: String, weight: Float) {
            self.code = code
            self.name = name
            self.weight = weight
        }
    }
    public private(set) var entries: [Entry]

    public static let builtins: [(EventType, Float)] = [
        (.impression, 0), (.click, 1), (.like, 2), (.favorite, 3), (.share, 3), (.comment, 2),
        (.followAuthor, 2), (.purchase, 4), (.dislike, -1), (.watch, 1), (.completion, 2),
    ]

    public init() {
        entries = Self.builtins.enumerated().map { Entry(code: UInt8($0.offset), name: $0.element.0.name, weight: $0.element.1) }
    }

    public init(entries: [Entry]) { self.entries = entries.sorted { $0.code < $1.code } }

    public func code(of type: EventType) -> UInt8? { entries.first { $0.name == type.name }?.code }
    public func entry(code: UInt8) -> Entry? { entries.first { $0.code == code } }
    public func name(of code: UInt8) -> String { entry(code: code)?.name ?? "type\(code)" }

    /// Per-code weights, indexed by code (absent codes weigh 0).
    public var weightsByCode: [Float] {
        var w = [Float](repeating: 0, count: 256)
        for e in entries { w[Int(e.code)] = e.weight }
        return w
    }

    /// Adds a type or changes the weight of an existing one; returns its code.
    @discardableResult
    public mutating func register(_ type: EventType, weight: Float) throws(CascadeError) -> UInt8 {
        guard !type.name.isEmpty, type.name.utf8.count <= 64 else { throw .invalid("event type name must be 1-64 bytes, got '\(type.name)'") }
        guard weight.isFinite else { throw .invalid("event type \(type.name): weight is not finite") }
        if let i = entries.firstIndex(where: { $0.name == type.name }) {
            entries[i].weight = weight
            return entries[i].code
        }
        let used = Set(entries.map(\.code))
        guard let free = (UInt8(0)...UInt8(255)).first(where: { !used.contains($0) }) else {
            throw .invalid("cannot register event type \(type.name): all 256 codes are in use")
        }
        entries.append(Entry(code: free, name: type.name, weight: weight))
        return free
    }
}
