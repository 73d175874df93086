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
/// | `quota.<channel>` | candidates asked of the channel (Int, 0...100000; 0 turns the channel off; a new channel joins last) |
/// | `weight.<channel>` | the channel's merge weight (Float >= 0; the channel must be in the funnel) |
/// | `fusion.<task>` | the task's weight in the fused score (Float >= 0) |
/// | any key of the config file | as declared in ``FunnelConfig/settings`` (`rerank.mode`, `mergeLimit`, `rank.enabled`, `channel.itemcf.lastN`, ...) |
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

    /// The experiment-only keys, applied first in this order (quotas first, so a weight can refer
    /// to a channel an arm adds); every other key is a declared setting.
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
    public static var overrideKeys: [String] { overrideTable.map(\.pattern) + settings.filter { !$0.isFamily }.map(\.key) }

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
        // Every other key is a declared setting of the funnel (the config file's keys).
        for setting in Self.settings where !setting.isFamily {
            guard let value = pending.removeValue(forKey: setting.key) else { continue }
            do { try setting.write(&c, value) } catch { throw .invalid("override \(setting.key)=\(value): must be \(setting.allowed)") }
        }
        if let unknown = pending.keys.sorted().first {
            throw .invalid("override \(unknown)=\(pending[unknown]!): unknown key; keys: \(Self.overrideTable.map(\.pattern).joined(separator: ", ")), or any config-file key (cascade config init)")
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
    /// Checks that every arm's overrides are known funnel keys with values that apply to `base`
    /// and to each of its scenes (arms apply over a request's scene).
    public func checkOverrides(on base: FunnelConfig, source: String = "experiment config") throws(CascadeError) {
        try validate(allowedKeys: FunnelConfig.overrideKeys, source: source)
        var problems: [String] = []
        for scene in [nil] + base.scenes.keys.sorted() {
            let config = try base.forScene(scene)
            for layer in layers {
                for exp in layer.experiments {
                    for arm in exp.arms {
                        do throws(CascadeError) {
                            _ = try config.applying(arm.overrides)
                        } catch {
                            let whereIn = scene.map { " (scene \($0))" } ?? ""
                            problems.append("layer '\(layer.name)' experiment '\(exp.name)' arm '\(arm.name)'\(whereIn): \(error.message)")
                        }
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
