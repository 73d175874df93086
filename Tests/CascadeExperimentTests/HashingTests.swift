import CascadeExperiment
import Testing

@Suite struct HashingTests {
    @Test func bucketsAreUniformOverAHundredThousandIds() {
        var counts = [Int](repeating: 0, count: 1000)
        for k in 1...100_000 { counts[BucketHash.bucket("u\(k)", salt: "recall", buckets: 1000)] += 1 }
        // Chi-square with 999 degrees of freedom: mean 999, sd 44.7; 1180 is p ~ 1e-4.
        let chi2 = counts.reduce(0.0) { $0 + Double(($1 - 100) * ($1 - 100)) / 100 }
        #expect(chi2 < 1180 && chi2 > 820, "chi-square \(chi2)")
    }

    @Test func layersAreOrthogonal() {
        // 10 x 10 contingency of the decile of a user's bucket in layer A against layer B.
        var table = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
        let n = 100_000
        for k in 0..<n {
            let id = "user-\(k)"
            table[BucketHash.bucket(id, salt: "recall", buckets: 1000) / 100][BucketHash.bucket(id, salt: "rerank", buckets: 1000) / 100] += 1
        }
        // Independence: chi-square with 81 degrees of freedom (mean 81, sd 12.7); 135 is p ~ 3e-4.
        let expected = Double(n) / 100
        let chi2 = table.joined().reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(chi2 < 135, "chi-square \(chi2)")
        // A 50/50 split in A leaves B's split at 50/50 on each side.
        for side in 0..<2 {
            let rows = table[(side * 5)..<(side * 5 + 5)]
            let inB = rows.reduce(0) { $0 + $1[0..<5].reduce(0, +) }, all = rows.reduce(0) { $0 + $1.reduce(0, +) }
            #expect(abs(Double(inB) / Double(all) - 0.5) < 0.01)
        }
    }

    @Test func theHashIsFixedByItsDefinition() {
        // Pinned values (computed independently from the documented definition: FNV-1a 64 over
        // salt, 0x1F, user; SplitMix64 finaliser; multiply-high): a change of the function would
        // silently reshuffle every running experiment.
        #expect(BucketHash.hash("u1", salt: "recall") == 0x9486_C1F5_3049_EDB3)
        #expect(BucketHash.bucket("u1", salt: "recall", buckets: 1000) == 580)
        #expect(BucketHash.bucket("alice", salt: "recall", buckets: 1000) == 844)
        #expect(BucketHash.bucket("alice", salt: "rerank", buckets: 1000) == 284)
        #expect(BucketHash.bucket("alice", salt: "recall", buckets: 1) == 0)
    }
}
