import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeRank

/// The ranker's settings, declared once: `train`, `eval` and `experiment simulate` read the
/// same flags, with the defaults of ``RankStageConfig`` (the settings that won the closed loop).
struct RankerOptions: ParsableArguments {
    @Option(help: "Ranker trained from logged impressions (\(RankModelRegistry.names.joined(separator: ", "))) or none; a three-tower pre-ranker is distilled from it. Default: \(RankStageConfig().model).")
    var rank: String?

    @Option(help: rankHelp("epochs"))
    var rankEpochs: Int?

    @Option(help: rankHelp("embeddingDim"))
    var rankDim: Int?

    @Option(help: rankHelp("hidden"))
    var rankHidden: String?

    @Option(help: rankHelp("learningRate"))
    var rankLr: Float?

    @Option(help: rankHelp("dropout"))
    var rankDropout: Float?

    @Option(help: rankHelp("embeddingL2"))
    var rankEmbeddingL2: Float?

    @Option(help: rankHelp("weightAverageDecay"))
    var rankWeightAverage: Float?

    @Option(help: rankHelp("idDropout"))
    var rankIdDropout: String?

    @Option(help: rankHelp("windowDays"))
    var rankWindowDays: Double?

    @Option(help: rankHelp("maxSamples"))
    var rankMaxSamples: Int?

    @Option(help: rankHelp("tasks"))
    var rankTasks: String?

    @Flag(inversion: .prefixedNo, help: rankHelp("historyFeatures"))
    var rankHistory: Bool?

    @Flag(inversion: .prefixedNo, help: rankHelp("counterFeatures"))
    var rankCounters: Bool?

    @Option(help: rankHelp("behaviourLength"))
    var rankBehaviour: Int?

    @Option(help: rankHelp("attentionHidden"))
    var rankAttentionHidden: String?

    @Flag(inversion: .prefixedNo, help: rankHelp("calibrate"))
    var rankCalibrate: Bool?

    @Flag(inversion: .prefixedNo, help: rankHelp("positionBias"))
    var rankPositionBias: Bool?

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
        try assign(&c, s, flag: "rank-position-bias", key: "positionBias", rankPositionBias)
    }
}

/// A ranker flag's help: the doc of its declared setting `rank.<key>`, its default, its key.
func rankHelp(_ key: String) -> ArgumentHelp {
    flagHelp(RankStageConfig.settings, key, defaults: RankStageConfig(), configKey: "rank." + key)
}

/// A flag's help from its declared setting: the setting's doc, its default and the config key it
/// writes (the flag wins over the config file when given).
func flagHelp<Root>(_ settings: [Setting<Root>], _ key: String, defaults: Root, configKey: String? = nil) -> ArgumentHelp {
    guard let s = settings.first(where: { $0.key == key }) else { preconditionFailure("no declared setting \(key)") }
    return ArgumentHelp("\(s.doc) Default: \(s.read(defaults)). Config key: \(configKey ?? key).")
}

/// Writes a flag's value (when given) through the declared setting `key` of `settings`; a
/// refusal names the flag and the values the setting allows.
func assign<Root, V>(_ root: inout Root, _ settings: [Setting<Root>], flag: String, key: String, _ value: V?) throws {
    guard let value else { return }
    guard let s = settings.first(where: { $0.key == key }) else { preconditionFailure("no declared setting \(key) for --\(flag)") }
    let text = "\(value)"
    do { try s.write(&root, text) } catch { throw CascadeError.invalid("--\(flag) \(text): must be \(s.allowed)") }
}
