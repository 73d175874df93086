import ArgumentParser
import CascadeEval
import CascadeImport
import CascadeRank
import CascadeTensor
import Foundation

struct EvalRank: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract: "Train ranking models on CSV files and score them on a test file (AUC, GAUC, logloss, calibration).",
        discussion: """
            Files: a header line, a label column (0/1), categorical columns, '|'-separated bags \
            (genres, tags), and optionally a Unix-seconds timestamp (scene features hour and weekday; with \
            user and item columns also the behaviour sequence hist_item of DIN/SIM: each row's last \
            --history-length \
            items before its time, validation and test rows reading all earlier rows of the three files). \
            Without --config the features are inferred from the columns (printed; save it with \
            --save-config to edit). Early stopping on the validation AUC. With --out, writes \
            user,item,timestamp,score for every test row (the last model named).
            Models: \(RankModelRegistry.names.joined(separator: ", ")).
            """)

    @Option(help: "Training CSV.") var train: String
    @Option(help: "Validation CSV (early stopping).") var valid: String
    @Option(help: "Test CSV.") var test: String
    @Option(help: "Model name(s), comma-separated.") var model: String = "dcnv2"
    @Option(help: "Feature config JSON (default: inferred).") var config: String?
    @Option(help: "Write the feature config used to this path.") var saveConfig: String?
    @Option(help: "Predictions CSV to write.") var out: String?
    @Option(help: "Write the trained model (last one named) with its feature pipeline to this file.") var saveModel: String?
    @Option(help: "Label column.") var label: String = "label"
    @Option(help: "User column (GAUC and the predictions file).") var userColumn: String = "user"
    @Option(help: "Item column (predictions file).") var itemColumn: String = "item"
    @Option(help: "Timestamp column (predictions file).") var timeColumn: String = "timestamp"
    @Option(help: "Maximum epochs.") var epochs: Int = 10
    @Option(help: "Mini-batch size.") var batchSize: Int = 512
    @Option(help: "Adam learning rate.") var lr: Float = 1e-3
    @Option(help: "Embedding dimension.") var dim: Int = 16
    @Option(help: "Hidden layer sizes, comma-separated.") var hidden: String = "256,128"
    @Option(help: "DCN-V2 cross layers.") var crossLayers: Int = 3
    @Option(help: "Dropout rate of the deep layers.") var dropout: Float = 0
    @Option(help: "L2 on the embedding rows each batch touches.") var embeddingL2: Float = 0
    @Option(help: "Also report predictions calibrated on the validation rows: isotonic or piecewise-linear.") var calibrate: String?
    @Option(help: "Minimum count of a categorical value in training (rarer values share the unknown id).") var minCount: Int = 1
    @Option(help: "Length of the inferred behaviour sequence hist_item (0: none).") var historyLength: Int = 50
    @Option(help: "SIM: history steps kept by the category search.") var simTopK: Int = 20
    @Option(help: "Feature-id dropout while training, e.g. user=0.2,item=0.05: the share of training rows whose id is replaced by the unknown id (teaches the model about new users and items).")
    var idDropout: String?
    @Option(help: "After early stopping, train this many more epochs on the validation rows (the newest data, as a daily incremental update would; they are then no longer held out, so --calibrate fits on rows the model has seen).")
    var updateOnValid: Int = 0
    @Option(help: "Decay of a moving average of the weights (e.g. 0.999); validation and the kept model use the average. Default: off.")
    var weightAverage: Float?
    @Option(help: "Kernel threads.") var threads: Int = 1
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Key columns of the statistics features (counts and smoothed positive rates before each row; empty: none).")
    var statsKeys: String = "user"

    func validate() throws {
        if let calibrate, ScoreCalibrator.Method(rawValue: calibrate) == nil {
            throw ValidationError("--calibrate must be isotonic or piecewise-linear, got \(calibrate)")
        }
        if let weightAverage, !(weightAverage > 0 && weightAverage < 1) {
            throw ValidationError("--weight-average must be in (0, 1), got \(weightAverage)")
        }
        guard updateOnValid >= 0 else { throw ValidationError("--update-on-valid must be >= 0") }
        guard epochs >= 1, batchSize >= 1, lr > 0, dim >= 1, embeddingL2 >= 0, (0..<1).contains(dropout) else {
            throw ValidationError("need --epochs >= 1, --batch-size >= 1, --lr > 0, --dim >= 1, --embedding-l2 >= 0, --dropout in [0, 1)")
        }
    }

    func run() throws {
        try runReporting {
            let trainT = try CSVTable.read(train), validT = try CSVTable.read(valid), testT = try CSVTable.read(test)
            var trainF = frame(trainT), validF = frame(validT), testF = frame(testT)
            var features: FeatureConfig
            if let config { features = try FeatureConfig.load(config) } else {
                features = FeatureConfig.infer(from: trainF, label: label, minCount: minCount, historyLength: historyLength)
            }
            // Statistics: exposure counts are online everywhere (they need no label); positive
            // rates use labels of training rows online, validation rows see the labelled counts
            // at the end of training, test rows those at the end of validation (never their own).
            let keys = statsKeys.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if !keys.isEmpty {
                let stats = StatisticsFeatures(keys: keys, timeColumn: timeColumn, labelColumn: label)
                try stats.augment(&trainF, learnLabels: true)
                try stats.augment(&validF, learnLabels: false)
                try stats.learn(validF)
                try stats.augment(&testF, learnLabels: false)
                if config == nil { features.features += stats.featureSpecs }
            }
            let json = try JSONEncoder.pretty.encode(features)
            if let saveConfig { try json.write(to: URL(fileURLWithPath: saveConfig)) }
            if config == nil {
                print("features=inferred " + features.features.map { "\($0.name):\($0.kind.rawValue)" }.joined(separator: " "))
            }
            let names = model.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            var modelConfig = RankModelParameters()
            modelConfig.embeddingDim = dim
            modelConfig.hidden = try hidden.split(separator: ",").map {
                guard let h = Int($0), h > 0 else { throw ValidationError("--hidden: '\($0)' is not a positive size") }
                return h
            }
            modelConfig.crossLayers = crossLayers
            modelConfig.dropout = dropout
            modelConfig.seed = seed
            modelConfig.simTopK = simTopK
            let pipeline = try FeaturePipeline(config: features, fitOn: trainF)
            for name in names { _ = try RankModelRegistry.make(name, pipeline: pipeline, parameters: modelConfig) }  // reject unknown names first
            // Behaviour sequences: training rows see earlier training rows; validation and test rows
            // see every earlier row of the three files (the items interacted with, not the labels).
            let known = try pipeline.sequenceFeatures.isEmpty ? nil : pipeline.history(from: [trainF, validF, testF])
            let trainB = try pipeline.encode(trainF)
            let validB = try pipeline.encode(validF, history: known), testB = try pipeline.encode(testF, history: known)
            guard let y = testB.labelColumn() else { throw ValidationError("\(test): no '\(label)' column") }
            let users = userIds(testT)
            var options = RankTrainingOptions()
            options.epochs = epochs
            options.batchSize = batchSize
            options.learningRate = lr
            options.embeddingL2 = embeddingL2
            options.threads = threads
            options.idDropout = try idDropouts(pipeline)
            options.weightAverageDecay = weightAverage
            for name in names {
                let m = try RankModelRegistry.make(name, pipeline: pipeline, parameters: modelConfig)
                let report = try RankTrainer.fit(m, train: trainB, valid: validB, options: options) { print($0) }
                if updateOnValid > 0 {
                    var update = options
                    update.epochs = updateOnValid
                    _ = try RankTrainer.fit(m, train: validB, valid: nil, options: update) { print("update_on_valid " + $0) }
                }
                let p = try m.predict(testB, threads: threads).map { $0[0] }
                let r = try ClassificationReport.evaluate(labels: y, predictions: p, users: users)
                print(r.line(system: "cascade-\(name)") + " best_epoch=\(report.bestEpoch) train_samples_per_s=\(Int(report.samplesPerSecond))")
                if let calibrate {
                    guard let method = ScoreCalibrator.Method(rawValue: calibrate) else {
                        throw ValidationError("--calibrate must be isotonic or piecewise-linear, got \(calibrate)")
                    }
                    let cal = try RankCalibration.fit(method, model: m, heldOut: validB, threads: threads)
                    var q = p
                    cal.apply(task: 0, &q)
                    let rc = try ClassificationReport.evaluate(labels: y, predictions: q, users: users)
                    print(rc.line(system: "cascade-\(name)-\(calibrate)"))
                }
                if let out, name == names.last { try writePredictions(testT, p, to: out) }
                if let saveModel, name == names.last {
                    try RankModelFile.write(model: m, pipeline: pipeline, config: modelConfig, to: saveModel)
                }
            }
        }
    }

    /// Parses `--id-dropout name=rate,...` against the fitted pipeline.
    func idDropouts(_ pipeline: FeaturePipeline) throws -> [RankTrainingOptions.IdDropout] {
        guard let idDropout else { return [] }
        return try idDropout.split(separator: ",").map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let rate = Float(parts[1]) else {
                throw ValidationError("--id-dropout: '\(entry)' is not name=rate")
            }
            return try pipeline.idDropout(parts[0], rate: rate)
        }
    }

    func frame(_ t: CSVTable) -> FeatureFrame {
        FeatureFrame(rowCount: t.rowCount, columns: Dictionary(uniqueKeysWithValues: zip(t.header, t.columns)))
    }

    func userIds(_ t: CSVTable) -> [Int32] {
        guard let col = try? t.column(userColumn) else { return [Int32](repeating: 0, count: t.rowCount) }
        var ids: [String: Int32] = [:]
        return col.map { u in
            if let i = ids[u] { return i }
            let i = Int32(ids.count)
            ids[u] = i
            return i
        }
    }

    func writePredictions(_ t: CSVTable, _ scores: [Float], to path: String) throws {
        let u = try t.column(userColumn, file: test), i = try t.column(itemColumn, file: test)
        let ts = (try? t.column(timeColumn, file: test)) ?? [String](repeating: "", count: t.rowCount)
        var text = "user,item,timestamp,score\n"
        for r in 0..<t.rowCount { text += "\(csv(u[r])),\(csv(i[r])),\(csv(ts[r])),\(scores[r])\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func csv(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}
