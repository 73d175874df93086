import Foundation

/// One page the server returned: the served-page log that labels join to (by request id) and
/// counterfactual estimates read. Written in batches off the request path; a full queue drops
/// rows (counted), never requests.
public struct ServedPage: Sendable, Equatable, Codable {
    /// The id the recommend API returned with the page (feedback sends it back as `request`).
    public var request: String
    public var user: String
    /// When the page was served, seconds since 1970 UTC.
    public var timestamp: Double
    /// Item ids, top slot first.
    public var items: [String]
    /// Each item's probability of being on the page when the page was sampled with known
    /// propensities (exploration); nil for a deterministic page.
    public var propensities: [Double]?
    /// The experiment assignment's log tag (config fingerprint and arms), when experiments run.
    public var experiment: String?
    public var scene: String?
    /// Versions of the models that served it, by artifact name.
    public var models: [String: Int]

    public init(request: String, user: String, timestamp: Double, items: [String], propensities: [Double]? = nil,
                experiment: String? = nil, scene: String? = nil, models: [String: Int] = [:]) {
        self.request = request
        self.user = user
        self.timestamp = timestamp
        self.items = items
        self.propensities = propensities
        self.experiment = experiment
        self.scene = scene
        self.models = models
    }

    /// The stored form of everything but the request id, user and time (JSON, keys sorted, absent
    /// optionals left out), written by hand: it is built for every page served.
    public func payload() throws -> String {
        var j = JSONText(capacity: 64 + 24 * items.count)
        j.open()
        if let experiment { j.key("experiment"); j.string(experiment) }
        j.key("items"); j.stringArray(items)
        j.key("models"); j.intMap(models)
        if let propensities {
            guard propensities.allSatisfy(\.isFinite) else {
                throw CascadeError.invalid("served page \(request): propensities must be finite")
            }
            j.key("propensities"); j.numberArray(propensities)
        }
        if let scene { j.key("scene"); j.string(scene) }
        j.close()
        return j.text
    }

    /// The page from its stored columns.
    public static func stored(request: String, user: String, timestamp: Double, payload: String) throws -> ServedPage {
        struct Payload: Decodable {
            var items: [String]; var propensities: [Double]?; var experiment: String?; var scene: String?; var models: [String: Int]
        }
        let p: Payload
        do { p = try JSONDecoder().decode(Payload.self, from: Data(payload.utf8)) } catch {
            throw CascadeError.corrupt("served page \(request): unreadable payload (\(error))")
        }
        return ServedPage(request: request, user: user, timestamp: timestamp, items: p.items, propensities: p.propensities,
                          experiment: p.experiment, scene: p.scene, models: p.models)
    }
}
