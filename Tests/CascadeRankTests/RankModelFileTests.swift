import Foundation
import Testing
import CascadeTensor
@testable import CascadeRank

@Suite struct RankModelFileTests {
    func trained() throws -> (any RankModel, FeaturePipeline, RankModelParameters, EncodedBatch) {
        let frame = RankModelTests.frame(rows: 200, seed: 4)
        let pipeline = try FeaturePipeline(config: RankModelTests.config, fitOn: frame)
        var config = RankModelParameters()
        config.embeddingDim = 4
        config.hidden = [8]
        let model = try RankModelRegistry.make("dcnv2", pipeline: pipeline, parameters: config)
        let data = try pipeline.encode(frame)
        var options = RankTrainingOptions()
        options.epochs = 2
        options.batchSize = 32
        _ = try RankTrainer.fit(model, train: data, valid: nil, options: options)
        return (model, pipeline, config, data)
    }

    @Test func savedAndLoadedModelPredictsTheSame() throws {
        let (model, pipeline, config, data) = try trained()
        let bytes = try RankModelFile.encode(model: model, pipeline: pipeline, config: config)
        let (loaded, loadedPipeline) = try RankModelFile.decode(bytes)
        #expect(loaded.kind == "dcnv2")
        let again = try loadedPipeline.encode(RankModelTests.frame(rows: 200, seed: 4))
        #expect(try loaded.predict(again) == model.predict(data))
    }

    @Test func damagedFilesAreRejectedWithTheirName() throws {
        let (model, pipeline, config, _) = try trained()
        let bytes = try RankModelFile.encode(model: model, pipeline: pipeline, config: config)
        do {
            _ = try RankModelFile.decode(bytes.prefix(bytes.count - 10), path: "ranker.model")
            Issue.record("a truncated file loaded")
        } catch {
            #expect("\(error)".contains("ranker.model"))
        }
        var flipped = bytes
        flipped[flipped.count - 5] ^= 0xFF
        #expect(throws: (any Error).self) { try RankModelFile.decode(flipped, path: "ranker.model") }
    }
}
