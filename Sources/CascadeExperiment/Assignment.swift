import CascadeCore

/// One arm a user is in.
public struct ArmAssignment: Sendable, Hashable, CustomStringConvertible {
    public var layer: String
    public var experiment: String
    public var arm: String
    public var kind: ExperimentConfig.Experiment.Kind

    public init(layer: String, experiment: String, arm: String, kind: ExperimentConfig.Experiment.Kind = .ab) {
        self.layer = layer
        self.experiment = experiment
        self.arm = arm
        self.kind = kind
    }

    /// `layer:experiment:arm`.
    public var description: String { "\(layer):\(experiment):\(arm)" }
}

/// Where one user stands in the experiments: held out or not, their arm in each layer that has
/// one for them, and the parameters those arms set.
///
/// Assignments are a pure function of the config and the user id (see ``BucketHash``), so they
/// are not stored with events: a report recomputes them from the config and the user ids of the
/// events (``ExperimentConfig/assign(user:includeStopped:)``). The events' `scene` field is left
/// to the application. ``tag`` is the form to write into request logs.
public struct Assignment: Sendable, Equatable {
    public var user: String
    /// In the global holdout: default parameters everywhere, no experiment.
    public var holdout: Bool
    /// One entry per layer where the user is in an arm, in layer order.
    public var arms: [ArmAssignment]
    /// The merged overrides of those arms (layers never share a key, so merging cannot clash).
    public var overrides: [String: String]
    /// The config's ``ExperimentConfig/fingerprint``.
    public var fingerprint: String

    public init(user: String, holdout: Bool, arms: [ArmAssignment], overrides: [String: String], fingerprint: String = "") {
        self.user = user
        self.holdout = holdout
        self.arms = arms
        self.overrides = overrides
        self.fingerprint = fingerprint
    }

    /// `layer:experiment:arm;layer:experiment:arm` in layer order; `holdout` for a held-out user;
    /// empty when the user is in no experiment.
    public var compact: String {
        holdout ? Self.holdoutTag : arms.map(\.description).joined(separator: ";")
    }

    /// `fingerprint/compact` (`fingerprint/-` when in no experiment): one token for request logs.
    public var tag: String {
        let c = compact
        return "\(fingerprint)/\(c.isEmpty ? "-" : c)"
    }

    public static let holdoutTag = "holdout"

    /// Parses a ``compact`` string (or the part of a ``tag`` after the `/`) back into
    /// `(layer, experiment, arm)` triples; `holdout`, `-` and the empty string give none.
    public static func parse(compact: String) throws(CascadeError) -> [(layer: String, experiment: String, arm: String)] {
        if compact.isEmpty || compact == "-" || compact == holdoutTag { return [] }
        var out: [(layer: String, experiment: String, arm: String)] = []
        for part in compact.split(separator: ";", omittingEmptySubsequences: false) {
            let f = part.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 3, !f.contains(where: \.isEmpty) else {
                throw .invalid("assignment '\(compact)': '\(part)' is not layer:experiment:arm")
            }
            out.append((f[0], f[1], f[2]))
        }
        return out
    }
}

extension ExperimentConfig {
    /// Whether `user` is in the global holdout.
    public func isHeldOut(_ user: String) -> Bool {
        guard let h = holdout else { return false }
        let ranges = h.ranges(total: buckets)
        guard !ranges.isEmpty else { return false }
        let b = BucketHash.bucket(user, salt: h.salt, buckets: buckets)
        return ranges.contains { $0.contains(b) }
    }

    /// The bucket of `user` in `layer`.
    public func bucket(of user: String, layer: String) -> Int {
        BucketHash.bucket(user, salt: layer, buckets: buckets)
    }

    /// The experiment and arm (indices) of `user` in layer `l`, or nil. An arm without buckets
    /// takes every bucket no arm of the layer names (stopped experiments' buckets included).
    func armIndex(of user: String, layer l: Int, includeStopped: Bool) -> (experiment: Int, arm: Int)? {
        let layer = layers[l]
        let b = bucket(of: user, layer: layer.name)
        var rest: (Int, Int)?
        for (e, exp) in layer.experiments.enumerated() {
            for (a, arm) in exp.arms.enumerated() {
                guard let ranges = arm.buckets else {
                    if rest == nil { rest = (e, a) }
                    continue
                }
                if ranges.contains(where: { $0.contains(b) }) {
                    return includeStopped || exp.status == .running ? (e, a) : nil
                }
            }
        }
        guard let (e, a) = rest, includeStopped || layer.experiments[e].status == .running else { return nil }
        return (e, a)
    }

    /// Where `user` stands. Held-out users get no arm and no overrides. Stopped experiments assign
    /// nobody unless `includeStopped` (reports over the period an experiment ran use that).
    /// Cost: one hash per layer plus a scan of the layer's bucket ranges.
    public func assign(user: String, includeStopped: Bool = false) -> Assignment {
        if isHeldOut(user) {
            return Assignment(user: user, holdout: true, arms: [], overrides: [:], fingerprint: fingerprint)
        }
        var arms: [ArmAssignment] = []
        var overrides: [String: String] = [:]
        for l in layers.indices {
            guard let (e, a) = armIndex(of: user, layer: l, includeStopped: includeStopped) else { continue }
            let exp = layers[l].experiments[e], arm = exp.arms[a]
            arms.append(ArmAssignment(layer: layers[l].name, experiment: exp.name, arm: arm.name, kind: exp.kind))
            overrides.merge(arm.overrides) { first, _ in first }
        }
        return Assignment(user: user, holdout: false, arms: arms, overrides: overrides, fingerprint: fingerprint)
    }
}
