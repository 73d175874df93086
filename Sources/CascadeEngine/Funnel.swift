import CascadeCore
import CascadeRank
import CascadeRecall
import CascadeRerank
import Foundation
import Logging

/// One recommended item with its explanation.
public struct Recommendation: Sendable, Equatable {
    public var item: Int32
    public var score: Float
    /// The channels that recalled it, best rank first.
    public var channels: [String]
    /// What every stage did with it (recall, pre-rank, rank, fusion).
    public var trace: ItemTrace?
    /// With exploration (`rerank.exploreEpsilon`): the probability that this item was on the
    /// page (``EpsilonExploration``); nil for a page that was not sampled.
    public var propensity: Double?
}

/// What one channel did for one request.
public struct ChannelTiming: Sendable, Equatable {
    public var channel: String
    public var candidates: Int
    public var microseconds: Double
}

/// A funnel run: the page and how each stage went.
public struct FunnelResult: Sendable {
    public var recommendations: [Recommendation]
    public var channels: [ChannelTiming]
    /// Distinct candidates after the merge (within the budget).
    public var merged: Int
    /// Stage timings after recall: merge, prerank, rank, fuse, rerank (those that ran).
    public var stages: [StageTiming] = []
    /// Stages that failed and were skipped (the request was still answered).
    public var degraded: [String] = []
}

/// The request path: context -> recall channels (concurrently) -> merge, dedupe, filter ->
/// pre-rank -> rank -> fuse -> re-rank -> page.
///
/// Each channel gets its quota of allowed items (hidden, deleted, seen, exposed and disliked
/// items are filtered inside the channels, so quotas count real candidates); the merge keeps at
/// most `mergeLimit` candidates in all. With a ranker loaded, the three-tower pre-ranker cuts
/// them to `rank.preRankLimit`, the multi-task ranker scores those, the fusion formula orders
/// them and the best `rank.rankLimit` go on; without one the merged recall score orders the
/// page. A ranking stage that fails is skipped (the merged order stands) and reported in
/// ``FunnelResult/degraded``.
public struct Funnel: Sendable {
    /// The request path's log (loading and serving models).
    static let logger = Logger(label: "cascade.serve")

    public let channels: [any RecallChannel]
    public let config: FunnelConfig
    public let itemCount: Int
    let merger: RecallMerger
    /// Unit item vectors for the re-rank stage (nil when it is off or no vector channel is loaded).
    let rerankVectors: (dim: Int, vectors: [Float])?
    /// The ranking stages (nil: recall order).
    public let ranker: OnlineRanker?
    /// Item categories and authors, for the re-rank rules (nil: rules are not applied).
    public let catalog: ItemCatalog?
    /// This configuration's fusion formula compiled for the ranker's tasks.
    let fusion: ScoreFusion?
    /// The cache channel, when the funnel has one: after each page it keeps the user's ranked
    /// candidates that were not shown (and drops the shown ones), which it recalls next time.
    public let cache: CacheRecall?

    public init(channels: [any RecallChannel], config: FunnelConfig, itemCount: Int, ranker: OnlineRanker? = nil,
                catalog: ItemCatalog? = nil) {
        self.ranker = ranker
        self.catalog = catalog
        fusion = ranker.flatMap { try? $0.compiledFusion(config.rank.fusion) }
        var channels = channels
        // Online channels (the cache) live in the funnel: they are written by the pages it serves.
        for q in config.quotas where !channels.contains(where: { $0.name == q.channel }) {
            if let d = ChannelRegistry.definition(q.channel), let online = ChannelRegistry.online(d, parameters: config.channels) {
                channels.append(online)
            }
        }
        cache = channels.first { $0 is CacheRecall } as? CacheRecall
        self.channels = channels
        self.config = config
        self.itemCount = itemCount
        merger = RecallMerger(mode: config.mergeMode)
        rerankVectors = config.rerank.mode == .none ? nil : Funnel.similarityVectors(channels: channels, config: config.rerank)
    }

    /// Recommends up to `n` items. `filter` decides what may be shown (see ``CandidateFilter``).
    public func recommend(_ context: RecallContext, n: Int, filter: CandidateFilter) -> [Recommendation] {
        run(context, n: n, filter: filter).recommendations
    }

    /// Runs the funnel with per-channel timings. Channels run concurrently on the machine's cores.
    /// `trace`: give each recommendation its per-stage scores (``ItemTrace``, the `debug` view);
    /// without it no per-candidate record is kept.
    public func run(_ context: RecallContext, n page: Int, filter: CandidateFilter, trace: Bool = true) -> FunnelResult {
        // With exploration the stages order the page and the pool an exploring slot draws from.
        let explore = config.rerank.exploreEpsilon.map { (epsilon: $0, pool: config.rerank.explorePool) }
        let n = page + (page > 0 ? explore?.pool ?? 0 : 0)
        let plan: [(ChannelQuota, any RecallChannel)] = config.quotas.compactMap { q in
            channels.first(where: { $0.name == q.channel }).map { (q, $0) }
        }
        let deadline = Deadline(seconds: config.deadline)
        let slots = ConcurrentSlots<([Candidate], Double)>(count: plan.count, initial: ([], 0))
        let skipped = ConcurrentSlots<Bool>(count: plan.count, initial: false)
        let work = { @Sendable (k: Int) in
            if deadline.passed { skipped.set(k, true); return }
            let start = DispatchTime.now().uptimeNanoseconds
            let list = plan[k].1.recall(context, quota: plan[k].0.quota, filter: filter)
            slots.set(k, (list, Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000))
        }
        if plan.count > 1 && config.parallelRecall { Parallel.forEach(chunks: plan.count, work) } else { for k in plan.indices { work(k) } }
        let results = slots.values
        var degraded: [String] = zip(plan, skipped.values).compactMap { $0.1 ? "recall/\($0.0.0.channel)" : nil }
        var t = DispatchTime.now().uptimeNanoseconds
        var merged = merger.merge(zip(plan, results).map { ($0.0.0, $0.1.0) }, limit: max(n, config.mergeLimit))
        let mergedCount = merged.count
        var stages = [StageTiming(stage: "merge", candidatesIn: results.reduce(0) { $0 + $1.0.count }, candidatesOut: merged.count,
                                  microseconds: Double(DispatchTime.now().uptimeNanoseconds - t) / 1_000)]
        var traces: [Int32: ItemTrace]? = trace ? [:] : nil
        if trace { for (r, m) in merged.enumerated() { traces![m.item] = ItemTrace(recallScore: m.score, recallRank: r + 1) } }
        if let ranker, let fusion, n > 0, config.rank.enabled {
            if deadline.passed {
                // Counted by the caller (degraded); not logged per request, which would flood
                // the log exactly when the machine is overloaded.
                degraded.append("rank")
            } else {
                do {
                    merged = try ranker.rank(merged, context: context, n: n, stage: config.rank, fusion: fusion,
                                             traces: &traces, stages: &stages)
                } catch {
                    degraded.append("rank")
                    Funnel.logger.warning("rank stage skipped", metadata: ["error": "\(error)"])
                }
            }
        }
        t = DispatchTime.now().uptimeNanoseconds
        let ranked = cache == nil ? [] : merged
        let before = merged.count
        let rerankOn = config.rerank.mode != .none || config.rerank.rules != nil || config.rerank.explorationTemperature != nil
        if rerankOn && deadline.passed {
            degraded.append("rerank")
        } else if rerankOn {
            merged = rerank(merged, n: n, seed: UInt64(bitPattern: Int64(context.user ?? -1)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(max(0, context.now / 3_600)))
            stages.append(StageTiming(stage: "rerank", candidatesIn: before, candidatesOut: merged.count,
                                      microseconds: Double(DispatchTime.now().uptimeNanoseconds - t) / 1_000))
        }
        var shownCandidates = Array(merged.prefix(max(0, page)))
        var propensities: [Double]?
        if let explore, page > 0 {
            let head = Array(merged.prefix(n))
            let seed = UInt64(bitPattern: Int64(context.user ?? -1)) &* 0x9E37_79B9_7F4A_7C15 ^ context.now.bitPattern
            if let drawn = try? EpsilonExploration.page(ranked: head.map(\.item), pageSize: page, pool: explore.pool,
                                                       epsilon: explore.epsilon, seed: seed) {
                let byItem = Dictionary(head.map { ($0.item, $0) }, uniquingKeysWith: { a, _ in a })
                shownCandidates = drawn.items.compactMap { byItem[$0] }
                propensities = drawn.inclusion
            }
        }
        if let cache, let user = context.user, page > 0 {
            let shown = Set(shownCandidates.map(\.item))
            cache.forget(user: user, items: shown)
            cache.remember(user: user, merged: ranked.filter { !shown.contains($0.item) }, now: context.now)
        }
        let served = shownCandidates.enumerated().map { k, m in
            Recommendation(item: m.item, score: m.score, channels: m.sources.sorted { $0.rank < $1.rank }.map(\.channel), trace: traces?[m.item],
                           propensity: propensities?[k])
        }
        let timings = zip(plan, results).map { ChannelTiming(channel: $0.0.0.channel, candidates: $0.1.0.count, microseconds: $0.1.1) }
        return FunnelResult(recommendations: served, channels: timings, merged: mergedCount, stages: stages, degraded: degraded)
    }
}

/// A point on the monotonic clock after which a request stops starting new work.
struct Deadline: Sendable {
    let at: UInt64
    /// `seconds` from now; 0 or less: never.
    init(seconds: Double) {
        let now = DispatchTime.now().uptimeNanoseconds
        at = seconds > 0 ? now &+ UInt64(min(seconds, 1e9) * 1e9) : .max
    }
    var passed: Bool { DispatchTime.now().uptimeNanoseconds > at }
}
