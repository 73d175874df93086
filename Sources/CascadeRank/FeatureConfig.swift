import Foundation

/// The declared features of a ranking model, read from a JSON file so that training, offline
/// evaluation and serving compute them identically:
///
/// ```json
/// { "label": "label",
///   "features": [
///     { "name": "user", "kind": "categorical", "minCount": 2 },
///     { "name": "zip", "kind": "hashed", "buckets": 2000 },
///     { "name": "genres", "kind": "bag", "separator": "|" },
///     { "name": "year", "kind": "numeric", "transform": "standardize", "default": 1990 },
///     { "name": "age_bucket", "source": "age", "kind": "buckets", "buckets": 8 },
///     { "name": "hour", "source": "timestamp", "kind": "categorical", "derive": "hour" },
///     { "name": "hist_item", "kind": "sequence", "source": "item", "user": "user", "time": "timestamp",
///       "length": 50, "side": "genres" } ] }
/// ```
///
/// Kinds: `categorical` (vocabulary fitted on training rows, values seen fewer than `minCount`
/// times share the out-of-vocabulary id), `hashed` (no vocabulary: a fixed hash into `buckets`),
/// `bag` (a multi-valued field such as tags or genres, split on `separator`, each value through a
/// vocabulary, pooled by the model), `numeric` (a dense input after `transform`: `none`, `log1p`,
/// `standardize`, `log1p-standardize`), `buckets` (a numeric value cut at training-set quantiles into
/// `buckets` ids). `derive` computes a scene feature from a Unix-seconds `source`: `hour` (0-23 UTC)
/// or `weekday` (0 = Monday). `default` is used when a value is missing or unparseable; each use
/// is counted. `side` (optional: `user`, `item`, `context` or `rank`, default `context`) says whose
/// attribute the feature is; the pre-rank three-tower model splits its towers by it.
///
/// `sequence` is a user's behaviour sequence: for each row, the `source` values (e.g. items) of the
/// last `length` distinct rows of the same `user` strictly before the row's `time` (Unix seconds),
/// most recent first, with the time gap to each. Ids use the vocabulary of the categorical feature
/// reading `source` (so a history item and the candidate item share one embedding row); `sideColumn`
/// optionally names a column read by a categorical or bag feature (first value of a bag) whose
/// value per history row forms a side sequence (e.g. the category of each item). Sequences are not
/// embedded fields: sequence models (DIN, SIM) read them from `EncodedBatch.histories`.
public struct FeatureConfig: Codable, Sendable, Equatable {
    public var label: String?
    public var features: [FeatureSpec]

    public init(label: String? = "label", features: [FeatureSpec]) {
        self.label = label
        self.features = features
    }

    /// Parses and validates a JSON config: unknown kinds, transforms or derivations, duplicate
    /// names and missing parameters are rejected with a message naming the feature.
    public static func decode(_ data: Data, file: String = "config") throws -> FeatureConfig {
        let config: FeatureConfig
        do { config = try JSONDecoder().decode(FeatureConfig.self, from: data) } catch {
            throw RankError.config("\(file): \(Self.describe(error))")
        }
        try config.validate(file: file)
        return config
    }

    public static func load(_ path: String) throws -> FeatureConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw RankError.config("\(path): cannot read the file") }
        return try decode(data, file: path)
    }

    public func validate(file: String = "config") throws {
        guard !features.isEmpty else { throw RankError.config("\(file): no features declared") }
        var seen = Set<String>()
        for f in features {
            guard seen.insert(f.name).inserted else { throw RankError.config("\(file): feature '\(f.name)' declared twice") }
            if f.kind == .hashed, (f.buckets ?? 0) < 1 {
                throw RankError.config("\(file): hashed feature '\(f.name)' needs \"buckets\" >= 1")
            }
            if f.kind == .buckets, (f.buckets ?? 0) < 2 {
                throw RankError.config("\(file): bucketed feature '\(f.name)' needs \"buckets\" >= 2")
            }
            if f.derive != nil, f.kind != .categorical, f.kind != .numeric {
                throw RankError.config("\(file): feature '\(f.name)': \"derive\" needs kind categorical or numeric")
            }
            if f.kind == .sequence { try validateSequence(f, file: file) }
            if f.kind == .numeric, let d = f.defaultValue, Double(d) == nil {
                throw RankError.config("\(file): numeric feature '\(f.name)' has a non-numeric default '\(d)'")
            }
        }
    }

    func validateSequence(_ f: FeatureSpec, file: String) throws {
        let prefix = "\(file): sequence feature '\(f.name)'"
        guard f.user != nil, f.time != nil else { throw RankError.config("\(prefix) needs \"user\" and \"time\" columns") }
        guard (f.length ?? 0) >= 1 else { throw RankError.config("\(prefix) needs \"length\" >= 1") }
        guard f.source != nil, itemFeature(forSequence: f) != nil else {
            throw RankError.config("\(prefix): \"source\" must name a column read by a categorical feature without \"derive\" (its vocabulary is shared)")
        }
        if f.sideColumn != nil, sideFeature(forSequence: f) == nil {
            throw RankError.config("\(prefix): \"side\" must name a column read by a categorical (no \"derive\") or bag feature")
        }
    }

    /// The categorical feature whose vocabulary a sequence feature's ids use.
    func itemFeature(forSequence f: FeatureSpec) -> FeatureSpec? {
        features.first { $0.kind == .categorical && $0.derive == nil && $0.column == f.column }
    }

    /// The categorical or bag feature whose vocabulary a sequence's side ids use.
    func sideFeature(forSequence f: FeatureSpec) -> FeatureSpec? {
        guard let side = f.sideColumn else { return nil }
        return features.first { ($0.kind == .categorical && $0.derive == nil || $0.kind == .bag) && $0.column == side }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return "invalid JSON at \(path(c.codingPath)): \(c.debugDescription)"
        case DecodingError.keyNotFound(let k, let c): return "missing \"\(k.stringValue)\" at \(path(c.codingPath))"
        case DecodingError.typeMismatch(_, let c): return "wrong type at \(path(c.codingPath)): \(c.debugDescription)"
        case DecodingError.valueNotFound(_, let c): return "missing value at \(path(c.codingPath))"
        default: return "\(error)"
        }
    }

    static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

/// One declared feature. See ``FeatureConfig``.
public struct FeatureSpec: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case categorical, hashed, bag, numeric, buckets, sequence }
    public enum Transform: String, Codable, Sendable { case none, log1p, standardize, log1pStandardize = "log1p-standardize" }
    public enum Derivation: String, Codable, Sendable { case hour, weekday }
    /// Whose attribute a feature is: the user's (constant within a request), the item's
    /// (cacheable per item) or the context's (request x candidate: statistics, crosses, scene);
    /// `rank`: read by the ranker only, left out by the three-tower pre-ranker (request-time
    /// statistics that would cost a store read for every pre-ranked candidate).
    public enum Side: String, Codable, Sendable { case user, item, context, rank }

    public var name: String
    /// Column read; defaults to `name`.
    public var source: String?
    public var kind: Kind
    public var minCount: Int?
    public var buckets: Int?
    public var separator: String?
    public var transform: Transform?
    public var derive: Derivation?
    /// Value used when the input is missing; numeric features default to 0, others to the
    /// out-of-vocabulary id.
    public var defaultValue: String?
    /// Whose attribute this is; nil means `context`.
    public var side: Side?
    /// Sequence features: the user column grouping the history.
    public var user: String?
    /// Sequence features: the Unix-seconds time column ordering the history.
    public var time: String?
    /// Sequence features: number of most recent distinct values kept.
    public var length: Int?
    /// Sequence features: optional side column (e.g. genres) giving a side id per history step.
    public var sideColumn: String?

    enum CodingKeys: String, CodingKey {
        case name, source, kind, minCount, buckets, separator, transform, derive
        case defaultValue = "default"
        case side, user, time, length, sideColumn
    }

    /// A behaviour-sequence feature (see ``FeatureConfig``).
    public static func sequence(name: String, source: String, user: String, time: String, length: Int,
                                side: String? = nil) -> FeatureSpec {
        var f = FeatureSpec(name: name, source: source, kind: .sequence)
        f.user = user
        f.time = time
        f.length = length
        f.sideColumn = side
        return f
    }

    public init(name: String, source: String? = nil, kind: Kind, minCount: Int? = nil, buckets: Int? = nil,
                separator: String? = nil, transform: Transform? = nil, derive: Derivation? = nil, defaultValue: String? = nil,
                side: Side? = nil) {
        self.name = name
        self.source = source
        self.kind = kind
        self.minCount = minCount
        self.buckets = buckets
        self.separator = separator
        self.transform = transform
        self.derive = derive
        self.defaultValue = defaultValue
        self.side = side
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        kind = try c.decode(Kind.self, forKey: .kind)
        minCount = try c.decodeIfPresent(Int.self, forKey: .minCount)
        buckets = try c.decodeIfPresent(Int.self, forKey: .buckets)
        separator = try c.decodeIfPresent(String.self, forKey: .separator)
        transform = try c.decodeIfPresent(Transform.self, forKey: .transform)
        derive = try c.decodeIfPresent(Derivation.self, forKey: .derive)
        // A default may be written as a number or a string.
        if let s = try? c.decodeIfPresent(String.self, forKey: .defaultValue) { defaultValue = s }
        else if let d = try c.decodeIfPresent(Double.self, forKey: .defaultValue) { defaultValue = String(d) }
        else { defaultValue = nil }
        side = try c.decodeIfPresent(Side.self, forKey: .side)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        time = try c.decodeIfPresent(String.self, forKey: .time)
        length = try c.decodeIfPresent(Int.self, forKey: .length)
        sideColumn = try c.decodeIfPresent(String.self, forKey: .sideColumn)
    }

    /// The column this feature reads.
    public var column: String { source ?? name }

    /// The declared side, `context` when not given.
    public var resolvedSide: Side { side ?? .context }
}

/// Errors of the ranking stage: bad configs, unknown models or features, bad training data.
public enum RankError: Error, CustomStringConvertible, Equatable {
    case config(String)
    case data(String)
    case model(String)

    public var description: String {
        switch self {
        case .config(let m): return "feature config: \(m)"
        case .data(let m): return "ranking data: \(m)"
        case .model(let m): return "ranking model: \(m)"
        }
    }
}
