import CascadeEngine
import Foundation

/// How the server runs: keys, limits, and how often it looks for new model versions.
public struct ServerConfig: Sendable {
    /// Keys (as digests): read keys get recommendations and similar items; admin keys also write,
    /// run experiments and read metrics. None at all: no authentication.
    public var keys = APIKeys()
    /// Largest `n` a recommendation request may ask for.
    public var maxN = 200
    /// Largest request body, bytes.
    public var maxBodyBytes = 1 << 20
    /// Most events in one feedback batch.
    public var maxBatch = 1_000
    /// Seconds between checks for newly activated model versions (0: never).
    public var reloadInterval: Double = 10
    /// Threads that run the blocking part of requests (store reads and writes, the funnel), so a
    /// request waiting on a database does not hold one of Swift's cooperative threads (one per
    /// core) while others could compute.
    public var workers = max(4, 4 * ProcessInfo.processInfo.activeProcessorCount)
    /// The funnel every request runs (experiments override parts of it).
    public var funnel = FunnelConfig()
    /// Pages the served-page log holds before writing (0: no log, and feedback's `request` ids are
    /// not checked). Past it, pages are dropped from the log (counted), never requests.
    public var pageLogQueue = 65_536
    /// Exposure windows of the impression filter.
    public var exposure = Feedback.ExposureConfig()

    public init() {}

    /// True when requests must carry a key.
    public var authEnabled: Bool { !keys.isEmpty }
}
