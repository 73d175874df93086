import CascadeCore

extension ExperimentConfig {
    /// The most buckets a layer may have.
    public static let maxBuckets = 1_000_000

    /// Characters names may not contain: they separate fields in ``Assignment/compact``.
    static let reservedCharacters: Set<Character> = [":", ";", ",", "=", "/", "|"]

    /// Checks the whole config and throws one ``CascadeError/invalid(_:)`` listing every problem
    /// (where: layer, experiment, arm; what; why). The config is a value: nothing is changed
    /// either way, so a server that fails to load a new config keeps serving the old one.
    ///
    /// - Parameter allowedKeys: the override keys the caller can apply; a segment written
    ///   `<name>` matches any one dot-free segment (`quota.<channel>` allows `quota.itemcf`).
    ///   nil accepts any key.
    public func validate(allowedKeys: [String]? = nil, source: String = "experiment config") throws(CascadeError) {
        let problems = self.problems(allowedKeys: allowedKeys)
        guard problems.isEmpty else {
            throw .invalid("\(source): \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n  " + problems.joined(separator: "\n  "))
        }
    }

    /// Every problem of the config, one sentence each; empty when it is valid.
    public func problems(allowedKeys: [String]? = nil) -> [String] {
        var out: [String] = []
        guard buckets >= 1, buckets <= Self.maxBuckets else {
            return ["buckets must be in 1...\(Self.maxBuckets), got \(buckets)"]
        }
        let full = "0-\(buckets - 1)"
        func checkName(_ name: String, _ what: String) {
            if name.isEmpty {
                out.append("\(what): the name is empty")
            } else if name.contains(where: { $0.isWhitespace || Self.reservedCharacters.contains($0) }) {
                out.append("\(what) '\(name)': names may not contain whitespace or any of : ; , = / |")
            }
        }
        func checkRange(_ r: BucketRange, _ at: String) -> Bool {
            if r.lo < 0 || r.hi < r.lo || r.hi >= buckets {
                out.append("\(at): bucket range \(r) is outside \(full) or reversed (buckets: \(buckets))")
                return false
            }
            return true
        }

        if let h = holdout {
            if h.salt.isEmpty { out.append("holdout: the salt is empty") }
            if layers.contains(where: { $0.name == h.salt }) {
                out.append("holdout: its salt '\(h.salt)' is also a layer name; the holdout must hash independently of every layer")
            }
            if h.fraction != nil && !h.buckets.isEmpty {
                out.append("holdout: give either fraction or buckets, not both")
            }
            if let f = h.fraction, !(f >= 0 && f < 1) { out.append("holdout: fraction must be in [0, 1), got \(f)") }
            if h.fraction == nil && h.buckets.isEmpty { out.append("holdout: give a fraction or bucket ranges") }
            let valid = h.buckets.filter { checkRange($0, "holdout") }
            for (a, b) in pairs(valid) where a.overlaps(b) { out.append("holdout: bucket ranges \(a) and \(b) overlap") }
        }

        var layerNames: Set<String> = [], experimentNames: Set<String> = []
        var keyOwner: [String: String] = [:]
        for layer in layers {
            let L = "layer '\(layer.name)'"
            checkName(layer.name, "layer")
            if !layerNames.insert(layer.name).inserted { out.append("\(L): duplicate layer name") }
            var taken: [(BucketRange, String)] = []
            var rest: [String] = []
            var layerKeys: Set<String> = []
            for exp in layer.experiments {
                let E = "\(L) experiment '\(exp.name)'"
                checkName(exp.name, "\(L) experiment")
                if !experimentNames.insert(exp.name).inserted {
                    out.append("\(E): duplicate experiment name (names are unique across layers so reports are unambiguous)")
                }
                switch exp.kind {
                case .ab where exp.arms.count < 2:
                    out.append("\(E): an ab experiment needs at least two arms (the first is the control), got \(exp.arms.count)")
                case .launch where exp.arms.count != 1:
                    out.append("\(E): a launch experiment has exactly one arm, got \(exp.arms.count)")
                case .reverse where exp.arms.count < 2:
                    out.append("\(E): a reverse experiment needs the kept-back arm (first) and the launched arm, got \(exp.arms.count) arm(s)")
                default: break
                }
                var armNames: Set<String> = []
                for (k, arm) in exp.arms.enumerated() {
                    let A = "\(E) arm '\(arm.name)'"
                    checkName(arm.name, "\(E) arm")
                    if !armNames.insert(arm.name).inserted { out.append("\(A): duplicate arm name") }
                    if let ranges = arm.buckets {
                        if ranges.isEmpty { out.append("\(A): the bucket list is empty") }
                        for r in ranges where checkRange(r, A) {
                            for (o, owner) in taken where o.overlaps(r) {
                                out.append("\(A): buckets \(r) overlap \(o) of \(owner); a user can be in only one arm of a layer")
                            }
                            taken.append((r, "experiment '\(exp.name)' arm '\(arm.name)'"))
                        }
                    } else {
                        switch exp.kind {
                        case .ab:
                            out.append("\(A): arms of an ab experiment must name their buckets")
                        case .reverse where k == 0:
                            out.append("\(A): the first (kept-back) arm of a reverse experiment must name its buckets")
                        default:
                            rest.append("experiment '\(exp.name)' arm '\(arm.name)'")
                        }
                    }
                    for key in arm.overrides.keys.sorted() {
                        layerKeys.insert(key)
                        if let allowed = allowedKeys, !allowed.contains(where: { Self.key(key, matches: $0) }) {
                            out.append("\(A): unknown override key '\(key)'; allowed keys: \(allowed.joined(separator: ", "))")
                        }
                    }
                }
            }
            if rest.count > 1 {
                out.append("\(L): \(rest.joined(separator: " and ")) both leave their buckets out; at most one arm of a layer takes the rest")
            } else if let r = rest.first, taken.reduce(0, { $0 + $1.0.count }) >= buckets, !hasOverlap(taken.map(\.0)) {
                out.append("\(L): \(r) takes the rest of the layer, but the other arms hold all \(buckets) buckets")
            }
            for key in layerKeys.sorted() {
                if let other = keyOwner[key], other != layer.name {
                    out.append("\(L): override key '\(key)' is also set in layer '\(other)'; each key belongs to one layer so layers stay orthogonal")
                } else {
                    keyOwner[key] = layer.name
                }
            }
        }
        return out
    }

    /// Whether `key` matches `pattern`: same number of dot-separated segments, each equal or the
    /// pattern's segment a `<name>` variable segment.
    public static func key(_ key: String, matches pattern: String) -> Bool {
        let k = key.split(separator: ".", omittingEmptySubsequences: false)
        let p = pattern.split(separator: ".", omittingEmptySubsequences: false)
        guard k.count == p.count else { return false }
        for (a, b) in zip(k, p) {
            if b.hasPrefix("<") && b.hasSuffix(">") {
                if a.isEmpty { return false }
            } else if a != b {
                return false
            }
        }
        return true
    }

    private func pairs<T>(_ xs: [T]) -> [(T, T)] {
        var out: [(T, T)] = []
        for i in xs.indices { for j in xs.indices where j > i { out.append((xs[i], xs[j])) } }
        return out
    }

    private func hasOverlap(_ rs: [BucketRange]) -> Bool { pairs(rs).contains { $0.0.overlaps($0.1) } }
}
