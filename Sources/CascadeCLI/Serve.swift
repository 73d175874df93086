import ArgumentParser
import CascadeEngine
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

    @Option(help: "Largest n a recommendation request may ask for.")
    var maxN = 200

    @Option(help: "Most events in one feedback batch.")
    var maxBatch = 1_000

    @Option(help: "Largest request body, bytes.")
    var maxBody = 1 << 20

    @Flag(inversion: .prefixedNo, help: "Run one request's recall channels concurrently (off: each request's channels in turn, better under load).")
    var parallelRecall = false

    @Option(help: "Diversity re-rank of every page: none, dpp or mmr (over the ALS, two-tower or LightGCN item vectors).")
    var rerank = "none"

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be in 1...65535, got \(port)") }
        guard reloadInterval >= 0, reloadInterval.isFinite else { throw ValidationError("--reload-interval must be >= 0") }
        guard RerankConfig.Mode(rawValue: rerank) != nil else { throw ValidationError("--rerank must be none, dpp or mmr, got \(rerank)") }
        guard maxN >= 1, maxBatch >= 1, maxBody >= 1024 else { throw ValidationError("--max-n and --max-batch must be >= 1, --max-body >= 1024") }
    }

    func run() throws {
        try runReporting {
            let env = ProcessInfo.processInfo.environment
            var config = ServerConfig()
            config.readKey = env["CASCADE_READ_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            config.adminKey = env["CASCADE_ADMIN_KEY"].flatMap { $0.isEmpty ? nil : $0 }
            config.reloadInterval = reloadInterval
            config.maxN = maxN
            config.maxBatch = maxBatch
            config.maxBodyBytes = maxBody
            config.funnel.rerank.mode = RerankConfig.Mode(rawValue: rerank) ?? .none
            config.funnel.parallelRecall = parallelRecall
            let api = try CascadeAPI(store: try store.open(), config: config)
            if !config.authEnabled { note("warning: no CASCADE_READ_KEY or CASCADE_ADMIN_KEY set: the API is open to anyone who can reach it") }
            note("serving \(store.db) on http://\(host):\(port) (models: \(api.models.versions.sorted { $0.key < $1.key }.map { "\($0.key) v\($0.value)" }.joined(separator: ", ")))")
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
