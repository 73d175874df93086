import CascadeCore
import CascadeEval
import CascadeRank
import CascadeRecall
import CascadeStore
import CascadeTensor
import Foundation

extension RankTraining {
    /// What an incremental ranker update did.
    public struct RefreshReport: Sendable {
        /// Impressions of the window learnt.
        public var samples: Int
        public var tasks: [String]
        /// AUC per task of the active ranker on the window's impressions, measured before it
        /// learnt them (progressive validation: how the served model did on that period).
        public var aucBefore: [String: Double]
        public var versions: [String: Int]
        public var seconds: Double
    }

    /// Incremental update of the active ranker between full retrains: the model continues from
    /// its published weights with one pass over the impressions of the last `days` days (counted
    /// back from the newest event; see ``OnlineRankLearner``), at a third of the full training's
    /// learning rate, keeping its feature pipeline (ids first seen since the full training keep
    /// the unknown row until the next one). The pre-ranker, when one is active, is distilled
    /// from the updated ranker for one epoch on the same rows, continuing from its weights, and
    /// both are published as new versions (pre-ranker first, as ``train(store:log:config:)``
    /// does). Returns nil (nothing published) when no ranker is active or the window has no
    /// impression. O(window rows x model cost).
    public static func refresh(store: any Store, log: EventLog, days: Double, config: RankStageConfig) throws -> RefreshReport? {
        guard let active = try store.activeArtifact(name: ModelArtifact.rank) else { return nil }
        return try refresh(store: store, active: active, log: log, days: days, config: config)
    }

    /// As above, on the active ranker artifact the caller has already read.
    static func refresh(store: any Store, active: Artifact, log: EventLog, days: Double, config: RankStageConfig) throws -> RefreshReport? {
        guard days > 0 else { throw CascadeError.invalid("refresh window must be positive, got \(days) days") }
        let start = Date()
        let (model, pipeline, modelConfig) = try RankModelFile.decodeWithConfig(try ModelArtifact.data(of: active, name: ModelArtifact.rank), path: "rank v\(active.info.version)")
        let ids = try store.idSnapshot()
        let attributes = try RankAttributes.load(store: store, ids: ids)
        let registry = try store.eventTypes()
        let usesHistory = pipeline.config.features.contains { HistoryFeatures.columnNames.contains($0.name) }
        let usesCounters = pipeline.config.features.contains { CounterFeatures.columnNames.contains($0.name) }
        // The window's impressions only, encoded in chunks as training does.
        let window = samples(log: log, registry: registry, maxSamples: config.maxSamples, windowDays: days,
                             history: usesHistory ? attributes.history : nil, counters: usesCounters ? attributes.counters : nil,
                             userCount: ids.users.count)
        let count = window.records.count
        guard count > 0 else {
            logger.info("ranker not refreshed: no impression in the window", metadata: ["days": "\(days)"])
            return nil
        }
        let outcomes = labels(window.records)
        for t in model.tasks where outcomes[t] == nil {
            throw CascadeError.corrupt("rank v\(active.info.version): unknown task '\(t)'")
        }
        func frame(_ r: Range<Int>) -> FeatureFrame { frameOf(r, samples: window, attributes: attributes, labels: outcomes, tasks: model.tasks) }
        // The behaviour sequences the ranker was trained with (each row: the positives before it).
        let behaviour = try pipeline.sequenceFeatures.first.map { f in
            try BehaviourSequence(registry: registry, length: f.length ?? 1).history(log: log, category: attributes.itemColumns["item_category"],
                                                                                     pipeline: pipeline)
        }
        let rows = try pipeline.encode(rows: 0..<count, history: behaviour, labelColumns: model.tasks, frame: frame)

        var aucBefore: [String: Double] = [:]
        let p = try model.predict(rows, threads: nil)
        for (j, t) in model.tasks.enumerated() {
            aucBefore[t] = try ClassificationMetrics.auc(labels: (rows.labelColumn(j) ?? []).map { TaskKind.inferred(t).binarized($0) },
                                                         scores: p.map { $0[j] }) ?? .nan
        }
        var options = RankTrainingOptions()
        options.learningRate /= 3
        options.threads = nil
        try OnlineRankLearner(model, options: options).learn(rows)

        var versions: [String: Int] = [:]
        if config.preRank, let pre = try store.activeArtifact(name: ModelArtifact.preRank) {
            let (student, studentPipeline) = try ThreeTowerFile.decode(try ModelArtifact.data(of: pre, name: ModelArtifact.preRank), path: "prerank v\(pre.info.version)")
            var d = DistillationOptions()
            d.epochs = 1
            d.learningRate /= 3
            d.threads = nil
            // The pre-ranker reads the ranker's pipeline (one training fits both).
            let studentRows = try studentPipeline.encode(rows: 0..<count, history: behaviour, labelColumns: model.tasks, frame: frame)
            _ = try ThreeTowerTrainer.distill(student, teacher: model, train: studentRows, options: d)
            versions["prerank"] = try ModelArtifact.publish(store: store, name: ModelArtifact.preRank,
                                                            manifest: ["kind": "prerank", "rank_samples": "\(count)", "incremental_from": "\(pre.info.version)"],
                                                            payload: try ThreeTowerFile.encode(student, pipeline: studentPipeline))
        }
        var manifest = active.info.manifest
        manifest["samples"] = "\(count)"
        manifest["incremental_from"] = "\(active.info.version)"
        manifest["auc_before"] = model.tasks.map { String(format: "%.4f", aucBefore[$0] ?? .nan) }.joined(separator: ",")
        versions["rank"] = try ModelArtifact.publish(store: store, name: ModelArtifact.rank, manifest: manifest,
                                                 payload: try RankModelFile.encode(model: model, pipeline: pipeline, config: modelConfig))
        logger.info("refreshed ranker", metadata: ["model": "\(model.kind)", "samples": "\(count)", "auc_before": "\(aucBefore)"])
        return RefreshReport(samples: count, tasks: model.tasks, aucBefore: aucBefore, versions: versions,
                             seconds: Date().timeIntervalSince(start))
    }
}
