import CascadeCore
import CascadeRank
import CascadeExperiment
import CascadeRecall
import Foundation

/// Experiment parameters mapped onto the funnel: an arm of a layered experiment
/// (``ExperimentConfig``) sets string-valued keys, and ``FunnelConfig/applying(_:)-(Dictionary<String,String>)``
/// turns them into a configuration.
///
/// | key | value |
/// | --- | --- |
/// | `quota.<channel>` | candidates asked of the channel (Int, 0...100000; 0 turns the channel off) |
/// | `weight.<channel>` | the channel's merge weight (Float >= 0) |
/// | `rerank.mode` | `none`, `dpp` or `mmr` |
/// | `rerank.theta` | DPP quality exponent (finite Float) |
/// | `rerank.lambda` | MMR relevance weight (Float in [0, 1]) |
/// | `rerank.window` | sliding window in positions (Int >= 1) |
/// | `rerank.pool` | merged candidates the re-rank considers (Int >= 1) |
/// | `mergeLimit` | candidates kept after the merge (Int >= 1) |
/// | `historyLength` | events of the user read per request (Int >= 0) |
///
/// `<channel>` is one of ``FunnelConfig/knownChannels``. A channel the funnel has no trained
/// model for is skipped at request time, as without experiments.
extension FunnelConfig {
    /// One override key: its pattern and how it changes a configuration. `name` is the
    /// variable segment's value (the channel of `quota.<channel>`), nil for fixed keys.
    struct Override: Sendable {
        var pattern: String
        var apply: @Sendable (inout FunnelConfig, _ key: String, _ name: String?, _ value: String) throws(CascadeError) -> Void
    }

    /// Every override key, in the order they are applied (quotas first, so a weight can refer to
    /// a channel an arm adds). Stages that join the funnel later (ranking `rank.*`, score
    /// fusion `fusion.*`) add their rows at the end of this table; nothing else changes.
    static let overrideTable: [Override] = [
        Override(pattern: "quota.<channel>") { c, key, name, value throws(CascadeError) in
            let channel = try knownChannel(name, key: key)
            let q = try int(value, key: key, in: 0...100_000)
            if let i = c.quotas.firstIndex(where: { $0.channel == channel }) {
                c.quotas[i].quota = q
            } else {
                let weight = defaultQuota(of: channel)?.weight ?? 0.9
                c.quotas.append(ChannelQuota(channel: channel, quota: q, weight: weight))
            }
        },
        Override(pattern: "weight.<channel>") { c, key, name, value throws(CascadeError) in
            let channel = try knownChannel(name, key: key)
            let w = try float(value, key: key) { $0 >= 0 }
            guard let i = c.quotas.firstIndex(where: { $0.channel == channel }) else {
                throw .invalid("override \(key)=\(value): channel '\(channel)' is not in the funnel; give quota.\(channel) in the same arm")
            }
            c.quotas[i].weight = w
        },
        Override(pattern: "rerank.mode") { c, key, _, value throws(CascadeError) in
            guard let m = RerankConfig.Mode(rawValue: value) else {
                throw .invalid("override \(key)=\(value): must be none, dpp or mmr")
            }
            c.rerank.mode = m
        },
        Override(pattern: "rerank.theta") { c, key, _, value throws(CascadeError) in c.rerank.theta = try float(value, key: key) { _ in true } },
        Override(pattern: "rerank.lambda") { c, key, _, value throws(CascadeError) in c.rerank.lambda = try float(value, key: key) { (0...1).contains($0) } },
        Override(pattern: "rerank.window") { c, key, _, value throws(CascadeError) in c.rerank.window = try int(value, key: key, in: 1...100_000) },
        Override(pattern: "rerank.pool") { c, key, _, value throws(CascadeError) in c.rerank.pool = try int(value, key: key, in: 1...100_000) },
        Override(pattern: "mergeLimit") { c, key, _, value throws(CascadeError) in c.mergeLimit = try int(value, key: key, in: 1...1_000_000) },
        Override(pattern: "historyLength") { c, key, _, value throws(CascadeError) in c.historyLength = try int(value, key: key, in: 0...100_000) },
        Override(pattern: "rank.enabled") { c, key, _, value throws(CascadeError) in
            switch value.lowercased() {
            case "true", "1", "yes": c.rank.enabled = true
            case "false", "0", "no": c.rank.enabled = false
            default: throw .invalid("override \(key)=\(value): must be true or false")
            }
        },
        Override(pattern: "rank.preRankLimit") { c, key, _, value throws(CascadeError) in c.rank.preRankLimit = try int(value, key: key, in: 1...1_000_000) },
        Override(pattern: "rank.rankLimit") { c, key, _, value throws(CascadeError) in c.rank.rankLimit = try int(value, key: key, in: 1...1_000_000) },
        Override(pattern: "fusion.<task>") { c, key, name, value throws(CascadeError) in
            let w = try float(value, key: key) { $0 >= 0 }
            let tasks = RankStageConfig().tasks
            guard let task = name, tasks.contains(task) else {
                throw .invalid("override \(key)=\(value): fusion weights are \(tasks.map { "fusion." + $0 }.joined(separator: ", "))")
            }
            if let i = c.rank.fusion.terms.firstIndex(where: { $0.task == task }) { c.rank.fusion.terms[i].weight = Double(w) }
            else { c.rank.fusion.terms.append(FusionFormula.Term(task: task, weight: Double(w))) }
        },
    ]

    /// The override keys experiments may set, as patterns (`quota.<channel>`): pass them to
    /// ``ExperimentConfig/validate(allowedKeys:source:)``.
    /// Besides the table's keys, an arm may set any key of the config file (``settings``, e.g.
    /// `channel.itemcf.lastN` or `rank.fusion.like`).
    public static var overrideKeys: [String] { overrideTable.map(\.pattern) + settings.map(\.key) }

    /// This configuration with `overrides` applied. Throws, naming the key and the value, on an
    /// unknown key or a bad value; `self` is never changed.
    public func applying(_ overrides: [String: String]) throws(CascadeError) -> FunnelConfig {
        var c = self
        var pending = overrides
        for row in Self.overrideTable {
            for key in pending.keys.sorted() where ExperimentConfig.key(key, matches: row.pattern) {
                let name = row.pattern.contains("<") ? key.split(separator: ".", omittingEmptySubsequences: false).last.map(String.init) : nil
                try row.apply(&c, key, name, pending[key]!)
                pending[key] = nil
            }
        }
        let declared = Self.settings
        let known = Set(declared.map(\.key))
        if let unknown = pending.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalid("override \(unknown)=\(pending[unknown]!): unknown key; keys: \(Self.overrideTable.map(\.pattern).joined(separator: ", ")), or any config-file key (cascade config init)")
        }
        if !pending.isEmpty {
            let assignments = pending.keys.sorted().map { ConfigFile.Assignment(key: $0, value: pending[$0]!, source: "override") }
            c = try ConfigFile.apply(assignments, settings: declared, to: c)
        }
        c.quotas.removeAll { $0.quota == 0 }
        return c
    }

    /// This configuration with the overrides of a user's arms applied.
    public func applying(_ assignment: Assignment) throws(CascadeError) -> FunnelConfig {
        try applying(assignment.overrides)
    }

    private static func knownChannel(_ name: String?, key: String) throws(CascadeError) -> String {
        guard let n = name, knownChannels.contains(n) else {
            throw .invalid("override \(key): unknown channel '\(name ?? "")'; channels: \(knownChannels.joined(separator: ", "))")
        }
        return n
    }

    private static func int(_ value: String, key: String, in range: ClosedRange<Int>) throws(CascadeError) -> Int {
        guard let v = Int(value.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
            throw .invalid("override \(key)=\(value): must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    private static func float(_ value: String, key: String, _ ok: (Float) -> Bool) throws(CascadeError) -> Float {
        guard let v = Float(value.trimmingCharacters(in: .whitespaces)), v.isFinite, ok(v) else {
            throw .invalid("override \(key)=\(value): not an acceptable number for this key")
        }
        return v
    }
}

extension ExperimentConfig {
    /// Checks that every arm's overrides are known funnel keys with values that apply to `base`.
    public func checkOverrides(on base: FunnelConfig, source: String = "experiment config") throws(CascadeError) {
        try validate(allowedKeys: FunnelConfig.overrideKeys, source: source)
        var problems: [String] = []
        for layer in layers {
            for exp in layer.experiments {
                for arm in exp.arms {
                    do throws(CascadeError) {
                        _ = try base.applying(arm.overrides)
                    } catch {
                        let why: String
                        if case .invalid(let m) = error { why = m } else { why = error.description }
                        problems.append("layer '\(layer.name)' experiment '\(exp.name)' arm '\(arm.name)': \(why)")
                    }
                }
            }
        }
        guard problems.isEmpty else {
            throw .invalid("\(source): \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n  " + problems.joined(separator: "\n  "))
        }
    }

    /// Reads the config at `path`, validates it against the funnel's override keys and checks
    /// that every arm's values apply to `base`. The server's entry point: on any error the caller
    /// keeps the config it had.
    public static func load(path: String, funnel base: FunnelConfig) throws -> ExperimentConfig {
        let c = try load(path: path, allowedKeys: FunnelConfig.overrideKeys)
        try c.checkOverrides(on: base, source: path)
        return c
    }
}
