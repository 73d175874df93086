import CascadeTensor
import Foundation

/// A trained ranking model as one file: the model's name and hyper-parameters, the fitted
/// feature pipeline (vocabularies, statistics) and every parameter, in the versioned
/// `ModelArchive` format (JSON manifest + checksummed Float32 payload), so serving rebuilds
/// exactly the model that was evaluated. Bytes can live in a file or in the store's artifact
/// registry.
public struct RankModelFile {
    struct Config: Codable {
        var model: String
        var modelConfig: RankModelParameters
        var pipeline: FeaturePipeline
    }

    /// Archive bytes for `model` trained with `pipeline` and `config`.
    public static func encode(model: any RankModel, pipeline: FeaturePipeline, config: RankModelParameters) throws -> Data {
        var archive = ModelArchive(modelKind: "rank/\(model.kind)", layerKinds: [model.kind])
        try archive.setConfig(Config(model: model.kind, modelConfig: config, pipeline: pipeline))
        try archive.addParameters(model.parameters)
        return try archive.encoded()
    }

    /// Rebuilds the model and pipeline from archive bytes. A model name this build does not know,
    /// a missing or mis-shaped tensor, a truncated file or a checksum mismatch each throw an
    /// error naming `path` and the problem; nothing is half-loaded.
    public static func decode(_ data: Data, path: String = "memory") throws -> (model: any RankModel, pipeline: FeaturePipeline) {
        let d = try decodeWithConfig(data, path: path)
        return (d.model, d.pipeline)
    }

    /// As ``decode(_:path:)``, with the model's hyper-parameters (to re-encode it after an update).
    public static func decodeWithConfig(_ data: Data, path: String = "memory") throws
        -> (model: any RankModel, pipeline: FeaturePipeline, config: RankModelParameters) {
        let archive = try ModelArchive(data: data, path: path)
        let kinds = Set(RankModelRegistry.names.map { "rank/\($0)" })
        try archive.validate(modelKinds: kinds, layerKinds: Set(RankModelRegistry.names))
        let c = try archive.decodeConfig(Config.self)
        let model = try RankModelRegistry.make(c.model, pipeline: c.pipeline, parameters: c.modelConfig)
        try archive.load(into: model.parameters, modelKinds: kinds, layerKinds: Set(RankModelRegistry.names))
        return (model, c.pipeline, c.modelConfig)
    }

    public static func write(model: any RankModel, pipeline: FeaturePipeline, config: RankModelParameters, to path: String) throws {
        try encode(model: model, pipeline: pipeline, config: config).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public static func read(_ path: String) throws -> (model: any RankModel, pipeline: FeaturePipeline) {
        guard let data = FileManager.default.contents(atPath: path) else { throw RankError.model("\(path): cannot read the file") }
        return try decode(data, path: path)
    }
}
