import CascadeCore
import CascadeRank
import CascadeRecall

/// Every setting of the funnel, declared once: the config file (`cascade config init` writes
/// them with their docs and defaults), `CASCADE_*` environment variables and `--set key=value`
/// all reach the funnel through this list.
///
/// Keys: the funnel's own (`mergeLimit`), `rerank.*`, `rank.*`, and per channel
/// `channel.<name>.quota` (0: the channel does not run), `channel.<name>.weight` and the
/// channel's declared parameters (``ChannelDefinition/settings``). Quotas come first in the list,
/// so a file may give a channel's weight before its quota.
extension FunnelConfig {
    public static var settings: [Setting<FunnelConfig>] {
        let channels = ChannelRegistry.all
        return channels.map(quotaSetting(_:)) + [
            .int("historyLength", "Events of the user read at request time (triggers and the exact seen-filter).", \.historyLength, 0...100_000),
            .int("mergeLimit", "Candidates kept after the merge (the recall budget handed to later stages).", \.mergeLimit, 1...1_000_000),
            .choice("mergeMode", "How channel lists merge: max (weighted interleave) or sum (reciprocal-rank fusion).", \.mergeMode),
            .bool("parallelRecall", "Run one request's recall channels concurrently (off: in turn, better for a loaded server).", \.parallelRecall),
            .double("deadlineMs", "Request deadline in milliseconds (0: none); skipped stages are reported as degraded.", \.deadline, ">= 0",
                    unit: 0.001) { $0 >= 0 },
            .int("annMinItems", "Catalogs of at least this many items serve vector channels through an HNSW index.", \.annMinItems, 0...Int.max),
        ] + RerankConfig.settings.map { $0.scoped("rerank", \.rerank) }
            + RankStageConfig.settings.map { $0.scoped("rank", \.rank) }
            + channels.flatMap(channelSettings(_:)) + [sceneSetting]
    }

    static func quotaSetting(_ d: any ChannelDefinition.Type) -> Setting<FunnelConfig> {
        let name = d.name
        return Setting(key: "channel.\(name).quota", doc: "Candidates asked of \(name) (\(d.summary)); 0: the channel does not run.",
                       allowed: "an integer in 0...100000",
                       read: { c in String(c.quotas.first { $0.channel == name }?.quota ?? 0) },
                       parse: { c, text in
                           guard let q = Int(text.trimmingCharacters(in: .whitespaces)), (0...100_000).contains(q) else { return false }
                           c.setQuota(name, q)
                           return true
                       })
    }

    /// Sets a channel's quota: 0 removes it, a new channel joins at its registry position.
    mutating func setQuota(_ name: String, _ quota: Int) {
        if let i = quotas.firstIndex(where: { $0.channel == name }) {
            if quota == 0 { quotas.remove(at: i) } else { quotas[i].quota = quota }
            return
        }
        guard quota > 0, var q = Self.defaultQuota(of: name) else { return }
        q.quota = quota
        let order = ChannelRegistry.names
        let rank = order.firstIndex(of: name) ?? order.count
        let at = quotas.firstIndex { (order.firstIndex(of: $0.channel) ?? order.count) > rank } ?? quotas.count
        quotas.insert(q, at: at)
    }

    static func channelSettings(_ d: any ChannelDefinition.Type) -> [Setting<FunnelConfig>] {
        let name = d.name
        let weight = Setting<FunnelConfig>(
            key: "channel.\(name).weight", doc: "Merge weight of \(name) (no effect while its quota is 0).", allowed: "a number >= 0",
            read: { c in formatNumber(Double(c.quotas.first { $0.channel == name }?.weight ?? d.defaultQuota.weight)) },
            parse: { c, text in
                guard let w = Float(text.trimmingCharacters(in: .whitespaces)), w.isFinite, w >= 0 else { return false }
                if let i = c.quotas.firstIndex(where: { $0.channel == name }) { c.quotas[i].weight = w }
                return true
            })
        return [weight] + parameterSettings(d)
    }

    static func parameterSettings<C: ChannelDefinition>(_ c: C.Type) -> [Setting<FunnelConfig>] {
        c.settings.map { $0.scoped("channel.\(c.name)", get: { $0.channels[c] }, set: { $0.channels[c] = $1 }) }
    }
}

extension RerankConfig {
    public static let settings: [Setting<RerankConfig>] = [
        .choice("mode", "Diversity re-rank of every page: none, dpp or mmr (over a vector channel's item vectors).", \.mode),
        .float("theta", "DPP quality exponent (higher keeps closer to the score order).", \.theta, "finite") { _ in true },
        .float("lambda", "MMR relevance weight.", \.lambda, "in [0, 1]") { (0...1).contains($0) },
        .optionalInt("window", "Sliding window of DPP and MMR, positions (none: the whole page).", \.window, 1...100_000),
        .int("pool", "Merged candidates the re-rank considers.", \.pool, 1...100_000),
        .optionalFloat("explorationTemperature", "Sample each page from the scores at this temperature (none: sorted).",
                       \.explorationTemperature, "> 0") { $0 > 0 },
        .optionalDouble("exploreEpsilon", "Share of slots that show one of the next explorePool candidates, with logged propensities (none: off).",
                        \.exploreEpsilon, "in (0, 1]") { $0 > 0 && $0 <= 1 },
        .int("explorePool", "Candidates after the page that an exploring slot draws from.", \.explorePool, 1...10_000),
    ]
}

extension RankStageConfig {
    public static var settings: [Setting<RankStageConfig>] {
        let model = Setting<RankStageConfig>(
            key: "model", doc: "Ranker trained from logged impressions; a three-tower pre-ranker is distilled from it.",
            allowed: "one of \(RankModelRegistry.names.joined(separator: ", "))", read: { $0.model },
            parse: { c, text in
                guard let d = RankModelRegistry.definition(named: text.trimmingCharacters(in: .whitespaces)) else { return false }
                c.model = d.name
                return true
            })
        let known = RankStageConfig().tasks
        let idDropout = Setting<RankStageConfig>(
            key: "idDropout", doc: "Feature-id dropout while training, e.g. user=0.1,item=0.05 (empty: none).",
            allowed: "name=rate pairs with rates in [0, 1)",
            read: { $0.idDropout.sorted { $0.key < $1.key }.map { "\($0.key)=\(formatNumber(Double($0.value)))" }.joined(separator: ",") },
            parse: { c, text in
                var out: [String: Float] = [:]
                for entry in text.split(separator: ",") {
                    let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard parts.count == 2, let r = Float(parts[1]), r >= 0, r < 1 else { return false }
                    out[parts[0]] = r
                }
                c.idDropout = out
                return true
            })
        return [
            .bool("enabled", "Train and serve a ranker (false: pages in merged recall order).", \.enabled),
            model,
            .stringList("tasks", "Tasks of the ranker (tasks without positives are dropped).", \.tasks,
                        "some of \(known.joined(separator: ", "))") { !$0.isEmpty && $0.allSatisfy(known.contains) },
            .int("minImpressions", "Fewer logged impressions than this: no ranker is trained.", \.minImpressions, 1...Int.max),
            .optionalDouble("windowDays", "Days of logged impressions the ranker learns from (none: the whole log).", \.windowDays, "> 0") { $0 > 0 },
            .optionalInt("maxSamples", "At most this many of the window's most recent impressions (none: all).", \.maxSamples, 1...Int.max),
            .int("epochs", "Epochs of the ranker.", \.epochs, 1...1_000),
            .float("learningRate", "Adam learning rate of the ranker.", \.learningRate, "> 0") { $0 > 0 },
            .float("embeddingL2", "L2 on the embedding rows each batch touches.", \.embeddingL2, ">= 0") { $0 >= 0 },
            .optionalFloat("weightAverageDecay", "Decay of a moving average of the weights (none: off).", \.weightAverageDecay,
                           "in (0, 1)") { $0 > 0 && $0 < 1 },
            idDropout,
            .bool("historyFeatures", "Give the ranker the user's behaviour toward each candidate's category and author.", \.historyFeatures),
            .bool("counterFeatures", "Give the ranker the store's statistics counters.", \.counterFeatures),
            .double("historyGap", "Training rows see the user's events at least this many seconds older (keeps a row's own page out).",
                    \.historyGap, ">= 0") { $0 >= 0 && $0.isFinite },
            .int("behaviourLength", "Length of the behaviour sequence DIN's target attention reads (0: none).", \.behaviourLength, 0...500),
            .bool("positionBias", "Learn position bias apart from relevance (a train-time-only offset per logged slot).", \.positionBias),
            .optionalDoubleList("positionCurve", "With positionBias: a fixed curve (click rate per slot relative to the top, from 1) instead of a learned one.",
                                \.positionCurve, "numbers in (0, 1], the first 1, at least 2") { c in
                                    c.count >= 2 && c.count <= 100 && c[0] == 1 && c.allSatisfy { $0 > 0 && $0 <= 1 } },
            .bool("calibrate", "Calibrate each task's probability before fusion.", \.calibrate),
            .bool("preRank", "Train and serve the three-tower pre-ranker.", \.preRank),
            .int("preRankLimit", "Candidates the pre-ranker keeps for the ranker.", \.preRankLimit, 1...1_000_000),
            .int("rankLimit", "Candidates the ranker keeps for re-ranking and the page.", \.rankLimit, 1...1_000_000),
        ] + RankModelParameters.settings.map { $0.scoped("", \.parameters) } + known.map(fusionWeight(_:))
    }

    static func fusionWeight(_ task: String) -> Setting<RankStageConfig> {
        return Setting(key: "fusion.\(task)", doc: "Weight of \(task) in the fused score (0: left out).", allowed: "a finite number",
                       read: { c in formatNumber(c.fusion.terms.first { $0.task == task }?.weight ?? 0) },
                       parse: { c, text in
                           guard let w = Double(text.trimmingCharacters(in: .whitespaces)), w.isFinite else { return false }
                           if let i = c.fusion.terms.firstIndex(where: { $0.task == task }) {
                               if w == 0 { c.fusion.terms.remove(at: i) } else { c.fusion.terms[i].weight = w }
                           } else if w != 0 {
                               c.fusion.terms.append(FusionFormula.Term(task: task, weight: w))
                           }
                           return true
                       })
    }
}
