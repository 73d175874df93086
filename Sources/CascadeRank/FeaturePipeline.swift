import CascadeCore
import CascadeTensor
import Foundation

/// Rows of raw feature values by column name (text as read from a CSV file or a request).
/// Missing columns and empty strings are "missing values".
public struct FeatureFrame: Sendable {
    public var rowCount: Int
    public var columns: [String: [String]]

    public init(rowCount: Int, columns: [String: [String]]) {
        self.rowCount = rowCount
        self.columns = columns
    }
}

/// Model inputs for a batch of rows, as the models consume them:
/// - `sparseIds` [rows, sparseFields]: one id per categorical/hashed/bucketed field, already
///   offset into one fused embedding table of `FeaturePipeline.tableRows` rows (each field owns a
///   contiguous id range, id 0 of that range being its out-of-vocabulary/missing id);
/// - `bags`: per multi-valued field, CSR ids (fused-table ids) and `offsets` (rows + 1);
/// - `dense` [rows, denseFields]: transformed numeric inputs;
/// - `histories`: per sequence feature, the fixed-length behaviour sequence of each row
///   (see ``History``); empty without sequence features;
/// - `positions`: per row, the slot the item was shown at (training rows from logged pages; read
///   by ``PositionBiasTower`` only, never a feature), nil when not known.
public struct EncodedBatch {
    public let rows: Int
    public let sparseIds: IndexTensor
    public let bags: [Bag]
    public let dense: Tensor
    public let labels: Tensor?
    public var histories: [History] = []
    public var positions: [Int32]?

    public struct Bag {
        public let ids: IndexTensor
        public let offsets: [Int]
    }

    /// Number of embedded fields (sparse fields plus bags): the field count of FM/DCN models.
    public var fieldCount: Int { sparseIds.shape.last + bags.count }

    /// One behaviour-sequence feature for a batch of B rows, N = the feature's `length`, most
    /// recent step first, padded at the end:
    /// - `ids` [B, N]: fused-table ids of the history items (padding: the item field's OOV id);
    /// - `mask` [B, N]: 1 for real steps, 0 for padding;
    /// - `timeBuckets` [B, N]: bucketized gap between the row's time and the step's time
    ///   (``timeBucket(gapSeconds:)``, 0 for padding), local ids in 0..<``timeBucketCount``;
    /// - `candidate` [B]: fused id of the row's own source value (the candidate item);
    /// - `side` [B, N] and `candidateSide` [B]: fused ids of the side column (e.g. category),
    ///   when the feature declares one.
    public struct History {
        public let name: String
        public let ids: IndexTensor
        public let mask: Tensor
        public let timeBuckets: IndexTensor
        public let candidate: IndexTensor
        public let side: IndexTensor?
        public let candidateSide: IndexTensor?

        public init(name: String, ids: IndexTensor, mask: Tensor, timeBuckets: IndexTensor, candidate: IndexTensor,
                    side: IndexTensor? = nil, candidateSide: IndexTensor? = nil) {
            self.name = name
            self.ids = ids
            self.mask = mask
            self.timeBuckets = timeBuckets
            self.candidate = candidate
            self.side = side
            self.candidateSide = candidateSide
        }

        /// Steps per row (N).
        public var length: Int { ids.shape.last }

        /// Number of time-gap buckets: 0 = padding, 1 + floor(log2(gap seconds)) capped at 31.
        public static let timeBucketCount = 32

        /// Bucket of a positive gap in seconds: 1 for gaps under 2 s, 1 + floor(log2 gap) above,
        /// at most `timeBucketCount - 1` (about 34 years).
        public static func timeBucket(gapSeconds gap: Double) -> Int32 {
            guard gap >= 2 else { return 1 }
            return Int32(Swift.min(timeBucketCount - 1, 1 + Int(Foundation.log2(gap))))
        }
    }
}

/// Fits vocabularies and numeric statistics on training rows, then encodes any rows with them.
/// The fitted state is plain data (`Codable`), stored with the model so serving encodes exactly
/// as training did. Missing values use the declared default and are counted per feature.
public final class FeaturePipeline: Codable, @unchecked Sendable {
    public let config: FeatureConfig
    /// Per feature: vocabulary (value -> local id >= 1), or nil for hashed/numeric.
    var vocabularies: [String: [String: Int32]] = [:]
    /// Per numeric feature: mean and standard deviation after the transform.
    var moments: [String: [Double]] = [:]
    /// Per bucketed feature: ascending cut points.
    var cuts: [String: [Double]] = [:]
    /// Id range start of each sparse/bag feature in the fused table.
    var bases: [String: Int32] = [:]
    public private(set) var tableRows = 0
    /// Missing-value counts per feature since the pipeline was created (not saved).
    private var missingCounts: [String: Int] = [:]
    private let lock = NSLock()

    enum CodingKeys: String, CodingKey { case config, vocabularies, moments, cuts, bases, tableRows }

    public var sparseFeatures: [FeatureSpec] { config.features.filter { [.categorical, .hashed, .buckets].contains($0.kind) } }
    public var bagFeatures: [FeatureSpec] { config.features.filter { $0.kind == .bag } }
    public var denseFeatures: [FeatureSpec] { config.features.filter { $0.kind == .numeric } }
    /// Behaviour-sequence features, in the order of `EncodedBatch.histories`.
    public var sequenceFeatures: [FeatureSpec] { config.features.filter { $0.kind == .sequence } }
    /// Embedded field count (sparse + bags).
    public var fieldCount: Int { sparseFeatures.count + bagFeatures.count }

    /// Fits on `frame`; every declared source column must be present (else an error naming the
    /// feature and the columns the frame has), so a config naming an unknown feature is rejected
    /// before training starts. O(rows x features), plus a sort per bucketed feature.
    ///
    /// `catalog` adds known values to categorical features' vocabularies (by feature name), every
    /// one regardless of `minCount`: e.g. every item id of the catalog, so that items published
    /// after the training rows get rows of their own that online updates can train (they start at
    /// their initial values, not at the shared unknown row's).
    public convenience init(config: FeatureConfig, fitOn frame: FeatureFrame, catalog: [String: [String]] = [:]) throws {
        var statistics = try FitStatistics(config: config, catalog: catalog)
        try statistics.add(frame)
        self.init(fitted: statistics)
    }

    /// The pipeline the statistics of every row describe (see ``FitStatistics``).
    init(fitted s: FitStatistics) {
        config = s.config
        var next: Int32 = 0
        for f in config.features {
            switch f.kind {
            case .categorical:
                var keep = Set(s.counts[f.name, default: [:]].filter { $0.value >= (f.minCount ?? 1) }.keys)
                for v in s.catalog[f.name] ?? [] where !v.isEmpty { keep.insert(v) }
                let kept = keep.sorted()
                vocabularies[f.name] = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($0.element, Int32($0.offset + 1)) })
                bases[f.name] = next
                next += Int32(kept.count + 1)
            case .bag:
                let kept = s.counts[f.name, default: [:]].filter { $0.value >= (f.minCount ?? 1) }.keys.sorted()
                vocabularies[f.name] = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($0.element, Int32($0.offset + 1)) })
                bases[f.name] = next
                next += Int32(kept.count + 1)
            case .hashed:
                bases[f.name] = next
                next += Int32(f.buckets! + 1)
            case .buckets:
                let values = (s.samples[f.name] ?? []).sorted()
                let b = f.buckets!
                var cut: [Double] = []
                if !values.isEmpty {
                    for q in 1..<b {
                        let c = values[Swift.min(values.count - 1, q * values.count / b)]
                        if cut.last != c { cut.append(c) }
                    }
                }
                cuts[f.name] = cut
                bases[f.name] = next
                next += Int32(cut.count + 2)
            case .numeric:
                let m = s.moments[f.name] ?? (0, 0, 0)
                let mean = m.n > 0 ? m.sum / m.n : 0
                let std = m.n > 1 ? Swift.max((m.squares / m.n - mean * mean).squareRoot(), 1e-9) : 1
                moments[f.name] = [mean, std]
            case .sequence:
                break  // shares the vocabulary of its source's categorical feature
            }
        }
        tableRows = Int(next)
    }

    /// Encodes `frame` (any rows: training, validation, serving). Unseen values map to their
    /// field's out-of-vocabulary id; missing values use the declared default (counted).
    /// `labelColumn` (default: the config's label) fills `labels` when present. O(rows x features).
    ///
    /// Sequence features read `history` (default: built from `frame` itself, which is right for
    /// training rows); each row sees the history rows of its user strictly before its time.
    public func encode(_ frame: FeatureFrame, history: InteractionHistory? = nil,
                       labels labelColumn: String? = nil) throws -> EncodedBatch {
        try encode(frame, history: history, label: labelColumn ?? config.label)
    }

    /// The model inputs of `frame` without labels (serving rows, or rows whose labels the
    /// caller reads itself).
    public func encodeInputs(_ frame: FeatureFrame, history: InteractionHistory? = nil) throws -> EncodedBatch {
        try encode(frame, history: history, label: nil)
    }

    /// `label`: the column read as labels (nil: none).
    private func encode(_ frame: FeatureFrame, history: InteractionHistory?, label: String?) throws -> EncodedBatch {
        let n = frame.rowCount
        let sparse = sparseFeatures, bagsSpec = bagFeatures, dense = denseFeatures
        let ids = IndexTensor(shape: Shape(n, sparse.count))
        let values = Tensor(shape: [n, dense.count])
        var missing: [String: Int] = [:]
        for (j, f) in sparse.enumerated() {
            let raw = frame.columns[f.column]
            let base = bases[f.name]!
            for r in 0..<n {
                var v = raw?[r] ?? ""
                if v.isEmpty, let d = f.defaultValue { v = d }
                if v.isEmpty { missing[f.name, default: 0] += 1 }
                ids.base[r * sparse.count + j] = base + localId(f, v)
            }
        }
        var bags: [EncodedBatch.Bag] = []
        for f in bagsSpec {
            let raw = frame.columns[f.column]
            let base = bases[f.name]!, vocab = vocabularies[f.name]!, sep = f.separator ?? "|"
            var flat: [Int32] = [], offsets: [Int] = [0]
            flat.reserveCapacity(n * 2)
            for r in 0..<n {
                var v = raw?[r] ?? ""
                if v.isEmpty, let d = f.defaultValue { v = d }
                if v.isEmpty { missing[f.name, default: 0] += 1 }
                var any = false
                for t in Self.tokens(v, separator: sep) {
                    flat.append(base + (vocab[t] ?? 0))
                    any = true
                }
                if !any { flat.append(base) }  // an empty bag pools the OOV row
                offsets.append(flat.count)
            }
            bags.append(EncodedBatch.Bag(ids: IndexTensor(flat), offsets: offsets))
        }
        for (j, f) in dense.enumerated() {
            let raw = frame.columns[f.column]
            let m = moments[f.name]!
            let standardize = f.transform == .standardize || f.transform == .log1pStandardize
            for r in 0..<n {
                var x = Self.numeric(f, raw?[r] ?? "")
                if x == nil {
                    missing[f.name, default: 0] += 1
                    x = Double(f.defaultValue ?? "") ?? (standardize ? nil : 0)
                }
                // A missing value without a default sits at the mean (0 after standardizing).
                let t = x.map { Self.transform(f, $0) } ?? m[0]
                values.base[r * dense.count + j] = Float(standardize ? (t - m[0]) / m[1] : t)
            }
        }
        var labels: Tensor?
        if let name = label, let col = frame.columns[name] {
            let l = Tensor(shape: [n, 1])
            for r in 0..<n {
                guard let y = Float(col[r]), y.isFinite else {
                    throw RankError.data("row \(r + 1): label '\(col[r])' in column '\(name)' is not a number")
                }
                l.base[r] = y
            }
            labels = l
        }
        if !missing.isEmpty {
            lock.lock()
            for (k, v) in missing { missingCounts[k, default: 0] += v }
            lock.unlock()
        }
        var histories: [EncodedBatch.History] = []
        let sequences = sequenceFeatures
        if !sequences.isEmpty {
            let log = try history ?? self.history(from: [frame])
            histories = sequences.map { encodeSequence($0, frame, log) }
        }
        return EncodedBatch(rows: n, sparseIds: ids, bags: bags, dense: values, labels: labels, histories: histories)
    }

    /// Missing-value counts per feature seen by `encode` (a serving metric).
    public var missingValueCounts: [String: Int] {
        lock.lock(); defer { lock.unlock() }
        return missingCounts
    }

    /// Vocabulary size (ids including the OOV id) of each embedded field, in field order.
    public var fieldSizes: [Int] {
        (sparseFeatures + bagFeatures).map { f in
            switch f.kind {
            case .categorical, .bag: return vocabularies[f.name]!.count + 1
            case .hashed: return f.buckets! + 1
            case .buckets: return cuts[f.name]!.count + 2
            case .numeric, .sequence: return 0
            }
        }
    }

    /// A feature-id dropout entry for the sparse feature `name` (categorical, hashed or buckets):
    /// its column and unknown id. Throws naming the feature when it is not a sparse feature or
    /// `rate` is outside [0, 1).
    public func idDropout(_ name: String, rate: Float) throws -> RankTrainingOptions.IdDropout {
        guard rate >= 0, rate < 1 else { throw RankError.config("id dropout of '\(name)': rate \(rate) is not in [0, 1)") }
        guard let column = sparseFeatures.firstIndex(where: { $0.name == name }), let base = bases[name] else {
            throw RankError.config("id dropout names '\(name)', which is not a categorical, hashed or bucketed feature (sparse features: \(sparseFeatures.map(\.name).joined(separator: ", ")))")
        }
        return RankTrainingOptions.IdDropout(column: column, unknownId: base, rate: rate)
    }

    // MARK: Value mapping

    func localId(_ f: FeatureSpec, _ v: String) -> Int32 {
        switch f.kind {
        case .categorical:
            guard let s = Self.derived(f, v) else { return 0 }
            return vocabularies[f.name]![s] ?? 0
        case .hashed:
            return v.isEmpty ? 0 : Int32(1 + Int(BloomFilter.fnv1a(v) % UInt64(f.buckets!)))
        case .buckets:
            guard let x = Self.numeric(f, v) else { return 0 }
            return bucketLocalId(f, x)
        case .bag, .numeric, .sequence:
            return 0
        }
    }

    /// The categorical value after derivation (hour/weekday from Unix seconds); nil if missing.
    static func derived(_ f: FeatureSpec, _ v: String) -> String? {
        if v.isEmpty { return nil }
        guard let d = f.derive else { return v }
        guard let t = Double(v) else { return nil }
        switch d {
        case .hour: return String(Int(t.truncatingRemainder(dividingBy: 86_400) / 3_600 + 24) % 24)
        case .weekday: return String(((Int((t / 86_400).rounded(.down)) + 3) % 7 + 7) % 7)  // 1970-01-01 was a Thursday
        }
    }

    /// The local id of the `.buckets` feature `f` for the number `x`: what ``localId(_:_:)``
    /// gives for a text that reads as `x` (0 for a non-finite number), without the text.
    public func bucketLocalId(_ f: FeatureSpec, _ x: Double) -> Int32 {
        guard let c = cuts[f.name] else { return 0 }
        return Self.bucketLocalId(cuts: c, x)
    }

    /// The bucket boundaries of a `.buckets` feature (nil for other kinds): looked up once, then
    /// ``bucketLocalId(cuts:_:)`` per value, where a batch would otherwise hash the name per row.
    public func bucketCuts(_ f: FeatureSpec) -> [Double]? { cuts[f.name] }

    /// The local id of `x` among `cuts` (0 for a value that is not finite). O(log cuts).
    @inline(__always) public static func bucketLocalId(cuts c: [Double], _ x: Double) -> Int32 {
        guard x.isFinite else { return 0 }
        var lo = 0, hi = c.count
        while lo < hi { let mid = (lo + hi) / 2; if c[mid] <= x { lo = mid + 1 } else { hi = mid } }
        return Int32(1 + lo)
    }

    static func numeric(_ f: FeatureSpec, _ v: String) -> Double? {
        if f.derive != nil { return derived(f, v).flatMap(Double.init) }
        // The plain parse first: trimming (a Foundation call) only for text that needs it.
        guard let x = Double(v) ?? Double(v.trimmingCharacters(in: .whitespaces)), x.isFinite else { return nil }
        return x
    }

    /// The non-empty tokens of a bag's text. A one-character separator (`|`, the default) splits
    /// natively, several times faster than Foundation's `components(separatedBy:)`.
    static func tokens(_ v: String, separator sep: String) -> [String] {
        if sep.count == 1, let c = sep.first {
            return v.split(separator: c).map(String.init)
        }
        return v.components(separatedBy: sep).filter { !$0.isEmpty }
    }

    static func transform(_ f: FeatureSpec, _ x: Double) -> Double {
        switch f.transform ?? .none {
        case .none, .standardize: return x
        case .log1p, .log1pStandardize: return Foundation.log1p(Swift.max(x, 0))
        }
    }
}
