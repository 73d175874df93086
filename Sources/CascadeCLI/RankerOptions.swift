import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeRank

/// The ranker's settings, declared once: `train`, `eval` and `experiment simulate` read the
/// same flags, with the defaults of ``RankStageConfig`` (the settings that won the closed loop).
struct RankerOptions: ParsableArguments {
    @Option(help: "Ranker trained from logged impressions (\(RankModels.names.joined(separator: ", "))) or none; a three-tower pre-ranker is distilled from it. Default: \(RankStageConfig().model).")
    var rank: String?

    @Option(help: "Epochs of the ranker. Default: \(RankStageConfig().epochs).")
    var rankEpochs: Int?

    @Option(help: "Embedding size of the ranker and pre-ranker (the ranker's cost grows with its square). Default: \(RankStageConfig().embeddingDim).")
    var rankDim: Int?

    @Option(help: "Hidden layer sizes of the ranker, comma-separated. Default: \(RankStageConfig().hidden.map(String.init).joined(separator: ",")).")
    var rankHidden: String?

    @Option(help: "Adam learning rate of the ranker. Default: \(RankStageConfig().learningRate).")
    var rankLr: Float?

    @Option(help: "Dropout rate of the ranker's deep layers. Default: \(RankStageConfig().dropout).")
    var rankDropout: Float?

    @Option(help: "L2 on the ranker's embedding rows each batch touches. Default: \(RankStageConfig().embeddingL2).")
    var rankEmbeddingL2: Float?

    @Option(help: "Decay of a moving average of the ranker's weights (e.g. 0.999), used for validation and the kept model. Default: off.")
    var rankWeightAverage: Float?

    @Option(help: "Feature-id dropout of the ranker while training, e.g. user=0.1,item=0.05 (the unknown row learns about new users and items).")
    var rankIdDropout: String?

    @Option(help: "Days of logged impressions the ranker learns from, back from the newest event. Default: the whole log.")
    var rankWindowDays: Double?

    @Option(help: "At most this many of the window's most recent impressions. Default: every impression of the window.")
    var rankMaxSamples: Int?

    @Option(help: "Tasks of the ranker, comma-separated, among \(RankStageConfig().tasks.joined(separator: ", ")) (tasks without positives are dropped).")
    var rankTasks: String?

    @Flag(inversion: .prefixedNo, help: "Give the ranker the user's behaviour toward each candidate (positives and impressions on its category, top category and author among the user's recent events). Default: on.")
    var rankHistory: Bool?

    @Flag(inversion: .prefixedNo, help: "Give the ranker the statistics counters the store keeps (the candidate's impressions and click-through over a day, a week and all time; likes and watch seconds per click). Default: off.")
    var rankCounters: Bool?

    @Option(help: "Length of the user's behaviour sequence the ranker attends over, candidate by candidate (DIN's target attention over the newest distinct positives); 0: none. Default: \(RankStageConfig().behaviourLength).")
    var rankBehaviour: Int?

    @Option(help: "Hidden sizes of the attention unit that scores each step of the behaviour sequence, comma-separated. Default: \(RankStageConfig().attentionHidden.map(String.init).joined(separator: ",")).")
    var rankAttentionHidden: String?

    @Flag(inversion: .prefixedNo, help: "Calibrate each task's probability (piecewise linear on held-out impressions) before the fusion weighs them. Default: on.")
    var rankCalibrate: Bool?

    /// Bad values stop the command before it opens or changes anything.
    func validate() throws {
        var c = RankStageConfig()
        do { try apply(to: &c) } catch let e as CascadeError { throw ValidationError(e.description) }
    }

    /// Sets in `c` the flags that were given (others keep the value of the config file, the
    /// environment or the default), each through its declared setting (``RankStageConfig/settings``);
    /// a bad value is refused naming its flag and what it allows.
    func apply(to c: inout RankStageConfig) throws {
        let s = RankStageConfig.settings
        if let rank {
            if rank.lowercased() == "none" {
                c.enabled = false
            } else {
                try assign(&c, s, flag: "rank", key: "model", rank)
                c.enabled = true
            }
        }
        try assign(&c, s, flag: "rank-epochs", key: "epochs", rankEpochs)
        try assign(&c, s, flag: "rank-dim", key: "embeddingDim", rankDim)
        try assign(&c, s, flag: "rank-hidden", key: "hidden", rankHidden)
        try assign(&c, s, flag: "rank-lr", key: "learningRate", rankLr)
        try assign(&c, s, flag: "rank-dropout", key: "dropout", rankDropout)
        try assign(&c, s, flag: "rank-embedding-l2", key: "embeddingL2", rankEmbeddingL2)
        try assign(&c, s, flag: "rank-weight-average", key: "weightAverageDecay", rankWeightAverage)
        try assign(&c, s, flag: "rank-id-dropout", key: "idDropout", rankIdDropout)
        try assign(&c, s, flag: "rank-window-days", key: "windowDays", rankWindowDays)
        try assign(&c, s, flag: "rank-max-samples", key: "maxSamples", rankMaxSamples)
        try assign(&c, s, flag: "rank-tasks", key: "tasks", rankTasks)
        try assign(&c, s, flag: "rank-history", key: "historyFeatures", rankHistory)
        try assign(&c, s, flag: "rank-counters", key: "counterFeatures", rankCounters)
        try assign(&c, s, flag: "rank-behaviour", key: "behaviourLength", rankBehaviour)
        try assign(&c, s, flag: "rank-attention-hidden", key: "attentionHidden", rankAttentionHidden)
        try assign(&c, s, flag: "rank-calibrate", key: "calibrate", rankCalibrate)
    }
}

/// Writes a flag's value (when given) through the declared setting `key` of `settings`; a
/// refusal names the flag and the values the setting allows.
func assign<Root, V>(_ root: inout Root, _ settings: [Setting<Root>], flag: String, key: String, _ value: V?) throws {
    guard let value else { return }
    guard let s = settings.first(where: { $0.key == key }) else { preconditionFailure("no declared setting \(key) for --\(flag)") }
    let text = "\(value)"
    do { try s.write(&root, text) } catch { throw CascadeError.invalid("--\(flag) \(text): must be \(s.allowed)") }
}
