import CascadeCore
import CascadeTensor

/// A tape-free scorer of one request's candidates for a trained ranking model: the same logits
/// as ``RankModel/logits(_:tape:)`` in inference mode, without the graph, into reused buffers,
/// with the user-side share of the first layer computed once per request (``ServingLayout``).
/// Not thread-safe; ``RankServingPool`` hands one to each concurrent request.
public protocol RankServingPath: AnyObject {
    var tasks: [String] { get }
    /// Logits [N, tasks] of the N rows of `batch`, one request (the user-side columns are read
    /// from row 0). A view of an internal buffer, valid until the next call.
    func logits(_ batch: EncodedBatch) throws -> Tensor
}

/// The serving paths of one trained model, pooled: a request takes one (building another when
/// all are busy) and gives it back. The weights are copied when a path is built, so a pool
/// belongs to one trained model; build a new one after training.
public final class RankServingPool: @unchecked Sendable {
    public let model: any RankModel
    let build: () throws -> any RankServingPath
    private let free = Locked<[any RankServingPath]>([])

    /// The pool for `model`, or nil when it has no serving path: models other than DCN-V2 and
    /// DCN-V2 + MMoE, one that reads a behaviour sequence, or one whose path cannot be built for
    /// `pipeline` (all scored through the tape). The first path is built here, so a pool that
    /// exists serves.
    public static func make(model: any RankModel, pipeline: FeaturePipeline) -> RankServingPool? {
        let pool: RankServingPool
        if let m = model as? DCNv2, m.embedding.pooledHistories == 0 {
            pool = RankServingPool(model: model) { try DCNv2Serving(m, pipeline: pipeline, maxCandidates: 512) }
        } else if let m = model as? DCNv2MMoE, m.attention == nil {
            pool = RankServingPool(model: model) { try DCNv2MMoEServing(m, pipeline: pipeline, maxCandidates: 512) }
        } else {
            return nil
        }
        guard let first = try? pool.build() else { return nil }
        pool.free.withLock { $0.append(first) }
        return pool
    }

    init(model: any RankModel, build: @escaping () throws -> any RankServingPath) {
        self.model = model
        self.build = build
    }

    /// Served outputs [N][tasks] (``TaskKind/serve(_:)`` of each logit), as ``RankModel/predict``.
    public func predict(_ batch: EncodedBatch) throws -> [[Float]] {
        let path = try free.withLock { $0.popLast() } ?? build()
        defer { free.withLock { $0.append(path) } }
        let z = try path.logits(batch)
        let t = path.tasks.count, kinds = model.taskKinds
        return (0..<batch.rows).map { r in (0..<t).map { kinds[$0].serve(z.base[r * t + $0]) } }
    }
}
