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

    @OptionGroup var settings: SettingsOptions

    @Option(help: deploymentHelp("server.host"))
    var host: String?

    @Option(help: deploymentHelp("server.port"))
    var port: Int?

    @Option(help: deploymentHelp("server.reloadInterval"))
    var reloadInterval: Double?

    @Option(help: deploymentHelp("server.workers"))
    var workers: Int?

    @Option(help: deploymentHelp("server.maxN"))
    var maxN: Int?

    @Option(help: deploymentHelp("server.maxBatch"))
    var maxBatch: Int?

    @Option(help: deploymentHelp("server.maxBodyBytes"))
    var maxBody: Int?

    @Option(help: deploymentHelp("server.pageLogQueue"))
    var pageLogQueue: Int?

    @Flag(inversion: .prefixedNo, help: deploymentHelp("rank.enabled"))
    var rank: Bool?

    @Flag(inversion: .prefixedNo, help: deploymentHelp("parallelRecall"))
    var parallelRecall: Bool?

    @Option(help: deploymentHelp("deadlineMs"))
    var deadlineMs: Double?

    @Option(help: deploymentHelp("rerank.mode"))
    var rerank: String?

    @Option(help: "Re-rank rule: at most this many items of one category in any --rule-window consecutive positions (off when absent).")
    var maxPerCategory: Int?

    @Option(help: "Re-rank rule: at most this many items of one author in any --rule-window consecutive positions.")
    var maxPerAuthor: Int?

    @Option(help: "Window of the re-rank rules, positions.")
    var ruleWindow = 5

    @Option(help: deploymentHelp("rerank.explorationTemperature"))
    var exploreTemperature: Float?

    func validate() throws {
        guard (maxPerCategory ?? 1) >= 1, (maxPerAuthor ?? 1) >= 1, ruleWindow >= 1 else {
            throw ValidationError("--max-per-category, --max-per-author and --rule-window must be >= 1")
        }
        guard (exploreTemperature ?? 0) >= 0, (exploreTemperature ?? 0).isFinite else { throw ValidationError("--explore-temperature must be >= 0") }
        do { _ = try deployment() } catch let e as CascadeError { throw ValidationError(e.description) }
    }

    /// The deployment's settings: defaults (recall channels in turn, as a loaded server wants),
    /// then the config file, the environment and `--set`, then the flags given.
    func deployment() throws -> Deployment {
        var d = try settings.apply(Deployment.served, settings: Deployment.settings)
        let s = Deployment.settings
        try assign(&d, s, flag: "host", key: "server.host", host)
        try assign(&d, s, flag: "port", key: "server.port", port)
        try assign(&d, s, flag: "reload-interval", key: "server.reloadInterval", reloadInterval)
        try assign(&d, s, flag: "workers", key: "server.workers", workers)
        try assign(&d, s, flag: "max-n", key: "server.maxN", maxN)
        try assign(&d, s, flag: "max-batch", key: "server.maxBatch", maxBatch)
        try assign(&d, s, flag: "max-body", key: "server.maxBodyBytes", maxBody)
        try assign(&d, s, flag: "page-log-queue", key: "server.pageLogQueue", pageLogQueue)
        try assign(&d, s, flag: "rerank", key: "rerank.mode", rerank)
        try assign(&d, s, flag: "parallel-recall", key: "parallelRecall", parallelRecall)
        try assign(&d, s, flag: "deadline-ms", key: "deadlineMs", deadlineMs)
        try assign(&d, s, flag: "rank", key: "rank.enabled", rank)
        try assign(&d, s, flag: "explore-temperature", key: "rerank.explorationTemperature", exploreTemperature)
        return d
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
            let d = try deployment()
            let (host, port) = (d.host, d.port)
            var config = d.server
            config.keys = try Self.keys(from: env)
            let cores = ProcessInfo.processInfo.activeProcessorCount
            config.workers = d.workers ?? (store.isPostgres ? max(4, 4 * cores) : max(1, cores))
            config.funnel = d.funnel
            if maxPerCategory != nil || maxPerAuthor != nil {
                var rules = DiversityRules()
                rules.window = ruleWindow
                rules.maxPerCategory = maxPerCategory ?? Int.max
                rules.maxPerAuthor = maxPerAuthor ?? Int.max
                config.funnel.rerank.rules = rules
            }
            if !config.authEnabled && !Self.isLoopback(host) {
                throw CascadeError.invalid("--host \(host): without API keys the server listens on loopback only (127.0.0.1, ::1, localhost); set CASCADE_ADMIN_KEY_SHA256 and CASCADE_READ_KEY_SHA256 (see `cascade key new`) to serve other hosts")
            }
            let api = try CascadeAPI(store: try store.open(), config: config)
            if !config.authEnabled { note("warning: no CASCADE_READ_KEY(_SHA256) or CASCADE_ADMIN_KEY(_SHA256) set: the API is open to every program on this machine (loopback only)") }
            note("serving \(store.display) on http://\(host):\(port) (models: \(api.models.versions.sorted { $0.key < $1.key }.map { "\($0.key) v\($0.value)" }.joined(separator: ", ")))")
            let app = api.application(host: host, port: port)
            let reloader = config.reloadInterval > 0 ? api.startReloading() : nil
            let done = DispatchSemaphore(value: 0)
            let failure = ErrorBox()
            Task {
                do { try await app.runService() } catch { failure.error = error }
                reloader?.cancel()
                done.signal()
            }
            done.wait()
            // The pages served before the shutdown reach the page log.
            api.flushPageLog()
            if let e = failure.error { throw e }
        }
    }
}

/// Carries an error out of the server task.
final class ErrorBox: @unchecked Sendable {
    var error: (any Error)?
}
