import Foundation

/// How the per-task probabilities of a candidate become one ranking score, per scene:
///
/// ```json
/// { "scenes": {
///     "feed":  { "kind": "weighted-sum", "terms": [ { "task": "click", "weight": 1 }, { "task": "like", "weight": 0.5 } ] },
///     "video": { "kind": "weighted-product",
///                "terms": [ { "task": "click", "alpha": 0.01, "beta": 1 }, { "task": "finish", "alpha": 0.1, "beta": 0.5 } ] },
///     "mixed": { "kind": "rank", "k": 60, "terms": [ { "task": "click" }, { "task": "like", "weight": 2 } ] } } }
/// ```
///
/// Kinds (p_t: the candidate's probability for task t):
/// - `weighted-sum`: sum_t w_t p_t;
/// - `weighted-product`: prod_t (p_t + alpha_t)^beta_t (alpha keeps a near-zero task from
///   zeroing the product; beta sets each task's elasticity: scaling p_t by c scales the score by
///   about c^beta_t). The short-video fusion formula of the seeds;
/// - `rank`: sum_t w_t / (rank_t + k), rank_t the candidate's 1-based rank by p_t within the
///   candidate list (ties share the best rank). Scale-free: only each task's ordering matters
///   (reciprocal rank fusion, Cormack et al., SIGIR 2009, with per-task weights).
///
/// Defaults: weight 1, alpha 0, beta 1, k 60. Task names are checked against the model's tasks
/// when the file is loaded; an unknown name is an error naming the scene and the known tasks.
public struct FusionConfig: Codable, Sendable, Equatable {
    public var scenes: [String: FusionFormula]

    public init(scenes: [String: FusionFormula]) { self.scenes = scenes }

    /// Parses `data` and checks every formula against `tasks` (the model's task names).
    public static func decode(_ data: Data, tasks: [String], file: String = "fusion config") throws -> FusionConfig {
        let config: FusionConfig
        do { config = try JSONDecoder().decode(FusionConfig.self, from: data) } catch {
            throw RankError.config("\(file): \(FeatureConfig.describe(error))")
        }
        try config.validate(tasks: tasks, file: file)
        return config
    }

    public static func load(_ path: String, tasks: [String]) throws -> FusionConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw RankError.config("\(path): cannot read the file") }
        return try decode(data, tasks: tasks, file: path)
    }

    public func validate(tasks: [String], file: String = "fusion config") throws {
        guard !scenes.isEmpty else { throw RankError.config("\(file): no scenes declared") }
        for name in scenes.keys.sorted() { _ = try scenes[name]!.compiled(tasks: tasks, scene: name, file: file) }
    }

    /// The scorer of `scene` for a model with `tasks`.
    public func fusion(scene: String, tasks: [String]) throws -> ScoreFusion {
        guard let f = scenes[scene] else {
            throw RankError.config("fusion: unknown scene '\(scene)' (scenes: \(scenes.keys.sorted().joined(separator: ", ")))")
        }
        return try f.compiled(tasks: tasks, scene: scene)
    }
}

/// One scene's formula. See ``FusionConfig``.
public struct FusionFormula: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case weightedSum = "weighted-sum"
        case weightedProduct = "weighted-product"
        case rank
    }

    public struct Term: Codable, Sendable, Equatable {
        public var task: String
        public var weight: Double
        public var alpha: Double
        public var beta: Double

        public init(task: String, weight: Double = 1, alpha: Double = 0, beta: Double = 1) {
            self.task = task
            self.weight = weight
            self.alpha = alpha
            self.beta = beta
        }

        enum CodingKeys: String, CodingKey { case task, weight, alpha, beta }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            task = try c.decode(String.self, forKey: .task)
            weight = try c.decodeIfPresent(Double.self, forKey: .weight) ?? 1
            alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? 0
            beta = try c.decodeIfPresent(Double.self, forKey: .beta) ?? 1
        }
    }

    public var kind: Kind
    public var terms: [Term]
    /// Rank offset of `rank` fusion (default 60).
    public var k: Double?

    public init(kind: Kind, terms: [Term], k: Double? = nil) {
        self.kind = kind
        self.terms = terms
        self.k = k
    }

    /// Resolves task names to logit columns of a model with `tasks`, checking the parameters.
    public func compiled(tasks: [String], scene: String = "scene", file: String = "fusion config") throws -> ScoreFusion {
        guard !terms.isEmpty else { throw RankError.config("\(file): scene '\(scene)' has no terms") }
        var columns: [Int] = []
        for (i, t) in terms.enumerated() {
            guard let c = tasks.firstIndex(of: t.task) else {
                throw RankError.config("\(file): scene '\(scene)' term \(i + 1) names unknown task '\(t.task)' (model tasks: \(tasks.joined(separator: ", ")))")
            }
            guard t.weight.isFinite, t.alpha.isFinite, t.beta.isFinite else {
                throw RankError.config("\(file): scene '\(scene)' term '\(t.task)': weight, alpha and beta must be finite")
            }
            if kind == .weightedProduct, t.alpha < 0 {
                throw RankError.config("\(file): scene '\(scene)' term '\(t.task)': alpha must be >= 0, got \(t.alpha)")
            }
            columns.append(c)
        }
        let k = self.k ?? 60
        guard kind != .rank || (k.isFinite && k >= 0) else { throw RankError.config("\(file): scene '\(scene)': k must be >= 0, got \(k)") }
        return ScoreFusion(kind: kind, columns: columns, weights: terms.map(\.weight), alphas: terms.map(\.alpha),
                           betas: terms.map(\.beta), k: k, taskCount: tasks.count)
    }
}

/// A formula bound to a model's task columns: scores a candidate list.
public struct ScoreFusion: Sendable, Equatable {
    public let kind: FusionFormula.Kind
    let columns: [Int]
    let weights: [Double], alphas: [Double], betas: [Double]
    let k: Double
    let taskCount: Int

    /// One fused score per candidate from probabilities `p` [candidates][tasks] (the model's
    /// task order). O(candidates x terms), plus a sort per term for `rank`.
    public func scores(_ p: [[Float]]) -> [Double] {
        for row in p { precondition(row.count == taskCount, "fusion: rows need \(taskCount) task columns, got \(row.count)") }
        let n = p.count
        switch kind {
        case .weightedSum:
            return p.map { row in zip(columns, weights).reduce(0.0) { $0 + $1.1 * Double(row[$1.0]) } }
        case .weightedProduct:
            return p.map { row in
                var s = 1.0
                for (j, c) in columns.enumerated() { s *= Foundation.pow(Double(row[c]) + alphas[j], betas[j]) }
                return s
            }
        case .rank:
            var out = [Double](repeating: 0, count: n)
            for (j, c) in columns.enumerated() {
                let ranks = Self.ranks(p.map { $0[c] })
                for i in 0..<n { out[i] += weights[j] / (Double(ranks[i]) + k) }
            }
            return out
        }
    }

    /// Candidate indices best first (ties keep the input order).
    public func order(_ p: [[Float]]) -> [Int] {
        let s = scores(p)
        return s.indices.sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
    }

    /// 1-based descending ranks; equal values share the best rank (1 + the number of larger values).
    static func ranks(_ v: [Float]) -> [Int] {
        let order = v.indices.sorted { v[$0] > v[$1] }
        var r = [Int](repeating: 0, count: v.count)
        for (pos, i) in order.enumerated() {
            r[i] = pos > 0 && v[order[pos - 1]] == v[i] ? r[order[pos - 1]] : pos + 1
        }
        return r
    }
}
