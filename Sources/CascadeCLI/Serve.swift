import CascadeCore
import ArgumentParser
import CascadeEngine
import CascadeRerank
import CascadeServer
import Foundation
import Hummingbird

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve recommendations, feedback, users, items and metrics over HTTP.",
        discussion: """
            Keys come from the environment: CASCADE_READ_KEY (recommendations, similar items) and \
            CASCADE_ADMIN_KEY (everything else); with neither set the API is open (for local use). \
            Newly published models (`cascade train` on the same database) are swapped in while \
            serving. The routes are documented in docs/openapi.json.
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8080

    @Option(help: "Seconds between checks for new model versions (0: never).")
    var reloadInterval: Double = 10

    @Option(help: "Threads running the blocking part of requests (default: one per core on SQLite, where requests never wait; 4 per core on PostgreSQL, where they wait on the network).")
    var workers: Int?

    @Option(help: "Largest n a recommendation request may ask for.")
    var maxN = 200

    @Option(help: "Most events in one feedback batch.")
    var maxBatch = 1_000

    @Option(help: "Largest request body, bytes.")
    var maxBody = 1 << 20

    @Flag(inversion: .prefixedNo, help: "Serve the trained ranker and pre-ranker (off: pages in merged recall order).")
    var rank = true

    @Flag(inversion: .prefixedNo, help: "Run one request's recall channels concurrently (off: each request's channels in turn, better under load).")
    var parallelRecall = false

    @Option(help: "Request deadline, milliseconds (0: none): recall channels not yet started, ranking and re-rank are skipped once it passes, and the page is answered from what is done (counted as degraded).")
    var deadlineMs: Double = 1_000

    @Option(help: "Diversity re-rank of every page: none, dpp or mmr (over the ALS, two-tower or LightGCN item vectors).")
    var rerank = "none"

    @Option(help: "Re-rank rule: at most this many items of one category in any --rule-window consecutive positions (off when absent).")
    var maxPerCategory: Int?

    @Option(help: "Re-rank rule: at most this many items of one author in any --rule-window consecutive positions.")
    var maxPerAuthor: Int?

    @Option(help: "Window of the re-rank rules, positions.")
    var ruleWindow = 5

    @Option(help: "Exploration: sample each page from the scores at this temperature instead of sorting (off when absent).")
    var exploreTemperature: Float?

    func validate() throws {
        guard (maxPerCategory ?? 1) >= 1, (maxPerAuthor ?? 1) >= 1, ruleWindow >= 1 else {
            throw ValidationError("--max-per-category, --max-per-author and --rule-window must be >= 1")
        }
        guard (exploreTemperature ?? 0) >= 0, (exploreTemperature ?? 0).isFinite else { throw ValidationError("--explore-temperature must be >= 0") }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be in 1...65535, got \(port)") }
        guard reloadInterval >= 0, reloadInterval.isFinite else { throw ValidationError("--reload-interval must be >= 0") }
        guard (1...1024).contains(workers ?? 1) else { throw ValidationError("--workers must be in 1...1024") }
        guard RerankConfig.Mode(rawValue: rerank) != nil else { throw ValidationError("--rerank must be none, dpp or mmr, got \(rerank)") }
        guard deadlineMs >= 0, deadlineMs.isFinite else { throw ValidationError("--deadline-ms must be >= 0 (0: none), got \(deadlineMs)") }
        guard maxN >= 1, maxBatch >= 1, maxBody >= 1024 else { throw ValidationError("--max-n and --max-batch must be >= 1, --max-body >= 1024") }
    }

    /// Whether `host` names this machine only.
    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        return h == "localhost" || h == "::1" || h == "[::1]" || h.hasPrefix("127.")
    }

    /// Keys from the environment: plain keys (hashed at once) and/or hex SHA-256 digests.
    static func keys(from env: [String: String]) throws -> APIKeys {
        var keys = APIKeys()
        for (name, scope) in [("READ", APIKeys.Scope.read), ("ADMIN", .admin)] {
            if let plain = env["CASCADE_\(name)_KEY"], !plain.isEmpty { keys.add(key: plain, scope: scope) }
            if let hex = env["CASCADE_\(name)_KEY_SHA256"], !hex.isEmpty {
                do { try keys.add(hexDigests: hex, scope: scope) } catch {
                    throw CascadeError.invalid("CASCADE_\(name)_KEY_SHA256: \(error)")
                }
            }
        }
        return keys
    }

    func run() throws {
        boundMallocArenas()
        try runReporting {
            let env = ProcessInfo.processInfo.environment
            var config = ServerConfig()
            config.keys = try Self.keys(from: env)
            config.reloadInterval = reloadInterval
            config.maxN = maxN
            config.maxBatch = maxBatch
            let cores = ProcessInfo.processInfo.activeProcessorCount
            config.workers = workers ?? (store.isPostgres ? max(4, 4 * cores) : max(1, cores))
            config.maxBodyBytes = maxBody
            config.funnel.rerank.mode = RerankConfig.Mode(rawValue: rerank) ?? .none
            config.funnel.parallelRecall = parallelRecall
            config.funnel.deadline = deadlineMs / 1_000
            if !rank { config.funnel.rank.enabled = false }
            if maxPerCategory != nil || maxPerAuthor != nil {
                var rules = DiversityRules()
                rules.window = ruleWindow
                rules.maxPerCategory = maxPerCategory ?? Int.max
                rules.maxPerAuthor = maxPerAuthor ?? Int.max
                config.funnel.rerank.rules = rules
            }
            config.funnel.rerank.explorationTemperature = exploreTemperature
            if !config.authEnabled && !Self.isLoopback(host) {
                throw CascadeError.invalid("--host \(host): without API keys the server listens on loopback only (127.0.0.1, ::1, localhost); set CASCADE_ADMIN_KEY_SHA256 and CASCADE_READ_KEY_SHA256 (see `cascade key new`) to serve other hosts")
            }
            let api = try CascadeAPI(store: try store.open(), config: config)
            if !config.authEnabled { note("warning: no CASCADE_READ_KEY(_SHA256) or CASCADE_ADMIN_KEY(_SHA256) set: the API is open to every program on this machine (loopback only)") }
            note("serving \(store.display) on http://\(host):\(port) (models: \(api.models.versions.sorted { $0.key < $1.key }.map { "\($0.key) v\($0.value)" }.joined(separator: ", ")))")
            let app = api.application(host: host, port: port)
            let reloader = reloadInterval > 0 ? api.startReloading() : nil
            let done = DispatchSemaphore(value: 0)
            let failure = ErrorBox()
            Task {
                do { try await app.runService() } catch { failure.error = error }
                reloader?.cancel()
                done.signal()
            }
            done.wait()
            if let e = failure.error { throw e }
        }
    }
}

/// Carries an error out of the server task.
final class ErrorBox: @unchecked Sendable {
    var error: (any Error)?
}
