import Foundation

/// Request counts, latency histograms (per route and per funnel stage), errors, degraded stages
/// and model versions, rendered in the Prometheus text exposition format (version 0.0.4).
///
/// One lock guards everything; an update is a few dictionary operations, far below the cost of
/// the request it describes.
public final class ServerMetrics: @unchecked Sendable {
    /// Histogram bucket upper bounds, milliseconds.
    public static let bucketsMs: [Double] = [0.5, 1, 2, 5, 10, 20, 50, 100, 250, 1000]

    struct Histogram {
        var counts = [Int](repeating: 0, count: ServerMetrics.bucketsMs.count)
        var sum = 0.0
        var count = 0
        /// Recent samples (a ring), for percentiles on the dashboard.
        var recent: [Double] = []
        var next = 0

        mutating func observe(_ ms: Double) {
            for (i, b) in ServerMetrics.bucketsMs.enumerated() where ms <= b { counts[i] += 1 }
            sum += ms
            count += 1
            if recent.count < 2048 { recent.append(ms) } else { recent[next] = ms; next = (next + 1) % 2048 }
        }
    }

    private let lock = NSLock()
    private var requests: [String: Int] = [:]          // "route|status"
    private var latency: [String: Histogram] = [:]     // route
    private var stages: [String: Histogram] = [:]      // stage or channel
    private var degraded: [String: Int] = [:]          // stage
    private var events: [String: Int] = [:]            // event type
    private var versions: [String: Int] = [:]
    private var swaps = 0
    /// Requests per second, one slot per second of the last 10 minutes.
    private var perSecond: [Int: Int] = [:]
    public let started = Date()

    public init() {}

    public func request(route: String, status: Int, milliseconds: Double) {
        lock.lock(); defer { lock.unlock() }
        requests["\(route)|\(status)", default: 0] += 1
        latency[route, default: Histogram()].observe(milliseconds)
        let second = Int(Date().timeIntervalSince1970)
        perSecond[second, default: 0] += 1
        if perSecond.count > 700 { perSecond = perSecond.filter { $0.key > second - 600 } }
    }

    public func stage(_ name: String, milliseconds: Double) {
        lock.lock(); defer { lock.unlock() }
        stages[name, default: Histogram()].observe(milliseconds)
    }

    public func degradedStage(_ name: String) {
        lock.lock(); defer { lock.unlock() }
        degraded[name, default: 0] += 1
    }

    public func eventsRecorded(_ byType: [String: Int]) {
        lock.lock(); defer { lock.unlock() }
        for (t, n) in byType { events[t, default: 0] += n }
    }

    public func modelsSwapped(_ v: [String: Int]) {
        lock.lock(); defer { lock.unlock() }
        if !versions.isEmpty { swaps += 1 }
        versions = v
    }

    /// Percentiles (ms) of the recent latencies of `route` (p50, p90, p99), nil without samples.
    public func percentiles(route: String) -> (p50: Double, p90: Double, p99: Double, count: Int)? {
        lock.lock(); defer { lock.unlock() }
        guard let h = latency[route], !h.recent.isEmpty else { return nil }
        let s = h.recent.sorted()
        func q(_ p: Double) -> Double { s[min(s.count - 1, Int(p * Double(s.count)))] }
        return (q(0.5), q(0.9), q(0.99), h.count)
    }

    /// Requests per second over the last `seconds` seconds, oldest first.
    public func traffic(seconds: Int = 120) -> [Int] {
        lock.lock(); defer { lock.unlock() }
        let now = Int(Date().timeIntervalSince1970)
        return ((now - seconds + 1)...now).map { perSecond[$0] ?? 0 }
    }

    /// Mean milliseconds per stage name, for the dashboard.
    public func stageMeans() -> [(String, Double, Int)] {
        lock.lock(); defer { lock.unlock() }
        return stages.keys.sorted().map { k in (k, stages[k]!.sum / Double(max(1, stages[k]!.count)), stages[k]!.count) }
    }

    public func requestCounts() -> [String: Int] {
        lock.lock(); defer { lock.unlock() }
        return requests
    }

    /// The Prometheus text exposition.
    public func render() -> String {
        lock.lock(); defer { lock.unlock() }
        var out = ""
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        func histogram(_ name: String, _ help: String, _ label: String, _ map: [String: Histogram]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for key in map.keys.sorted() {
                let h = map[key]!
                for (i, b) in Self.bucketsMs.enumerated() {
                    out += "\(name)_bucket{\(label)=\"\(esc(key))\",le=\"\(b / 1000)\"} \(h.counts[i])\n"
                }
                out += "\(name)_bucket{\(label)=\"\(esc(key))\",le=\"+Inf\"} \(h.count)\n"
                out += "\(name)_sum{\(label)=\"\(esc(key))\"} \(h.sum / 1000)\n"
                out += "\(name)_count{\(label)=\"\(esc(key))\"} \(h.count)\n"
            }
        }
        out += "# HELP cascade_requests_total HTTP requests by route and status.\n# TYPE cascade_requests_total counter\n"
        for key in requests.keys.sorted() {
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            out += "cascade_requests_total{route=\"\(esc(parts[0]))\",status=\"\(parts[1])\"} \(requests[key]!)\n"
        }
        let errors = requests.filter { ($0.key.split(separator: "|").last.flatMap { Int($0) } ?? 0) >= 400 }.values.reduce(0, +)
        out += "# HELP cascade_errors_total Requests answered with a 4xx or 5xx status.\n# TYPE cascade_errors_total counter\ncascade_errors_total \(errors)\n"
        histogram("cascade_request_duration_seconds", "Request latency by route.", "route", latency)
        histogram("cascade_stage_duration_seconds", "Funnel stage and recall channel latency.", "stage", stages)
        out += "# HELP cascade_stage_degraded_total Stages skipped because they failed or timed out.\n# TYPE cascade_stage_degraded_total counter\n"
        for k in degraded.keys.sorted() { out += "cascade_stage_degraded_total{stage=\"\(esc(k))\"} \(degraded[k]!)\n" }
        out += "# HELP cascade_events_total Feedback events recorded, by type.\n# TYPE cascade_events_total counter\n"
        for k in events.keys.sorted() { out += "cascade_events_total{type=\"\(esc(k))\"} \(events[k]!)\n" }
        out += "# HELP cascade_model_version Active version of each served model.\n# TYPE cascade_model_version gauge\n"
        for k in versions.keys.sorted() { out += "cascade_model_version{model=\"\(esc(k))\"} \(versions[k]!)\n" }
        out += "# HELP cascade_model_swaps_total Model sets swapped in while serving.\n# TYPE cascade_model_swaps_total counter\ncascade_model_swaps_total \(swaps)\n"
        out += "# HELP cascade_uptime_seconds Seconds since the server started.\n# TYPE cascade_uptime_seconds gauge\ncascade_uptime_seconds \(Date().timeIntervalSince(started))\n"
        return out
    }
}
