import Testing
import CascadeTensor
@testable import CascadeRank

@Suite struct EncodedBatchTests {
    @Test func relabelingAndSubsettingKeepBehaviourSequences() throws {
        let frame = RankModelTests.frame(rows: 12, seed: 8)
        let pipeline = try FeaturePipeline(config: RankModelTests.config, fitOn: frame)
        let batch = try pipeline.encode(frame)
        #expect(batch.histories.count == 1)
        let labels = Tensor(shape: [12, 2])
        #expect(try batch.withLabels(labels).histories.count == 1)
        #expect(try batch.replacingLabels(labels).histories.count == 1)
        #expect(try pipeline.encode(frame, labelColumns: ["label"]).histories.count == 1)
        let sub = batch.rows([3, 1])
        #expect(sub.histories.first?.ids.shape.dims == [2, batch.histories[0].ids.shape.last])
    }
}
