import CascadeTensor
import Foundation

/// A trained ``ThreeTower`` pre-ranker as bytes: its configuration, the fitted feature pipeline
/// and every parameter in the versioned, checksummed `ModelArchive` format (as ``RankModelFile``
/// does for rankers), so serving rebuilds the model that was trained.
public enum ThreeTowerFile {
    struct Config: Codable {
        var config: ThreeTowerParameters
        var pipeline: FeaturePipeline
    }

    public static func encode(_ model: ThreeTower, pipeline: FeaturePipeline) throws -> Data {
        var archive = ModelArchive(modelKind: "prerank/threetower", layerKinds: ["threetower"])
        try archive.setConfig(Config(config: model.config, pipeline: pipeline))
        try archive.addParameters(model.parameters)
        return try archive.encoded()
    }

    /// Rebuilds the model; a wrong kind, a missing or mis-shaped tensor or a checksum mismatch
    /// throws naming `path`, and nothing is half-loaded.
    public static func decode(_ data: Data, path: String = "memory") throws -> (model: ThreeTower, pipeline: FeaturePipeline) {
        let archive = try ModelArchive(data: data, path: path)
        try archive.validate(modelKinds: ["prerank/threetower"], layerKinds: ["threetower"])
        let c = try archive.decodeConfig(Config.self)
        let model = try ThreeTower(pipeline: c.pipeline, config: c.config)
        try archive.load(into: model.parameters, modelKinds: ["prerank/threetower"], layerKinds: ["threetower"])
        return (model, c.pipeline)
    }
}
