import CascadeTensor

/// Logistic regression over one-hot field values and dense inputs: logit = b + sum of the
/// weights of the row's field values + w . dense. The classic CTR baseline, trained with
/// FTRL-Proximal in McMahan et al., "Ad Click Prediction: a View from the Trenches" (KDD 2013),
/// which `RankTrainer` uses for this model (sparse, L1-regularized weights).
/// Parameters: one weight per vocabulary id plus one per dense input. O(B fields) per batch.
public final class LogisticRegression: RankModel {
    public let kind = "lr"
    public let tasks: [String]
    let embedding: FieldEmbedding
    let denseLayer: Linear?
    let bias: Parameter

    public init(pipeline: FeaturePipeline, config: RankModelParameters) {
        tasks = Array(config.tasks.prefix(1))
        embedding = FieldEmbedding(name: "lr.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount, dim: 0, seed: config.seed)
        let nd = pipeline.denseFeatures.count
        denseLayer = nd > 0 ? Linear(name: "lr.dense", in: nd, out: 1, bias: false, seed: config.seed) : nil
        bias = Parameter("lr.bias", Tensor(shape: [1]))
    }

    public var parameters: [Parameter] { embedding.parameters + (denseLayer?.parameters ?? []) + [bias] }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        var z = try embedding.linearTerm(batch, tape: tape) + tape.parameter(bias)
        if let d = denseLayer { z = try z + d(tape.constant(batch.dense)) }
        return z
    }
}

extension LogisticRegression: RankModelDefinition {
    public static let name = "lr"
    public static let summary = "Logistic regression over one-hot fields (McMahan et al. 2013, FTRL)"
    public static let multiTask = false
    public static let options: [String] = []
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        LogisticRegression(pipeline: pipeline, config: parameters)
    }
}
