import CascadeTensor

/// Factorization machine: Rendle, "Factorization Machines" (ICDM 2010).
///
///     y = b + sum_i w_i + sum_{i<j} <v_i, v_j>,   with
///     sum_{i<j} <v_i, v_j> = 1/2 sum_d [ (sum_i v_id)^2 - sum_i v_id^2 ]
///
/// over the F embedded fields of a row (plus a linear term on dense inputs). The second form is
/// the O(k n) evaluation (k = embedding dim, n = fields) the paper derives instead of the O(k n^2)
/// pairwise sum; `pairwiseNaive` keeps the pairwise form to test against.
/// Parameters: vocabulary x (k + 1) weights. O(B F k) per batch.
public final class FactorizationMachine: RankModel {
    public let kind = "fm"
    public let tasks: [String]
    let embedding: FieldEmbedding
    let denseLayer: Linear?
    let bias: Parameter

    public init(pipeline: FeaturePipeline, config: RankModelParameters) {
        tasks = Array(config.tasks.prefix(1))
        embedding = FieldEmbedding(name: "fm.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount,
                                   dim: config.embeddingDim, seed: config.seed,
                                   pooledHistories: pipeline.sequenceFeatures.count)
        let nd = pipeline.denseFeatures.count
        denseLayer = nd > 0 ? Linear(name: "fm.dense", in: nd, out: 1, bias: false, seed: config.seed) : nil
        bias = Parameter("fm.bias", Tensor(shape: [1]))
    }

    public var parameters: [Parameter] { embedding.parameters + (denseLayer?.parameters ?? []) + [bias] }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let v = try embedding.fields(batch, tape: tape)
        var z = try embedding.linearTerm(batch, tape: tape) + FactorizationMachine.interaction(v) + tape.parameter(bias)
        if let d = denseLayer { z = try z + d(tape.constant(batch.dense)) }
        return z
    }

    /// The pairwise interaction term of [B, F, k] field embeddings in O(B F k): [B, 1].
    public static func interaction(_ v: Variable) throws -> Variable {
        let sumOfFields = try v.sum(axis: 1)                 // [B, k]
        let squareOfSum = sumOfFields.square()
        let sumOfSquares = try v.square().sum(axis: 1)       // [B, k]
        return try (squareOfSum - sumOfSquares).sum(axis: 1, keepDims: true) * 0.5
    }

    /// The same term by the O(B F^2 k) pairwise sum (reference for tests).
    public static func pairwiseNaive(_ v: Tensor) -> [Float] {
        let b = v.shape[0], f = v.shape[1], k = v.shape[2]
        return (0..<b).map { r in
            var s = 0.0
            for i in 0..<f {
                for j in (i + 1)..<f {
                    for d in 0..<k { s += Double(v[r, i, d]) * Double(v[r, j, d]) }
                }
            }
            return Float(s)
        }
    }
}

extension FactorizationMachine: RankModelDefinition {
    public static let name = "fm"
    public static let summary = "Factorization machine: pairwise field interactions (Rendle 2010)"
    public static let multiTask = false
    public static let options = ["embeddingDim"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        FactorizationMachine(pipeline: pipeline, config: parameters)
    }
}
