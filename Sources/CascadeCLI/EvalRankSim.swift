import ArgumentParser
import CascadeCore
import CascadeEval
import CascadeRank
import CascadeSim
import CascadeTensor
import Foundation

/// `cascade eval rank-sim`: ranking models on a simulated world, against the Bayes-optimal AUC.
struct EvalRankSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank-sim",
        abstract: "Train ranking models on a simulated world's impressions and compare each task's AUC with the Bayes-optimal AUC.",
        discussion: """
            Simulates a world, turns its impressions into rows (user and item attributes, position, \
            hour, item age, whether the user follows the author, user-item distance, and with \
            --statistics lagged user and item counts and rates, and the user's hit counts and click rates \
            on the candidate's category, subcategory and author) with labels \
            click, like, finish (and watch_time with --watch), splits them by time (train, valid, \
            test), trains each --models model on every task and, with --single-task, one DCN-V2 per \
            task. Prints per task and model AUC, GAUC, logloss and calibration on the test rows beside \
            the Bayes-optimal AUC of the true probabilities on the same rows.
            Models: \(RankModelRegistry.names.joined(separator: ", ")).
            """)

    @Option(help: "World size: small (500 users, 2k items, 50k events), medium (2k users, 5k items, 300k events), large (10k users, 20k items, 1.5M events).")
    var size: String = "small"
    @Option(help: "Override the number of logged events.") var events: Int?
    @Option(help: "World seed.") var worldSeed: UInt64 = 42
    @Option(help: "Multi-task models, comma-separated (trained on every task).") var models: String = "dcnv2,mmoe"
    @Flag(inversion: .prefixedNo, help: "Also train one single-task DCN-V2 per task.") var singleTask = true
    @Option(help: "Tasks, comma-separated (click, like, finish).") var tasks: String = "click,like,finish"
    @Flag(help: "Add a watch-time task (weighted logistic, served as exp(logit)) to the multi-task models.") var watch = false
    @Option(help: "Share of the impressions (the latest) for validation.") var validFrac: Double = 0.1
    @Option(help: "Share of the impressions (the latest) for the test.") var testFrac: Double = 0.2
    @Flag(inversion: .prefixedNo, help: "Add streaming user and item statistics features (counts, smoothed click/like/finish rates of older impressions).")
    var statistics = false
    @Option(help: "Lag of the statistics counters in seconds.") var statisticsDelay: Double = 600
    @Option(help: "With --statistics: item columns whose user-level hit counts and click rates are added (comma-separated, e.g. category,subcategory,author; empty: none).")
    var crossStatistics: String = "category,subcategory,author"
    @Flag(help: "Add the user's clicked items (last 50 strictly before each impression, with their subcategories) as a behaviour sequence; sequence models (din, sim) and pooling models use it.")
    var sequences = false
    @Option(help: "Keep this share of the non-clicked training rows (negative down-sampling; predictions are re-calibrated).") var negRate: Double = 1
    @Option(help: "Maximum epochs.") var epochs: Int = 10
    @Option(help: "Epochs without a better mean validation AUC before stopping.") var patience: Int = 2
    @Option(help: "Mini-batch size.") var batchSize: Int = 512
    @Option(help: "Adam learning rate.") var lr: Float = 1e-3
    @Option(help: "Learning rate of the embedding tables (default: --lr).") var embeddingLr: Float?
    @Option(help: "L2 on the embedding rows each batch touches.") var embeddingL2: Float = 0
    @Option(help: "Embedding dimension.") var dim: Int = 16
    @Option(help: "Hidden layer sizes, comma-separated.") var hidden: String = "256,128"
    @Option(help: "DCN-V2 cross layers.") var crossLayers: Int = 3
    @Option(help: "MMoE experts.") var experts: Int = 4
    @Option(help: "MMoE expert hidden sizes (default: --hidden).") var expertHidden: String?
    @Option(help: "Task tower hidden sizes (default: half the last hidden size).") var towerHidden: String?
    @Option(help: "MMoE expert dropout rate of the gates.") var expertDropout: Float = 0
    @Flag(help: "Uncertainty weighting of the task losses (Kendall et al. 2018).") var uncertainty = false
    @Option(help: "Fixed task loss weights, comma-separated.") var taskWeights: String?
    @Option(help: "Dropout rate of the deep layers.") var dropout: Float = 0
    @Option(help: "Decay of a moving average of the weights (e.g. 0.999); validation and the kept model use the average. Default: off.")
    var weightAverage: Float?
    @Option(help: "Also evaluate each --models model trained online: after the offline fit it learns the validation rows, then predicts the test rows in windows of this many seconds, learning each window once its labels are in (progressive validation); user and item ids come from the catalog. 0: off.")
    var onlineWindow: Double = 0
    @Option(help: "Learning rate of the online updates (default: --lr).") var onlineLr: Float?
    @Option(help: "Kernel threads.") var threads: Int = 1
    @Option(help: "Model seed.") var seed: UInt64 = 42

    func sizes(_ s: String?) throws -> [Int]? {
        guard let s else { return nil }
        return try s.split(separator: ",").map {
            guard let h = Int($0.trimmingCharacters(in: .whitespaces)), h > 0 else { throw ValidationError("'\($0)' is not a positive size") }
            return h
        }
    }

    func worldConfig() throws -> SimConfig {
        var c: SimConfig
        switch size.lowercased() {
        case "small": c = .small(seed: worldSeed)
        case "medium":
            c = .small(seed: worldSeed)
            c.users = 2_000; c.items = 5_000; c.events = 300_000; c.authors = 200
            c.policy.popularPoolSize = 200
        case "large":
            c = SimConfig(users: 10_000, items: 20_000, events: 1_500_000, seed: worldSeed)
        default: throw ValidationError("--size: '\(size)' is not small, medium or large")
        }
        if let events { c.events = events }
        return c
    }

    func run() throws {
        try runReporting {
            let taskNames = tasks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !taskNames.isEmpty, taskNames.allSatisfy({ ["click", "like", "finish"].contains($0) }) else {
                throw ValidationError("--tasks: choose from click, like, finish")
            }
            guard negRate > 0, negRate <= 1 else { throw ValidationError("--neg-rate must be in (0, 1]") }
            guard onlineWindow >= 0, (onlineLr ?? 1) > 0 else { throw ValidationError("--online-window must be >= 0 and --online-lr > 0") }
            if onlineWindow > 0 && negRate < 1 { throw ValidationError("--online-window learns every test row: it does not combine with --neg-rate") }
            guard embeddingL2 >= 0, (embeddingLr ?? 1) > 0 else { throw ValidationError("--embedding-l2 must be >= 0 and --embedding-lr > 0") }
            let names = models.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let started = Date()
            let world = SimulatedWorld.generate(try worldConfig())
            let records = Self.records(world)
            let crosses = statistics ? crossStatistics.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } : []
            let (train, valid, test) = try ImpressionSamples.build(records, validFraction: validFrac, testFraction: testFrac,
                                                                     statisticsDelay: statistics ? statisticsDelay : nil,
                                                                     crossColumns: crosses)
            var features = ImpressionSamples.featureConfig(records, statistics: statistics, crossColumns: crosses)
            if sequences {
                features.features.append(.sequence(name: "hist_click", source: "item", user: "user", time: "timestamp",
                                                   length: 50, side: "subcategory"))
            }
            // Online learning needs rows for ids first seen after training: the catalog's.
            let catalog = onlineWindow > 0
                ? ["user": (0..<world.config.users).map { "u\($0)" }, "item": (0..<world.config.items).map { "i\($0)" }] : [:]
            let pipeline = try FeaturePipeline(config: features, fitOn: train.frame, catalog: catalog)
            // Clicks known before each impression (as a serving system has them): every clicked
            // impression of any period, used strictly before its time; never the row's own label.
            var history: InteractionHistory?
            if sequences {
                let clicked = [train.frame, valid.frame, test.frame].map { f -> FeatureFrame in
                    let keep = (0..<f.rowCount).filter { f.columns["click"]![$0] == "1" }
                    return FeatureFrame(rowCount: keep.count, columns: f.columns.mapValues { col in keep.map { col[$0] } })
                }
                history = try pipeline.history(from: clicked)
            }
            print("world users=\(world.config.users) items=\(world.config.items) events=\(world.log.count) impressions=\(records.count)"
                  + " train=\(train.rows) valid=\(valid.rows) test=\(test.rows) seconds=\(fmt(Date().timeIntervalSince(started), 1))")
            print("features=" + features.features.map { "\($0.name):\($0.kind.rawValue)" }.joined(separator: " "))
            for t in taskNames {
                let y = test.labels(t)!
                print("task=\(t) test_rate=\(fmt(Double(y.reduce(0, +)) / Double(y.count), 4))"
                      + " bayes_auc_test=\(fmt(bayesAUC(test, t), 4)) bayes_auc_log=\(fmt(world.bayesOptimalAUC(Self.target(t)), 4))")
            }

            let multiLabels = taskNames + (watch ? ["watch_time"] : [])
            var trainB = try pipeline.encode(train.frame, history: history, labelColumns: multiLabels)
            if negRate < 1 {
                let kept = try NegativeSampling.downsample(labels: train.labels("click")!, rate: negRate, seed: seed)
                trainB = trainB.rows(kept)
                print("negative_sampling rate=\(negRate) train_rows=\(trainB.rows)")
            }
            let validB = try pipeline.encode(valid.frame, history: history, labelColumns: multiLabels)
            let testB = try pipeline.encode(test.frame, history: history, labelColumns: multiLabels)
            var options = RankTrainingOptions()
            options.epochs = epochs
            options.patience = patience
            options.batchSize = batchSize
            options.learningRate = lr
            options.threads = threads
            options.seed = seed
            options.weightAverageDecay = weightAverage
            options.embeddingLearningRate = embeddingLr
            options.embeddingL2 = embeddingL2

            var results: [String: [String: ClassificationReport]] = [:]  // task -> model -> report
            var sampledClick: [Float]?  // single-task click predictions in the sampled space
            func evaluate(_ label: String, _ model: any RankModel, columns: [String], _ fit: RankTrainingReport,
                          predictions: [[Float]]? = nil) throws {
                let p = try predictions ?? model.predict(testB, threads: threads)
                let clickColumn = columns.firstIndex(of: "click")
                for (j, t) in columns.enumerated() {
                    var q = p.map { $0[j] }
                    if t == "watch_time" {
                        let y = test.labels(t)!
                        let auc = try ClassificationMetrics.auc(labels: y.map { $0 > 0 ? 1 : 0 }, scores: q) ?? .nan
                        let meanPred = q.reduce(0, +) / Float(q.count), meanTrue = y.reduce(0, +) / Float(y.count)
                        print("task=watch_time model=\(label) auc_watched=\(fmt(auc, 4)) mean_pred_s=\(fmt(Double(meanPred), 2)) mean_true_s=\(fmt(Double(meanTrue), 2))")
                        continue
                    }
                    if negRate < 1 {
                        if t == "click" { q = NegativeSampling.recalibrate(q, rate: negRate) } else if let c = clickColumn.map({ k in p.map { $0[k] } }) ?? sampledClick {
                            q = zip(q, c).map { Float(NegativeSampling.recalibrateClickImplied(Double($0), sampledClick: Double($1), rate: negRate)) }
                        }
                    }
                    let r = try ClassificationReport.evaluate(labels: test.labels(t)!, predictions: q, users: test.users)
                    results[t, default: [:]][label] = r
                    let bayes = bayesAUC(test, t)
                    print("task=\(t) " + r.line(system: label) + " bayes_auc=\(fmt(bayes, 4)) gap=\(fmt(bayes - r.auc, 4))"
                          + " best_epoch=\(fit.bestEpoch) train_samples_per_s=\(Int(fit.samplesPerSecond))")
                }
            }
            func config(_ tasks: [String]) throws -> RankModelParameters {
                var c = RankModelParameters()
                c.embeddingDim = dim
                c.hidden = try sizes(hidden)!
                c.crossLayers = crossLayers
                c.dropout = dropout
                c.seed = seed
                c.tasks = tasks
                c.experts = experts
                c.expertHidden = try sizes(expertHidden)
                c.towerHidden = try sizes(towerHidden)
                c.expertDropout = expertDropout
                c.uncertaintyWeighting = uncertainty
                if let taskWeights {
                    c.taskWeights = try taskWeights.split(separator: ",").map {
                        guard let w = Float($0.trimmingCharacters(in: .whitespaces)), w >= 0 else { throw ValidationError("--task-weights: '\($0)'") }
                        return w
                    }
                }
                return c
            }
            for name in names { _ = try RankModelRegistry.make(name, pipeline: pipeline, parameters: try config(multiLabels)) }  // unknown names first

            if singleTask {
                for (j, t) in taskNames.enumerated() {
                    let m = try RankModelRegistry.make("dcnv2", pipeline: pipeline, parameters: try config([t]))
                    let fit = try RankTrainer.fit(m, train: try Self.column(trainB, j), valid: try Self.column(validB, j), options: options) { print($0) }
                    if t == "click" && negRate < 1 { sampledClick = try m.predict(testB, threads: threads).map { $0[0] } }
                    try evaluate("dcnv2-single", m, columns: [t], fit)
                }
            }
            for name in names {
                let m = try RankModelRegistry.make(name, pipeline: pipeline, parameters: try config(multiLabels))
                let fit = try RankTrainer.fit(m, train: trainB, valid: validB, options: options) { print($0) }
                try evaluate(name, m, columns: m.tasks, fit)
                if onlineWindow > 0 {
                    var online = options
                    online.learningRate = onlineLr ?? lr
                    let learner = try OnlineRankLearner(m, options: online)
                    try learner.learn(validB)
                    let windows = try OnlineRankLearner.windows(timestamps: test.timestamps, seconds: onlineWindow)
                    let p = try learner.progressive(testB, windows: windows, threads: threads)
                    print("model=\(name)-online windows=\(windows.count) rows_learnt=\(learner.rowsLearnt)")
                    try evaluate("\(name)-online", m, columns: m.tasks, fit, predictions: p)
                }
                if let mmoe = m as? MMoE {
                    let usage = try mmoe.gateUsage(testB.rows(0..<Swift.min(testB.rows, 4096)))
                    print("model=\(name) gate_usage=" + usage.enumerated().map { "\(m.tasks[$0.offset]):" + $0.element.map { fmt(Double($0), 2) }.joined(separator: "/") }.joined(separator: " "))
                }
            }

            print("summary")
            for t in taskNames {
                guard let byModel = results[t], let best = byModel.max(by: { $0.value.auc < $1.value.auc }) else { continue }
                let bayes = bayesAUC(test, t)
                var line = "task=\(t) bayes_auc=\(fmt(bayes, 4)) best=\(best.key) best_auc=\(fmt(best.value.auc, 4)) gap=\(fmt(bayes - best.value.auc, 4))"
                if let single = byModel["dcnv2-single"] {
                    for name in names { if let r = byModel[name] { line += " \(name)_minus_single=\(fmt(r.auc - single.auc, 4))" } }
                }
                print(line)
            }
            print("seconds=\(fmt(Date().timeIntervalSince(started), 1))")
        }
    }

    /// The AUC of the true probabilities of `task` on a split's rows against its labels.
    func bayesAUC(_ s: ImpressionSplit, _ task: String) -> Double {
        guard let p = s.truth[task], let y = s.labels(task) else { return .nan }
        return ((try? ClassificationMetrics.auc(labels: y, scores: p)) ?? nil) ?? .nan
    }

    static func target(_ task: String) -> TruthTarget {
        switch task { case "like": return .like; case "finish": return .finish; default: return .click }
    }

    /// The batch with only label column `j`.
    static func column(_ b: EncodedBatch, _ j: Int) throws -> EncodedBatch {
        try b.withLabels(Tensor(shape: [b.rows, 1], values: b.labelColumn(j)!))
    }

    /// The world's impressions as rows: outcome bits, true probabilities, watch time (the
    /// watch event that follows the impression's click), user and item attributes, and two
    /// per-impression context columns (the user follows the item's author; user-item distance
    /// in km for local items). O(events).
    static func records(_ w: SimulatedWorld) -> ImpressionRecords {
        var r = ImpressionRecords()
        let truths = w.impressionTruth, n = truths.count, log = w.log
        let watchCode = w.registry.code(of: .watch)
        var latest: [UInt64: Int] = [:]
        var watch = [Float](repeating: 0, count: n)
        var pClick = [Float](), pLike = [Float](), pFinish = [Float]()
        var follows = [String](), distance = [String]()
        let followed: [Set<String>] = w.users.map { Set($0.tags.filter { $0.hasPrefix("follow:") }.map { String($0.dropFirst(7)) }) }
        var t = 0
        for k in 0..<log.count {
            let u = log.users[k], i = log.items[k]
            let key = UInt64(UInt32(bitPattern: u)) << 32 | UInt64(UInt32(bitPattern: i))
            if t < n && Int(truths[t].event) == k {
                let x = truths[t]
                r.users.append(u); r.items.append(i); r.timestamps.append(log.timestamps[k])
                r.positions.append(Int(x.position))
                r.clicked.append(x.outcome.contains(.clicked)); r.liked.append(x.outcome.contains(.liked))
                r.finished.append(x.outcome.contains(.finished))
                pClick.append(x.click); pLike.append(x.like); pFinish.append(x.finish)
                let item = w.items[Int(i)], user = w.users[Int(u)]
                follows.append(item.author.map { followed[Int(u)].contains($0) } ?? false ? "1" : "0")
                if let a = item.location, let b = user.location { distance.append(String(Int(a.distanceKm(to: b)))) } else { distance.append("") }
                latest[key] = t
                t += 1
            } else if log.types[k] == watchCode, let idx = latest[key] {
                watch[idx] = log.values[k]
            }
        }
        r.watchSeconds = watch
        r.truth = ["click": pClick, "like": pLike, "finish": pFinish]
        r.contextColumns = ["follows_author": follows, "distance_km": distance]
        for key in ["age_band", "gender", "platform", "city"] { r.userColumns[key] = w.users.map { $0.categorical[key] ?? "" } }
        r.userColumns["user_tags"] = w.users.map { $0.tags.joined(separator: "|") }
        r.itemColumns["category"] = w.items.map { $0.categories.first ?? "" }
        r.itemColumns["subcategory"] = w.items.map { $0.categories.dropFirst().first ?? "" }
        r.itemColumns["author"] = w.items.map { $0.author ?? "" }
        r.itemColumns["item_tags"] = w.items.map { $0.tags.joined(separator: "|") }
        r.itemColumns["item_length"] = w.items.map { $0.numeric["length"].map { String(Int($0)) } ?? "" }
        r.itemPublishedAt = w.items.map { $0.publishedAt ?? w.config.start }
        return r
    }
}

private func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
