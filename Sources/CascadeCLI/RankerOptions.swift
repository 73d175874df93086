import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeRank

/// The ranker's settings, declared once: `train`, `eval` and `experiment simulate` read the
/// same flags, with the defaults of ``RankStageConfig`` (the settings that won the closed loop).
struct RankerOptions: ParsableArguments {
    @Option(help: "Ranker trained from logged impressions (\(RankModels.names.joined(separator: ", "))) or none; a three-tower pre-ranker is distilled from it.")
    var rank: String = RankStageConfig().model

    @Option(help: "Epochs of the ranker.")
    var rankEpochs: Int = RankStageConfig().epochs

    @Option(help: "Embedding size of the ranker and pre-ranker (the ranker's cost grows with its square).")
    var rankDim: Int = RankStageConfig().embeddingDim

    @Option(help: "Hidden layer sizes of the ranker, comma-separated.")
    var rankHidden: String = RankStageConfig().hidden.map(String.init).joined(separator: ",")

    @Option(help: "Adam learning rate of the ranker.")
    var rankLr: Float = RankStageConfig().learningRate

    @Option(help: "Dropout rate of the ranker's deep layers.")
    var rankDropout: Float = RankStageConfig().dropout

    @Option(help: "L2 on the ranker's embedding rows each batch touches.")
    var rankEmbeddingL2: Float = RankStageConfig().embeddingL2

    @Option(help: "Decay of a moving average of the ranker's weights (e.g. 0.999), used for validation and the kept model. Default: off.")
    var rankWeightAverage: Float?

    @Option(help: "Feature-id dropout of the ranker while training, e.g. user=0.1,item=0.05 (the unknown row learns about new users and items).")
    var rankIdDropout: String?

    @Option(help: "Days of logged impressions the ranker learns from, back from the newest event. Default: the whole log.")
    var rankWindowDays: Double?

    @Option(help: "At most this many of the window's most recent impressions. Default: every impression of the window.")
    var rankMaxSamples: Int?

    @Option(help: "Tasks of the ranker, comma-separated, among \(RankStageConfig().tasks.joined(separator: ", ")) (tasks without positives are dropped).")
    var rankTasks: String = RankStageConfig().tasks.joined(separator: ",")

    @Flag(inversion: .prefixedNo, help: "Give the ranker the user's behaviour toward each candidate (positives and impressions on its category, top category and author among the user's recent events).")
    var rankHistory = RankStageConfig().historyFeatures

    @Flag(inversion: .prefixedNo, help: "Give the ranker the statistics counters the store keeps (the candidate's impressions and click-through over a day, a week and all time; likes and watch seconds per click).")
    var rankCounters = RankStageConfig().counterFeatures

    @Option(help: "Length of the user's behaviour sequence the ranker attends over, candidate by candidate (DIN's target attention over the newest distinct positives); 0: none.")
    var rankBehaviour: Int = RankStageConfig().behaviourLength

    @Option(help: "Hidden sizes of the attention unit that scores each step of the behaviour sequence, comma-separated.")
    var rankAttentionHidden: String = RankStageConfig().attentionHidden.map(String.init).joined(separator: ",")

    @Flag(inversion: .prefixedNo, help: "Calibrate each task's probability (piecewise linear on held-out impressions) before the fusion weighs them.")
    var rankCalibrate = RankStageConfig().calibrate

    /// Bad values stop the command before it opens or changes anything.
    func validate() throws {
        var c = RankStageConfig()
        do { try apply(to: &c) } catch let e as CascadeError { throw ValidationError(e.description) }
    }

    /// Sets `c` from the flags; a bad value is refused naming its flag and what it allows.
    func apply(to c: inout RankStageConfig) throws {
        let model = rank.lowercased()
        let enabled: Bool
        switch model {
        case "none": enabled = false
        case _ where RankModels.names.contains(model): enabled = true
        default: throw CascadeError.invalid("--rank: unknown model '\(rank)'; models: \(RankModels.names.joined(separator: ", ")), none")
        }
        guard rankEpochs >= 1 else { throw CascadeError.invalid("--rank-epochs must be >= 1") }
        guard (1...256).contains(rankDim) else { throw CascadeError.invalid("--rank-dim must be in 1...256") }
        let hidden = rankHidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !hidden.isEmpty, hidden.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw CascadeError.invalid("--rank-hidden: expected positive sizes such as 128,64, got '\(rankHidden)'")
        }
        guard rankLr > 0, rankLr.isFinite else { throw CascadeError.invalid("--rank-lr must be positive, got \(rankLr)") }
        guard (0..<1).contains(rankDropout) else { throw CascadeError.invalid("--rank-dropout must be in [0, 1), got \(rankDropout)") }
        guard rankEmbeddingL2 >= 0, rankEmbeddingL2.isFinite else { throw CascadeError.invalid("--rank-embedding-l2 must be >= 0") }
        if let d = rankWeightAverage, !(d > 0 && d < 1) { throw CascadeError.invalid("--rank-weight-average must be in (0, 1), got \(d)") }
        if let m = rankMaxSamples, m < 1 { throw CascadeError.invalid("--rank-max-samples must be >= 1, got \(m)") }
        if let d = rankWindowDays, !(d > 0 && d.isFinite) { throw CascadeError.invalid("--rank-window-days must be positive, got \(d)") }
        guard (0...500).contains(rankBehaviour) else { throw CascadeError.invalid("--rank-behaviour must be in 0...500, got \(rankBehaviour)") }
        let attention = rankAttentionHidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !attention.isEmpty, attention.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw CascadeError.invalid("--rank-attention-hidden: expected positive sizes such as 16, got '\(rankAttentionHidden)'")
        }
        let known = RankStageConfig().tasks
        let tasks = rankTasks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !tasks.isEmpty, tasks.allSatisfy(known.contains) else {
            throw CascadeError.invalid("--rank-tasks: expected some of \(known.joined(separator: ",")), got '\(rankTasks)'")
        }
        var idDropout: [String: Float] = [:]
        for entry in (rankIdDropout ?? "").split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let rate = Float(parts[1]), rate >= 0, rate < 1 else {
                throw CascadeError.invalid("--rank-id-dropout: '\(entry)' is not name=rate with a rate in [0, 1)")
            }
            idDropout[parts[0]] = rate
        }
        c.enabled = enabled
        if enabled { c.model = model }
        c.epochs = rankEpochs
        c.embeddingDim = rankDim
        c.hidden = hidden.map { $0! }
        c.learningRate = rankLr
        c.dropout = rankDropout
        c.embeddingL2 = rankEmbeddingL2
        c.weightAverageDecay = rankWeightAverage
        c.idDropout = idDropout
        c.maxSamples = rankMaxSamples
        c.windowDays = rankWindowDays
        c.tasks = tasks
        c.historyFeatures = rankHistory
        c.counterFeatures = rankCounters
        c.calibrate = rankCalibrate
        c.behaviourLength = rankBehaviour
        c.attentionHidden = attention.map { $0! }
    }
}
