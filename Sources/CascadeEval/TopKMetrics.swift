/// Averages of top-K metrics over the users with at least one test item
/// (see ``TopKEvaluation/evaluate(recommendations:train:test:k:)``).
public struct TopKMetrics: Sendable, Equatable {
    /// The cutoff K.
    public var k: Int
    /// Number of users scored (those with at least one test item).
    public var users: Int
    /// Mean of hits / |T|.
    public var recall: Double
    /// Mean of DCG / IDCG with binary gain, IDCG over min(K, |T|) ranks.
    public var ndcg: Double
    /// Fraction of users with at least one hit.
    public var hitRate: Double
    /// Mean of 1 / (rank of the first hit), 0 without a hit.
    public var mrr: Double
    /// Mean of hits / K.
    public var precision: Double
    /// recommendedItems / max(1, catalogItems).
    public var coverage: Double
    /// Distinct items over the scored users' cut lists.
    public var recommendedItems: Int
    /// Distinct items in train.
    public var catalogItems: Int

    public init(k: Int, users: Int, recall: Double, ndcg: Double, hitRate: Double, mrr: Double,
                precision: Double, coverage: Double, recommendedItems: Int, catalogItems: Int) {
        self.k = k
        self.users = users
        self.recall = recall
        self.ndcg = ndcg
        self.hitRate = hitRate
        self.mrr = mrr
        self.precision = precision
        self.coverage = coverage
        self.recommendedItems = recommendedItems
        self.catalogItems = catalogItems
    }

    /// One line in the judge's key=value format, four decimals:
    /// `system=NAME k=10 users=943 recall10=0.1234 ndcg10=0.1234 hit10=0.1234 coverage10=0.1234`.
    /// MRR and precision are not part of that format; see ``table(system:)``. `k` labels the
    /// keys and defaults to ``k``.
    public func line(system: String, k: Int? = nil) -> String {
        let k = k ?? self.k
        return "system=\(system) k=\(k) users=\(users) recall\(k)=\(fixed(recall, 4)) ndcg\(k)=\(fixed(ndcg, 4))"
            + " hit\(k)=\(fixed(hitRate, 4)) coverage\(k)=\(fixed(coverage, 4))"
    }

    /// A small aligned table of every metric, for people.
    public func table(system: String) -> String {
        formatTable(title: "\(system) @\(k), \(users) users", rows: [
            ("Recall@\(k)", fixed(recall, 4)),
            ("NDCG@\(k)", fixed(ndcg, 4)),
            ("HitRate@\(k)", fixed(hitRate, 4)),
            ("MRR@\(k)", fixed(mrr, 4)),
            ("Precision@\(k)", fixed(precision, 4)),
            ("Coverage@\(k)", "\(fixed(coverage, 4))  (\(recommendedItems) of \(catalogItems) items)"),
        ])
    }
}
