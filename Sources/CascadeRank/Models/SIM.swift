import CascadeTensor

/// SIM (hard search): Pi et al., "Search-based User Interest Modeling with Lifelong Sequential
/// Behavior Data for Click-Through Rate Prediction" (CIKM 2020).
///
/// Two stages over a long behaviour sequence (the longest sequence feature, e.g. 200 steps):
/// - General Search Unit, hard mode: keep the history steps whose category (the sequence's side
///   column) equals the candidate's category, most recent first, at most K (`simTopK`, 20).
///   Without a side column, or when the candidate's category is unknown, the K most recent steps.
/// - Exact Search Unit: target attention (DIN's unit, Dice, masked) of the candidate over the kept
///   steps, whose keys are the item (+ category) embeddings plus an embedding of the bucketized
///   time gap to the row (`EncodedBatch.History.timeBucket`).
///
///     logit = head(ReLU-MLP([all field embeddings, ESU(q, keys + E_time), dense]))
///
/// The search is an index operation (no gradient), O(B N); the attention O(B K (4D' h_a)).
/// Parameters: embeddings + time table (32 x D') + attention unit + MLP (D' = D, or 2D with the
/// category).
public final class SIM: RankModel {
    public let kind = "sim"
    public let tasks: [String]
    public let topK: Int
    let embedding: FieldEmbedding
    let timeTable: Parameter
    let attention: TargetAttention
    let tower: DenseTower
    let head: Linear
    let historyIndex: Int
    let withSide: Bool
    /// Fused id of the unknown category (the side feature's OOV id).
    let unknownSide: Int32?

    public init(pipeline: FeaturePipeline, config: RankModelParameters) throws {
        let seqs = pipeline.sequenceFeatures
        guard !seqs.isEmpty else {
            throw RankError.model("sim needs a behaviour-sequence feature (kind \"sequence\") in the feature config")
        }
        // The longest sequence is the lifelong one.
        historyIndex = seqs.indices.max { (seqs[$0].length ?? 0, $1) < (seqs[$1].length ?? 0, $0) }!
        let seq = seqs[historyIndex]
        tasks = config.tasks
        topK = Swift.max(1, Swift.min(config.simTopK, seq.length ?? 1))
        withSide = seq.sideColumn != nil
        unknownSide = pipeline.config.sideFeature(forSequence: seq).flatMap { pipeline.bases[$0.name] }
        let d = config.embeddingDim, keyDim = d * (withSide ? 2 : 1)
        embedding = FieldEmbedding(name: "sim.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount, dim: d, seed: config.seed)
        timeTable = Parameter("sim.time", Tensor.normal([EncodedBatch.History.timeBucketCount, keyDim], std: 0.01,
                                                         seed: config.seed &+ 17))
        attention = TargetAttention(name: "sim.esu", dim: keyDim, hidden: config.attentionHidden, activation: .dice,
                                    seed: config.seed)
        tower = DenseTower(name: "sim.deep", input: pipeline.fieldCount * d + keyDim + pipeline.denseFeatures.count,
                           hidden: config.hidden, dropout: config.dropout, seed: config.seed)
        head = Linear(name: "sim.head", in: tower.outputSize, out: config.tasks.count, seed: config.seed)
    }

    public var parameters: [Parameter] { embedding.parameters + [timeTable] + attention.parameters + tower.parameters + head.parameters }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        guard historyIndex < batch.histories.count else { throw RankError.model("sim: the batch has no behaviour sequence") }
        let v = try embedding.fields(batch, tape: tape)
        let h = Self.hardSearch(batch.histories[historyIndex], k: topK, unknownSide: unknownSide)
        let (q, items) = try sequenceQueryAndKeys(h, table: tape.parameter(embedding.table), withSide: withSide)
        let keys = try items + tape.parameter(timeTable).gather(h.timeBuckets)
        let interest = try attention(query: q, keys: keys, mask: h.mask)
        return try head(tower(deepInput(v, extra: [interest], batch, tape: tape)))
    }

    /// The general search unit, hard mode: per row, the (at most) `k` most recent steps whose side
    /// id equals the candidate's, as a `k`-step history (order kept, padding masked). Without
    /// side ids, or for a candidate whose side is `unknownSide`, the `k` most recent steps.
    /// O(B N).
    public static func hardSearch(_ h: EncodedBatch.History, k: Int, unknownSide: Int32? = nil) -> EncodedBatch.History {
        let b = h.candidate.count, n = h.length
        let ids = IndexTensor(shape: Shape(b, k)), times = IndexTensor(shape: Shape(b, k))
        let mask = Tensor(shape: [b, k])
        let side = h.side.map { _ in IndexTensor(shape: Shape(b, k)) }
        for r in 0..<b {
            let target = h.candidateSide.map { $0.base[r] }
            let filter = h.side != nil && target != nil && target != unknownSide
            // Padding reuses the id of the row's last step (any valid id: it is masked).
            for j in 0..<k {
                ids.base[r * k + j] = h.ids.base[r * n + n - 1]
                side?.base[r * k + j] = h.side!.base[r * n + n - 1]
            }
            var kept = 0
            for j in 0..<n where kept < k && h.mask.base[r * n + j] > 0 {
                if filter, h.side!.base[r * n + j] != target! { continue }
                let o = r * k + kept, i = r * n + j
                ids.base[o] = h.ids.base[i]
                times.base[o] = h.timeBuckets.base[i]
                side?.base[o] = h.side!.base[i]
                mask.base[o] = 1
                kept += 1
            }
        }
        return EncodedBatch.History(name: h.name, ids: ids, mask: mask, timeBuckets: times, candidate: h.candidate,
                                    side: side, candidateSide: h.candidateSide)
    }
}

extension SIM: RankModelDefinition {
    public static let name = "sim"
    public static let summary = "SIM: hard search of the long behaviour sequence, then target attention (Pi et al. 2020)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "dropout", "attentionHidden", "simTopK"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        try SIM(pipeline: pipeline, config: parameters)
    }
}
