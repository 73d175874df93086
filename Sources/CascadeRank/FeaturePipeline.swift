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
/// - `dense` [rows, denseFields]: transformed numeric inputs.
public struct EncodedBatch {
    public let rows: Int
    public let sparseIds: IndexTensor
    public let bags: [Bag]
    public let dense: Tensor
    public let labels: Tensor?

    public struct Bag {
        public let ids: IndexTensor
        public let offsets: [Int]
    }

    /// Number of embedded fields (sparse fields plus bags): the field count of FM/DCN models.
    public var fieldCount: Int { sparseIds.shape.last + bags.count }
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
    /// Embedded field count (sparse + bags).
    public var fieldCount: Int { sparseFeatures.count + bagFeatures.count }

    /// Fits on `frame`; every declared source column must be present (else an error naming the
    /// feature and the columns the frame has), so a config naming an unknown feature is rejected
    /// before training starts. O(rows x features), plus a sort per bucketed feature.
    public init(config: FeatureConfig, fitOn frame: FeatureFrame) throws {
        try config.validate()
        self.config = config
        for f in config.features where frame.columns[f.column] == nil {
            throw RankError.config("feature '\(f.name)' reads column '\(f.column)', which the data does not have (columns: \(frame.columns.keys.sorted().joined(separator: ", ")))")
        }
        var next: Int32 = 0
        for f in config.features {
            let raw = frame.columns[f.column]!
            switch f.kind {
            case .categorical:
                var counts: [String: Int] = [:]
                for v in raw { if let s = derived(f, v) { counts[s, default: 0] += 1 } }
                let kept = counts.filter { $0.value >= (f.minCount ?? 1) }.keys.sorted()
                vocabularies[f.name] = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($0.element, Int32($0.offset + 1)) })
                bases[f.name] = next
                next += Int32(kept.count + 1)
            case .bag:
                var counts: [String: Int] = [:]
                let sep = f.separator ?? "|"
                for v in raw where !v.isEmpty { for t in v.components(separatedBy: sep) where !t.isEmpty { counts[t, default: 0] += 1 } }
                let kept = counts.filter { $0.value >= (f.minCount ?? 1) }.keys.sorted()
                vocabularies[f.name] = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($0.element, Int32($0.offset + 1)) })
                bases[f.name] = next
                next += Int32(kept.count + 1)
            case .hashed:
                bases[f.name] = next
                next += Int32(f.buckets! + 1)
            case .buckets:
                let values = raw.compactMap { numeric(f, $0) }.sorted()
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
                var sum = 0.0, sq = 0.0, n = 0.0
                for v in raw { if let x = numeric(f, v) { let t = transform(f, x); sum += t; sq += t * t; n += 1 } }
                let mean = n > 0 ? sum / n : 0
                let std = n > 1 ? Swift.max((sq / n - mean * mean).squareRoot(), 1e-9) : 1
                moments[f.name] = [mean, std]
            }
        }
        tableRows = Int(next)
    }

    /// Encodes `frame` (any rows: training, validation, serving). Unseen values map to their
    /// field's out-of-vocabulary id; missing values use the declared default (counted).
    /// `labelColumn` (default: the config's label) fills `labels` when present. O(rows x features).
    public func encode(_ frame: FeatureFrame, labels labelColumn: String? = nil) throws -> EncodedBatch {
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
                for t in v.components(separatedBy: sep) where !t.isEmpty {
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
                var x = numeric(f, raw?[r] ?? "")
                if x == nil {
                    missing[f.name, default: 0] += 1
                    x = Double(f.defaultValue ?? "") ?? (standardize ? nil : 0)
                }
                // A missing value without a default sits at the mean (0 after standardizing).
                let t = x.map { transform(f, $0) } ?? m[0]
                values.base[r * dense.count + j] = Float(standardize ? (t - m[0]) / m[1] : t)
            }
        }
        var labels: Tensor?
        if let name = labelColumn ?? config.label, let col = frame.columns[name] {
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
        return EncodedBatch(rows: n, sparseIds: ids, bags: bags, dense: values, labels: labels)
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
            case .numeric: return 0
            }
        }
    }

    // MARK: Value mapping

    func localId(_ f: FeatureSpec, _ v: String) -> Int32 {
        switch f.kind {
        case .categorical:
            guard let s = derived(f, v) else { return 0 }
            return vocabularies[f.name]![s] ?? 0
        case .hashed:
            return v.isEmpty ? 0 : Int32(1 + Int(BloomFilter.fnv1a(v) % UInt64(f.buckets!)))
        case .buckets:
            guard let x = numeric(f, v) else { return 0 }
            let c = cuts[f.name]!
            var lo = 0, hi = c.count
            while lo < hi { let mid = (lo + hi) / 2; if c[mid] <= x { lo = mid + 1 } else { hi = mid } }
            return Int32(1 + lo)
        case .bag, .numeric:
            return 0
        }
    }

    /// The categorical value after derivation (hour/weekday from Unix seconds); nil if missing.
    func derived(_ f: FeatureSpec, _ v: String) -> String? {
        if v.isEmpty { return nil }
        guard let d = f.derive else { return v }
        guard let t = Double(v) else { return nil }
        switch d {
        case .hour: return String(Int(t.truncatingRemainder(dividingBy: 86_400) / 3_600 + 24) % 24)
        case .weekday: return String(((Int((t / 86_400).rounded(.down)) + 3) % 7 + 7) % 7)  // 1970-01-01 was a Thursday
        }
    }

    func numeric(_ f: FeatureSpec, _ v: String) -> Double? {
        if f.derive != nil { return derived(f, v).flatMap(Double.init) }
        guard let x = Double(v.trimmingCharacters(in: .whitespaces)), x.isFinite else { return nil }
        return x
    }

    func transform(_ f: FeatureSpec, _ x: Double) -> Double {
        switch f.transform ?? .none {
        case .none, .standardize: return x
        case .log1p, .log1pStandardize: return Foundation.log1p(Swift.max(x, 0))
        }
    }
}
