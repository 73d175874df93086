import CascadeCore

/// Scenes: one deployment serving several surfaces (a home feed, a "related" shelf, a
/// post-purchase page) with their own quotas and fusion, from one set of trained models.
///
/// ```toml
/// [scene.related]
/// quota.itemcf = 600     # the shelf leans on item-to-item recall
/// quota.popular = 0
/// rank.fusion.like = 1
/// ```
extension FunnelConfig {
    /// The `scene.<name>.<key>` keys of the config file.
    static let sceneSetting = Setting<FunnelConfig>(
        family: "scene",
        doc: "Per-scene overrides, chosen by a request's scene (?scene=NAME): scene.NAME.KEY = VALUE for any override key of an experiment arm (quota.CHANNEL, weight.CHANNEL, fusion.TASK) or config-file key; a request without a scene, or of a scene not listed, uses the rest of this file.",
        allowed: "scene.NAME.KEY with NAME of 1 to 64 letters, digits, - or _",
        example: ["[scene.related]", "quota.itemcf = 600", "quota.popular = 0", "fusion.like = 1"],
        read: { c in
            c.scenes.keys.sorted().map { name in
                "\(name): " + c.scenes[name]!.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            }.joined(separator: "; ")
        },
        entry: { c, rest, value throws(CascadeError) in
            guard let dot = rest.firstIndex(of: "."), dot != rest.startIndex, rest.index(after: dot) != rest.endIndex else {
                throw .invalid("scene.\(rest) = \(value): a scene's key is scene.NAME.KEY")
            }
            let name = String(rest[..<dot]), key = String(rest[rest.index(after: dot)...])
            try checkSceneName(name)
            var overrides = c.scenes[name] ?? [:]
            overrides[key] = value
            do throws(CascadeError) { _ = try c.applying(overrides) } catch {
                throw .invalid("scene.\(name).\(key) = \(value): \(error.message)")
            }
            c.scenes[name] = overrides
        })

    /// A scene name: 1 to 64 bytes of letters, digits, `-` and `_` (what a request may send).
    static func checkSceneName(_ name: String) throws(CascadeError) {
        guard !name.isEmpty, name.utf8.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw .invalid("scene '\(name)': a scene name is 1 to 64 letters, digits, - or _")
        }
    }

    /// The configuration a request of `scene` is served with: this one with the scene's keys
    /// applied and no scenes of its own (itself for no scene or an unlisted one). Throws naming
    /// the scene when its keys no longer apply (a scene checked against another configuration).
    public func forScene(_ scene: String?) throws(CascadeError) -> FunnelConfig {
        guard let scene, let overrides = scenes[scene] else { return self }
        var c: FunnelConfig
        do { c = try applying(overrides) } catch { throw .invalid("scene \(scene): \(error.message)") }
        c.scenes = [:]
        return c
    }

    /// Checks that every scene's keys apply to this configuration.
    public func checkScenes() throws(CascadeError) {
        for name in scenes.keys.sorted() { _ = try forScene(name) }
    }
}
