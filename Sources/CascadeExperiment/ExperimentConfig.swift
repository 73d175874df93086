import CascadeCore
import Foundation

/// Layered A/B experiments, as a JSON document.
///
/// ```json
/// {
///   "buckets": 1000,
///   "holdout": { "fraction": 0.05 },
///   "layers": [
///     { "name": "recall",
///       "experiments": [
///         { "name": "itemcf-quota", "kind": "ab", "status": "running",
///           "arms": [ { "name": "control", "buckets": "0-99",   "overrides": {} },
///                     { "name": "more",    "buckets": "100-199", "overrides": { "quota.itemcf": 600 } } ] } ] },
///     { "name": "rerank",
///       "experiments": [
///         { "name": "dpp", "kind": "reverse",
///           "arms": [ { "name": "old", "buckets": "0-49" },
///                     { "name": "dpp", "overrides": { "rerank.mode": "dpp" } } ] } ] }
///   ]
/// }
/// ```
///
/// The method follows seed 004 (A/B测试: 随机分桶, 分层实验, Holdout机制, 实验推全 & 反转实验) and
/// Kohavi, Tang and Xu, "Trustworthy Online Controlled Experiments" (2020); layers follow Tang et
/// al. 2010, "Overlapping Experiment Infrastructure" (Google):
///
/// - Every layer hashes users into `buckets` buckets (default 1000) with its own name as the salt
///   (see ``BucketHash``), so the arms a user gets in two layers are independent. Inside a layer
///   the bucket ranges of the experiments' arms may not overlap: a user is in at most one
///   experiment of a layer. Two layers may not override the same key: each parameter belongs to
///   one layer, which is what keeps layers from interfering.
/// - The global holdout (optional) is a layer of its own, hashed with its own salt (default
///   `"holdout"`): users in its buckets get the default parameters everywhere and are in no
///   experiment. Comparing them with everyone else measures all the launched work together.
/// - Kinds: `ab` (two or more arms, the first is the control, every arm names its buckets);
///   `launch` (推全: one arm, applied to every bucket of the layer no other experiment holds when
///   it names no buckets); `reverse` (反转实验: after a launch, the first arm keeps a small range of
///   buckets on the old treatment while the other arm, usually with no buckets named, carries the
///   launched treatment to the rest of the layer, so the long-term effect stays measurable).
///   At most one arm in a layer may leave its buckets out ("the rest of the layer").
/// - A `stopped` experiment assigns nobody (its users get the defaults) but keeps its buckets, so
///   a report over the period it ran still finds its users and nobody reuses the buckets by
///   accident.
///
/// Override values may be written as JSON strings, numbers or booleans; they are kept as strings
/// and interpreted by whoever applies them (``Assignment/overrides``).
public struct ExperimentConfig: Sendable, Equatable, Codable {
    /// Buckets per layer (the holdout layer included).
    public let buckets: Int
    public let holdout: Holdout?
    public let layers: [Layer]
    /// A short, stable fingerprint of the config: 8 hex digits of ``BucketHash`` over its
    /// key-sorted JSON. ``Assignment/tag`` carries it, so a logged tag names the config it came from.
    public private(set) var fingerprint = ""

    public static let defaultBuckets = 1000

    public init(buckets: Int = ExperimentConfig.defaultBuckets, holdout: Holdout? = nil, layers: [Layer]) {
        self.buckets = buckets
        self.holdout = holdout
        self.layers = layers
        fingerprint = computeFingerprint()
    }

    enum CodingKeys: String, CodingKey { case buckets, holdout, layers }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        buckets = try c.decodeIfPresent(Int.self, forKey: .buckets) ?? Self.defaultBuckets
        holdout = try c.decodeIfPresent(Holdout.self, forKey: .holdout)
        layers = try c.decodeIfPresent([Layer].self, forKey: .layers) ?? []
        fingerprint = computeFingerprint()
    }

    /// The global holdout: a share of users that gets the default parameters everywhere.
    public struct Holdout: Sendable, Equatable, Codable {
        /// The salt of the holdout layer's hash (default `"holdout"`); must differ from every layer name.
        public var salt: String
        /// Share of users held out, in [0, 1); used when `buckets` is empty.
        public var fraction: Double?
        /// Bucket ranges of the holdout layer.
        public var buckets: [BucketRange]

        public init(fraction: Double, salt: String = "holdout") {
            self.salt = salt
            self.fraction = fraction
            buckets = []
        }

        public init(buckets: [BucketRange], salt: String = "holdout") {
            self.salt = salt
            self.fraction = nil
            self.buckets = buckets
        }

        enum CodingKeys: String, CodingKey { case salt, fraction, buckets }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            salt = try c.decodeIfPresent(String.self, forKey: .salt) ?? "holdout"
            fraction = try c.decodeIfPresent(Double.self, forKey: .fraction)
            buckets = try c.decodeIfPresent(BucketRanges.self, forKey: .buckets)?.ranges ?? []
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(salt, forKey: .salt)
            try c.encodeIfPresent(fraction, forKey: .fraction)
            if !buckets.isEmpty { try c.encode(buckets, forKey: .buckets) }
        }

        /// The held-out buckets out of `total`: the named ranges, or the first `fraction * total`.
        public func ranges(total: Int) -> [BucketRange] {
            if !buckets.isEmpty { return buckets }
            let n = Int((max(0, fraction ?? 0) * Double(total)).rounded())
            return n > 0 ? [BucketRange(0, n - 1)] : []
        }
    }

    public struct Layer: Sendable, Equatable, Codable {
        public var name: String
        public var experiments: [Experiment]
        public init(name: String, experiments: [Experiment]) {
            self.name = name
            self.experiments = experiments
        }
    }

    public struct Experiment: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable, CaseIterable { case ab, launch, reverse }
        public enum Status: String, Sendable, Codable, CaseIterable { case running, stopped }
        public var name: String
        public var kind: Kind
        public var arms: [Arm]
        public var status: Status

        public init(name: String, kind: Kind = .ab, arms: [Arm], status: Status = .running) {
            self.name = name
            self.kind = kind
            self.arms = arms
            self.status = status
        }

        enum CodingKeys: String, CodingKey { case name, kind, arms, status }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .ab
            arms = try c.decode([Arm].self, forKey: .arms)
            status = try c.decodeIfPresent(Status.self, forKey: .status) ?? .running
        }
    }

    public struct Arm: Sendable, Equatable, Codable {
        public var name: String
        /// The arm's bucket ranges; nil means "every bucket of the layer no other arm holds"
        /// (allowed for `launch` and `reverse` experiments only).
        public var buckets: [BucketRange]?
        /// Parameter key -> value, as strings.
        public var overrides: [String: String]

        public init(name: String, buckets: [BucketRange]?, overrides: [String: String] = [:]) {
            self.name = name
            self.buckets = buckets
            self.overrides = overrides
        }

        enum CodingKeys: String, CodingKey { case name, buckets, overrides }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            buckets = try c.decodeIfPresent(BucketRanges.self, forKey: .buckets)?.ranges
            overrides = try c.decodeIfPresent([String: ScalarString].self, forKey: .overrides)?.mapValues(\.value) ?? [:]
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encodeIfPresent(buckets, forKey: .buckets)
            try c.encode(overrides, forKey: .overrides)
        }
    }

    /// Parses a config from JSON and validates it (see ``validate(allowedKeys:)``).
    /// - Throws: ``CascadeError/badInput(file:line:reason:)`` for malformed JSON (with the JSON
    ///   path of the bad field), ``CascadeError/invalid(_:)`` listing every validation problem.
    public static func decode(_ data: Data, source: String = "experiment config", allowedKeys: [String]? = nil) throws -> ExperimentConfig {
        let config: ExperimentConfig
        do {
            config = try JSONDecoder().decode(ExperimentConfig.self, from: data)
        } catch let e as DecodingError {
            throw CascadeError.badInput(file: source, line: 0, reason: Self.describe(e))
        }
        try config.validate(allowedKeys: allowedKeys, source: source)
        return config
    }

    /// Reads and validates the config at `path`.
    public static func load(path: String, allowedKeys: [String]? = nil) throws -> ExperimentConfig {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CascadeError.notFound("cannot read experiment config \(path): \(error.localizedDescription)")
        }
        return try decode(data, source: path, allowedKeys: allowedKeys)
    }

    /// The config as pretty, key-sorted JSON.
    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }

    private func computeFingerprint() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let json = (try? e.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let hex = String(BucketHash.hash(json, salt: "config") >> 32, radix: 16)
        return String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String {
            p.isEmpty ? "top level" : p.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch e {
        case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])): required field is missing"
        case .typeMismatch(_, let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        case .valueNotFound(_, let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        case .dataCorrupted(let c): return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}

/// An inclusive range of buckets, written `"lo-hi"` (or `"n"` for one bucket) in JSON.
public struct BucketRange: Sendable, Hashable, Codable, CustomStringConvertible {
    public var lo: Int
    public var hi: Int
    public init(_ lo: Int, _ hi: Int) {
        self.lo = lo
        self.hi = hi
    }

    /// Parses `"lo-hi"` or `"n"`; nil when malformed.
    public init?(parsing s: String) {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 1 || parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[parts.count - 1]) else { return nil }
        self.init(lo, hi)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let r = BucketRange(parsing: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "bucket range '\(s)' is not 'lo-hi' or 'n' (non-negative integers)")
        }
        self = r
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public var description: String { lo == hi ? "\(lo)" : "\(lo)-\(hi)" }
    public var count: Int { max(0, hi - lo + 1) }
    public func contains(_ b: Int) -> Bool { b >= lo && b <= hi }
    public func overlaps(_ o: BucketRange) -> Bool { lo <= o.hi && o.lo <= hi }
}

/// Bucket ranges written as one string or an array of strings.
struct BucketRanges: Decodable {
    var ranges: [BucketRange]
    init(from decoder: any Decoder) throws {
        if let c = try? decoder.singleValueContainer(), (try? c.decode(String.self)) != nil {
            ranges = [try BucketRange(from: decoder)]
        } else {
            ranges = try [BucketRange](from: decoder)
        }
    }
}

/// A JSON string, number or boolean, kept as its string form.
struct ScalarString: Decodable {
    var value: String
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            value = s
        } else if let i = try? c.decode(Int.self) {
            value = String(i)
        } else if let d = try? c.decode(Double.self) {
            value = String(d)
        } else if let b = try? c.decode(Bool.self) {
            value = String(b)
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "an override value must be a string, number or boolean")
        }
    }
}
