import CascadeEngine
import Foundation

/// How the server runs: keys, limits, and how often it looks for new model versions.
public struct ServerConfig: Sendable {
    /// Key for reads (recommendations, similar items). Nil with `adminKey` nil: no authentication.
    public var readKey: String?
    /// Key for writes, experiments, users, items, metrics. It also grants reads.
    public var adminKey: String?
    /// Largest `n` a recommendation request may ask for.
    public var maxN = 200
    /// Largest request body, bytes.
    public var maxBodyBytes = 1 << 20
    /// Most events in one feedback batch.
    public var maxBatch = 1_000
    /// Seconds between checks for newly activated model versions (0: never).
    public var reloadInterval: Double = 10
    /// The funnel every request runs (experiments override parts of it).
    public var funnel = FunnelConfig()
    /// Exposure windows of the impression filter.
    public var exposure = Feedback.ExposureConfig()

    public init() {}

    /// True when requests must carry a key.
    public var authEnabled: Bool { readKey != nil || adminKey != nil }
}
