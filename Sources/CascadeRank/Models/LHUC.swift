import CascadeTensor

/// LHUC personalization gates on a DNN, in the form of Kuaishou's PPNet: Swietojanski & Renals,
/// "Learning Hidden Unit Contributions for Unsupervised Speaker Adaptation of Neural Network
/// Acoustic Models" (SLT 2014), applied to CTR prediction as a gate per hidden layer driven by
/// user-side features.
///
/// Main network: [all field embeddings, dense] -> hidden ReLU layers -> logit. Gate network of
/// hidden layer l: g_l = 2 sigmoid(MLP_l(u)) with u the concatenated user-side field embeddings
/// (fields named by `gateFields`; by default user id and profile fields such as age, gender,
/// occupation, zip); h_l = ReLU(W_l h_{l-1} + b_l) * g_l. The factor 2 makes an untrained gate
/// (sigmoid 0.5) the identity, and lets a user scale a unit up to twice. `gateStopGradient`
/// keeps the gates from updating the shared embeddings (PPNet).
///
/// Parameters: embeddings + MLP + per hidden layer (U g + g h_l) for U = gate input width and
/// g = `gateHidden`. O(B (MLP + sum_l g (U + h_l))) per batch.
public final class LHUC: RankModel {
    public let kind = "lhuc"
    public let tasks: [String]
    let embedding: FieldEmbedding
    let layers: [Linear]
    let gates: [MLP]
    let head: Linear
    /// Field positions (in `fields` order) feeding the gates.
    let gateFields: [Int]
    let stopGradient: Bool
    let dropout: Float

    static let userFieldNames: Set<String> = ["user", "user_id", "userid", "uid", "age", "gender", "sex",
                                               "occupation", "zip", "zipcode", "city", "country"]

    public init(pipeline: FeaturePipeline, config: RankModelParameters) {
        tasks = config.tasks
        let d = config.embeddingDim
        embedding = FieldEmbedding(name: "lhuc.emb", rows: pipeline.tableRows, fields: pipeline.fieldCount, dim: d, seed: config.seed)
        let specs = pipeline.sparseFeatures + pipeline.bagFeatures
        let sequenceUsers = Set(pipeline.sequenceFeatures.compactMap(\.user))
        var picked = specs.indices.filter { i in
            if let names = config.gateFields { return names.contains(specs[i].name) }
            let f = specs[i]
            return Self.userFieldNames.contains(f.name.lowercased()) || (f.derive == nil && Self.userFieldNames.contains(f.column.lowercased()))
                || (f.kind == .categorical && f.derive == nil && sequenceUsers.contains(f.column))
        }
        if picked.isEmpty { picked = Array(specs.indices) }
        gateFields = picked
        stopGradient = config.gateStopGradient
        dropout = config.dropout
        var layers: [Linear] = [], gates: [MLP] = []
        var n = pipeline.fieldCount * d + pipeline.denseFeatures.count
        for (i, h) in config.hidden.enumerated() {
            layers.append(Linear(name: "lhuc.deep.\(i)", in: n, out: h, activation: .relu, seed: config.seed))
            gates.append(MLP(name: "lhuc.gate.\(i)", sizes: [picked.count * d, config.gateHidden, h], activation: .relu,
                             seed: config.seed))
            n = h
        }
        self.layers = layers
        self.gates = gates
        head = Linear(name: "lhuc.head", in: n, out: config.tasks.count, seed: config.seed)
    }

    public var parameters: [Parameter] {
        embedding.parameters + layers.flatMap(\.parameters) + gates.flatMap(\.parameters) + head.parameters
    }

    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let v = try embedding.fields(batch, tape: tape)
        let parts = try gateFields.map { try v.slice(axis: 1, $0..<($0 + 1)) }
        var u = try (parts.count == 1 ? parts[0] : Variable.concat(parts, axis: 1)).reshaped([batch.rows, -1])
        if stopGradient { u = tape.constant(u.value) }
        var h = try deepInput(v, batch, tape: tape)
        for (layer, gate) in zip(layers, gates) {
            h = try layer(h) * (gate(u).sigmoid() * 2)
            if dropout > 0 { h = try h.dropout(rate: dropout) }
        }
        return try head(h)
    }
}

extension LHUC: RankModelDefinition {
    public static let name = "lhuc"
    public static let aliases = ["ppnet"]
    public static let summary = "LHUC / PPNet: personalised gates on the hidden units (Swietojanski et al. 2016)"
    public static let multiTask = true
    public static let options = ["embeddingDim", "hidden", "dropout", "gateHidden", "gateFields", "gateStopGradient"]
    public static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel {
        LHUC(pipeline: pipeline, config: parameters)
    }
}
