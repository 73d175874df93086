import CascadeTensor

/// FiBiNET: Huang et al., "FiBiNET: Combining Feature Importance and Bilinear feature
/// Interaction for Click-Through Rate Prediction" (RecSys 2019).
///
/// Over the F field embeddings E = [e_1 .. e_F] (each D wide):
/// - SENet: squeeze z_i = mean(e_i) (mean pooling), excitation A = ReLU(W_2 ReLU(W_1 z)) with a
///   bottleneck of max(1, F / r) units (r = `senetReduction`), re-weight V = [a_i e_i];
/// - bilinear interaction, "field-all" type (one shared W, D x D): p_ij = (e_i W) * e_j for
///   i < j, on both E and V, giving 2 x F(F-1)/2 vectors of D;
/// - combination: [p(E), p(V), dense] -> ReLU MLP -> logit, plus the first-order linear term.
///
/// Parameters: embeddings + F^2 (2 / r) (SENet) + D^2 (bilinear) + MLP (input F(F-1) D + dense).
/// O(B (F D^2 + F^2 D + MLP)) per batch.
public final class FiBiNET: RankModel {
    public let kind = "fibinet"
    public let tasks: [String]
    let embedding: FieldEmbedding
    let squeeze: Linear
    let excite: Linear
    let bilinear: Parameter
    let tower: DenseTower
    let head: Linear
    let fields: Int

    public init(pipeline: FeaturePipeline, config: RankModelParameters) throws {
        fields = pipeline.fieldCount
        guard fields >= 2 else { throw RankError.model("fibinet needs at least 2 embedded fields, the config has \(fields)") }
        tasks = config.tasks
        let d = config.embeddingDim
        embedding = FieldEmbedding(name: "fibinet.emb", rows: pipeline.tableRows, fields: fields, dim: d, seed: config.seed)
        let bottleneck = Swift.max(1, fields / Swift.max(1, config.senetReduction))
        squeeze = Linear(name: "fibinet.senet.0", in: fields, out: bottleneck, bias: false, activation: .relu, seed: config.seed)
        excite = Linear(name: "fibinet.senet.1", in: bottleneck, out: fields, bias: false, activation: .relu, seed: config.seed)
        bilinear = Parameter("fibinet.bilinear", Initializer.xavier([d, d], fanIn: d, fanOut: d, seed: config.seed &+ 101))
        let pairs = fields * (fields - 1) / 2
        tower = DenseTower(name: "fibinet.deep", input: 2 * pairs * d + pipeline.denseFeatures.count,
                           hidden: config.hidden, dropout: config.dropout, seed: config.seed)
        head = Linear(name: "fibinet.head", in: tower.outputSize, out: config.tasks.count, seed: config.seed)
    }

    public var parameters: [Parameter] {
        embedding.parameters + squeeze.parameters + excite.parameters + [bilinear] + tower.parameters + head.parameters
    }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let b = batch.rows
        let e = try embedding.fields(batch, tape: tape)                   // [B, F, D]
        let weights = try excite(squeeze(e.mean(axis: 2)))                // [B, F]
        let v = try e * weights.reshaped([b, fields, 1])                  // [B, F, D]
        let w = tape.parameter(bilinear)
        let x = try deepInput(interactions(e, w), extra: [interactions(v, w).reshaped([b, -1])], batch, tape: tape)
        return try head(tower(x)) + embedding.linearTerm(batch, tape: tape)
    }

    /// Field-all bilinear interactions of [B, F, D]: (e_i W) * e_j for i < j, [B, F(F-1)/2, D].
    func interactions(_ e: Variable, _ w: Variable) throws -> Variable {
        let s = e.value.shape, b = s[0], f = s[1], d = s[2]
        let ew = try e.reshaped([b * f, d]).matmul(w).reshaped([b, f, d])
        var parts: [Variable] = []
        for i in 0..<(f - 1) {
            let left = try ew.slice(axis: 1, i..<(i + 1)).expanded(to: [b, f - 1 - i, d])
            parts.append(try left * e.slice(axis: 1, (i + 1)..<f))
        }
        return parts.count == 1 ? parts[0] : try Variable.concat(parts, axis: 1)
    }
}

extension FiBiNET: RankModelDefinition {
    public static let name = "fibinet"
    public static let summary = "FiBiNET: SENet field importance and bilinear interactions (Huang et al. 2019)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "dropout", "senetReduction"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        try FiBiNET(pipeline: pipeline, config: parameters)
    }
}
