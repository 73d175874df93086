import CascadeRecall

extension ChannelCase {
    /// Matrix-factorization channels (ALS, BPR) in the shared conformance suite. One training
    /// thread for BPR, whose parallel SGD is only deterministic on one thread.
    static let factorization: [ChannelCase] = [
        ChannelCase(name: "als", make: {
            var p = ALS.Parameters()
            p.factors = 8
            p.iterations = 8
            p.regularization = 0.1
            return try! ALS.build(Fixture.matrix, typeWeights: Fixture.weights, parameters: p)
        }, load: { try ALS(serialized: $0) }),
        ChannelCase(name: "bpr", make: {
            var p = BPR.Parameters()
            p.factors = 8
            p.epochs = 40
            p.threads = 1
            return try! BPR.build(Fixture.matrix, typeWeights: Fixture.weights, parameters: p)
        }, load: { try BPR(serialized: $0) }),
        ChannelCase(name: "als-hnsw", make: {
            var p = ALS.Parameters()
            p.factors = 8
            p.iterations = 8
            p.regularization = 0.1
            return try! IndexedRecall.build(try! ALS.build(Fixture.matrix, typeWeights: Fixture.weights, parameters: p))
        }, load: { try ALSChannel.load($0) }),
    ]
}
