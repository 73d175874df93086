import CascadeTensor

/// DCN-V2: Wang et al., "DCN V2: Improved Deep & Cross Network and Practical Lessons for
/// Web-scale Learning to Rank Systems" (WWW 2021).
///
/// x0 = [field embeddings flattened, dense inputs] (n wide). Each cross layer computes
///
///     x_{l+1} = x0 * (x_l W_l + b_l) + x_l          (W_l: n x n, element-wise *)
///
/// so L layers model feature crosses up to degree L + 1. Layouts: `parallel` (cross network and
/// a deep MLP both read x0; their outputs are concatenated into the head) or stacked (the MLP
/// reads the cross network's output). Parameters: L (n^2 + n) + MLP + embeddings.
/// O(B (L n^2 + MLP)) per batch. Multi-task configs get one logit per task from a shared trunk.
public final class DCNv2: RankModel {
    public let kind = "dcnv2"
    public let tasks: [String]
    public let parallel: Bool
    let embedding: FieldEmbedding
    let cross: [Linear]
    let tower: DenseTower
    let head: Linear

    public init(pipeline: FeaturePipeline, config: RankModelParameters) {
        tasks = config.tasks
        parallel = config.parallel
        embedding = FieldEmbedding(name: "dcnv2.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount,
                                   dim: config.embeddingDim, seed: config.seed,
                                   pooledHistories: pipeline.sequenceFeatures.count)
        let n = embedding.fieldCount * config.embeddingDim + pipeline.denseFeatures.count
        cross = (0..<config.crossLayers).map { Linear(name: "dcnv2.cross.\($0)", in: n, out: n, seed: config.seed) }
        tower = DenseTower(name: "dcnv2.deep", input: n, hidden: config.hidden, dropout: config.dropout, seed: config.seed)
        head = Linear(name: "dcnv2.head", in: parallel ? n + tower.outputSize : tower.outputSize,
                      out: config.tasks.count, seed: config.seed)
    }

    public var parameters: [Parameter] { embedding.parameters + cross.flatMap(\.parameters) + tower.parameters + head.parameters }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let x0 = try deepInput(embedding.fields(batch, tape: tape), batch, tape: tape)
        var x = x0
        for layer in cross { x = try x0 * layer(x) + x }
        if parallel {
            return try head(Variable.concat([x, tower(x0)], axis: 1))
        }
        return try head(tower(x))
    }
}

extension DCNv2: RankModelDefinition {
    public static let name = "dcnv2"
    public static let aliases = ["dcn-v2", "dcn"]
    public static let summary = "DCN-V2: cross network beside or before a deep tower (Wang et al. 2021)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "crossLayers", "parallel", "dropout"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        DCNv2(pipeline: pipeline, config: parameters)
    }
}
