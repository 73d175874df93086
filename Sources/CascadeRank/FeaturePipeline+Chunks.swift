import CascadeTensor
import Foundation

/// What fitting a ``FeaturePipeline`` needs to know of its training rows, gathered frame by
/// frame, so rows can be fitted on in chunks that never exist all at once as text: value counts
/// of categorical and bag features, a sample of each bucketed feature's values (every value up
/// to `sampleLimit`, then an evenly strided sample of the stream for its quantiles) and the
/// moments of numeric features. One frame of all rows and the same rows in chunks fit the same
/// pipeline (up to `sampleLimit` values per bucketed feature; tested).
public struct FitStatistics {
    let config: FeatureConfig
    let catalog: [String: [String]]
    /// Value counts per categorical (derived values) or bag (tokens) feature.
    var counts: [String: [String: Int]] = [:]
    /// Per bucketed feature: every `stride`-th parsed value of the stream.
    var samples: [String: [Double]] = [:]
    var seen: [String: Int] = [:]
    var strides: [String: Int] = [:]
    /// Per numeric feature: sum, sum of squares and count of transformed values.
    var moments: [String: (sum: Double, squares: Double, n: Double)] = [:]
    /// Bucketed values kept per feature before the sample thins to every other value.
    public let sampleLimit: Int

    public init(config: FeatureConfig, catalog: [String: [String]] = [:], sampleLimit: Int = 2_000_000) throws {
        try config.validate()
        for name in catalog.keys.sorted() where !config.features.contains(where: { $0.name == name && $0.kind == .categorical }) {
            throw RankError.config("catalog values for '\(name)', which is not a categorical feature of the config")
        }
        self.config = config
        self.catalog = catalog
        self.sampleLimit = Swift.max(2, sampleLimit)
    }

    /// Adds the rows of `frame`; every declared source column must be present (else an error
    /// naming the feature and the columns the frame has). O(rows x features).
    public mutating func add(_ frame: FeatureFrame) throws {
        for f in config.features where frame.columns[f.column] == nil {
            throw RankError.config("feature '\(f.name)' reads column '\(f.column)', which the data does not have (columns: \(frame.columns.keys.sorted().joined(separator: ", ")))")
        }
        for f in config.features where f.kind == .sequence {
            for c in [f.user, f.time, f.sideColumn].compactMap({ $0 }) where frame.columns[c] == nil {
                throw RankError.config("sequence feature '\(f.name)' reads column '\(c)', which the data does not have (columns: \(frame.columns.keys.sorted().joined(separator: ", ")))")
            }
        }
        for f in config.features {
            let raw = frame.columns[f.column]!
            switch f.kind {
            case .categorical:
                var c = counts.removeValue(forKey: f.name) ?? [:]  // taken out, so adding does not copy it
                for v in raw { if let s = FeaturePipeline.derived(f, v) { c[s, default: 0] += 1 } }
                counts[f.name] = c
            case .bag:
                var c = counts.removeValue(forKey: f.name) ?? [:]  // taken out, so adding does not copy it
                let sep = f.separator ?? "|"
                for v in raw where !v.isEmpty { for t in FeaturePipeline.tokens(v, separator: sep) { c[t, default: 0] += 1 } }
                counts[f.name] = c
            case .buckets:
                var kept = samples.removeValue(forKey: f.name) ?? [], n = seen[f.name, default: 0], step = strides[f.name, default: 1]
                for v in raw {
                    guard let x = FeaturePipeline.numeric(f, v) else { continue }
                    if n % step == 0 { kept.append(x) }
                    n += 1
                    if kept.count > sampleLimit {
                        // Every other kept value: the sample stays every (2 step)-th value of the stream.
                        kept = stride(from: 0, to: kept.count, by: 2).map { kept[$0] }
                        step *= 2
                    }
                }
                samples[f.name] = kept
                seen[f.name] = n
                strides[f.name] = step
            case .numeric:
                var m = moments[f.name] ?? (0, 0, 0)
                for v in raw {
                    if let x = FeaturePipeline.numeric(f, v) {
                        let t = FeaturePipeline.transform(f, x)
                        m.sum += t; m.squares += t * t; m.n += 1
                    }
                }
                moments[f.name] = m
            case .hashed, .sequence:
                break
            }
        }
    }
}

extension FeaturePipeline {
    /// Fits on `count` rows read in chunks of `chunkSize` by `frame` (given each chunk's row
    /// range): the pipeline ``init(config:fitOn:catalog:)`` would fit on one frame of them all.
    public convenience init(config: FeatureConfig, rows count: Int, chunkSize: Int = 50_000, catalog: [String: [String]] = [:],
                            frame: (Range<Int>) throws -> FeatureFrame) throws {
        var statistics = try FitStatistics(config: config, catalog: catalog)
        for range in Self.chunks(0..<count, size: chunkSize) { try statistics.add(frame(range)) }
        if count == 0 { try statistics.add(frame(0..<0)) }
        self.init(fitted: statistics)
    }

    /// The pipeline `statistics` describe (gathered by the caller, e.g. from a stream).
    public convenience init(statistics: FitStatistics) {
        self.init(fitted: statistics)
    }

    /// Encodes `rows` in chunks of `chunkSize` read by `frame` and joins them: the batch
    /// ``encode(_:history:labelColumns:)`` gives for one frame of those rows, without the text
    /// of more than one chunk at a time.
    public func encode(rows: Range<Int>, chunkSize: Int = 50_000, history: InteractionHistory? = nil, labelColumns: [String],
                       frame: (Range<Int>) throws -> FeatureFrame) throws -> EncodedBatch {
        let parts = try Self.chunks(rows, size: chunkSize).map { try encode(frame($0), history: history, labelColumns: labelColumns) }
        if parts.isEmpty { return try encode(frame(rows.lowerBound..<rows.lowerBound), history: history, labelColumns: labelColumns) }
        return parts.count == 1 ? parts[0] : EncodedBatch.concatenated(parts)
    }

    static func chunks(_ rows: Range<Int>, size: Int) -> [Range<Int>] {
        let step = Swift.max(1, size)
        return stride(from: rows.lowerBound, to: rows.upperBound, by: step).map { $0..<Swift.min(rows.upperBound, $0 + step) }
    }
}

extension EncodedBatch {
    /// The rows of `parts` one after another (same pipeline, same label width). O(rows x features).
    public static func concatenated(_ parts: [EncodedBatch]) -> EncodedBatch {
        let n = parts.reduce(0) { $0 + $1.rows }
        let first = parts[0]
        let w = first.sparseIds.shape.last, dw = first.dense.shape.last
        let ids = IndexTensor(shape: Shape(n, w))
        let dense = Tensor(uninitializedShape: Shape(n, dw))
        let labels = first.labels.map { Tensor(uninitializedShape: Shape(n, $0.shape.last)) }
        var bagIds: [[Int32]] = Array(repeating: [], count: first.bags.count)
        var bagOffsets: [[Int]] = Array(repeating: [0], count: first.bags.count)
        var r = 0
        for p in parts {
            (ids.base + r * w).update(from: p.sparseIds.base, count: p.rows * w)
            (dense.base + r * dw).update(from: p.dense.base, count: p.rows * dw)
            if let labels, let l = p.labels {
                let lw = labels.shape.last
                (labels.base + r * lw).update(from: l.base, count: p.rows * lw)
            }
            for (b, bag) in p.bags.enumerated() {
                let shift = bagIds[b].count
                bagIds[b].append(contentsOf: UnsafeBufferPointer(start: bag.ids.base, count: bag.offsets.last ?? 0))
                bagOffsets[b].append(contentsOf: bag.offsets.dropFirst().map { $0 + shift })
            }
            r += p.rows
        }
        let histories = first.histories.indices.map { k in EncodedBatch.History.concatenated(parts.map { $0.histories[k] }) }
        let positions: [Int32]? = parts.allSatisfy({ $0.positions != nil }) ? parts.flatMap { $0.positions! } : nil
        return EncodedBatch(rows: n, sparseIds: ids, bags: (0..<first.bags.count).map { Bag(ids: IndexTensor(bagIds[$0]), offsets: bagOffsets[$0]) },
                            dense: dense, labels: labels, histories: histories, positions: positions)
    }
}

extension EncodedBatch.History {
    /// The rows of `parts` one after another (same feature and length).
    static func concatenated(_ parts: [EncodedBatch.History]) -> EncodedBatch.History {
        let len = parts[0].length, n = parts.reduce(0) { $0 + $1.candidate.shape[0] }
        func join(_ pick: (EncodedBatch.History) -> IndexTensor, width: Int) -> IndexTensor {
            let out = IndexTensor(shape: width == 0 ? Shape(n) : Shape(n, width))
            var o = 0
            for p in parts {
                let t = pick(p), c = p.candidate.shape[0] * Swift.max(width, 1)
                (out.base + o).update(from: t.base, count: c)
                o += c
            }
            return out
        }
        let mask = Tensor(uninitializedShape: Shape(n, len))
        var o = 0
        for p in parts {
            (mask.base + o).update(from: p.mask.base, count: p.candidate.shape[0] * len)
            o += p.candidate.shape[0] * len
        }
        let first = parts[0]
        return EncodedBatch.History(name: first.name, ids: join(\.ids, width: len), mask: mask, timeBuckets: join(\.timeBuckets, width: len),
                                    candidate: join(\.candidate, width: 0),
                                    side: first.side.map { _ in join({ $0.side! }, width: len) },
                                    candidateSide: first.candidateSide.map { _ in join({ $0.candidateSide! }, width: 0) })
    }
}
