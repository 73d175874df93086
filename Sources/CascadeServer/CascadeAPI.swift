import CascadeCore
import CascadeEngine
import CascadeStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// The HTTP API of Cascade over one store: recommendations, feedback, users and items,
/// similar items, experiments, health, metrics and the dashboard. See docs/openapi.json.
///
/// Every route runs behind one middleware that authenticates (read or admin key), times the
/// request, counts it in ``ServerMetrics`` and turns every error into a JSON body with its status.
public final class CascadeAPI: Sendable {
    public let store: any Store
    public let models: ServingModels
    public let config: ServerConfig
    public let metrics = ServerMetrics()
    /// Impressions and clicks per experiment arm over time (the dashboard's arms chart).
    public let armActivity = ArmActivity()
    let workers: NIOThreadPool
    let logger = Logger(label: "cascade.server")
    /// The served-page log (nil with `config.pageLogQueue` 0).
    let pageLog: PageLog?

    /// Loads the active models of `store`; throws when none has been trained.
    public init(store: any Store, config: ServerConfig = ServerConfig()) throws {
        self.store = store
        self.config = config
        models = try ServingModels(store: store, config: config.funnel)
        metrics.modelsSwapped(models.versions)
        workers = NIOThreadPool(numberOfThreads: max(1, config.workers))
        workers.start()
        pageLog = config.pageLogQueue > 0 ? PageLog(store: store, capacity: config.pageLogQueue) : nil
    }

    deinit {
        pageLog?.stop()
        workers.shutdownGracefully { _ in }
    }

    /// Writes the served pages still queued (blocking).
    public func flushPageLog() { pageLog?.flush() }

    /// The served-page log's lines of `/metrics`.
    func pageLogMetrics() -> String {
        guard let c = pageLog?.counts else { return "" }
        return "# HELP cascade_page_log_written_total Served pages written to the page log.\n# TYPE cascade_page_log_written_total counter\n"
            + "cascade_page_log_written_total \(c.written)\n"
            + "# HELP cascade_page_log_dropped_total Served pages left out of the page log (queue full or store refused); their requests were served.\n"
            + "# TYPE cascade_page_log_dropped_total counter\ncascade_page_log_dropped_total \(c.dropped)\n"
            + "# HELP cascade_page_log_queued Served pages waiting to be written.\n# TYPE cascade_page_log_queued gauge\ncascade_page_log_queued \(c.queued)\n"
    }

    /// Runs blocking work (store calls, the funnel) on the worker threads.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await workers.runIfActive(body)
    }

    /// Every route of the API, in the order docs/openapi.json lists them (method, path pattern).
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/api/recommend/{user}"),
        ("POST", "/api/feedback"),
        ("GET", "/api/users/{id}"), ("PUT", "/api/users/{id}"), ("DELETE", "/api/users/{id}"),
        ("GET", "/api/items/{id}"), ("PUT", "/api/items/{id}"), ("DELETE", "/api/items/{id}"),
        ("POST", "/api/items/{id}/hide"), ("POST", "/api/items/{id}/unhide"),
        ("GET", "/api/items/{id}/similar"),
        ("GET", "/api/experiments"), ("PUT", "/api/experiments"),
        ("GET", "/health"), ("GET", "/metrics"), ("GET", "/dashboard"),
    ]

    /// The router with every route and the middleware.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: APIMiddleware(api: self))
        addRecommendRoutes(router)
        addFeedbackRoutes(router)
        addEntityRoutes(router)
        addSystemRoutes(router)
        addDashboardRoute(router)
        return router
    }

    /// An application serving the API on `host:port`.
    public func application(host: String = "127.0.0.1", port: Int = 8080) -> some ApplicationProtocol {
        Application(router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "cascade"),
                    logger: logger)
    }

    /// Checks every `config.reloadInterval` seconds for newly activated model versions and swaps
    /// them in, until the returned task is cancelled.
    public func startReloading() -> Task<Void, Never> {
        let interval = max(0.05, config.reloadInterval)
        return Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                if Task.isCancelled { break }
                if models.reloadIfChanged() { metrics.modelsSwapped(models.versions) }
            }
        }
    }

    // MARK: helpers shared by the routes

    /// The JSON answer with `status`.
    func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The request body, refusing bodies over the limit and empty ones.
    func bodyData(_ request: Request, expecting what: String = "a JSON document") async throws -> Data {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: config.maxBodyBytes) } catch is NIOTooManyBytesError {
            throw APIError.tooLarge("request body is larger than \(config.maxBodyBytes) bytes")
        }
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("empty body: \(what) is expected") }
        return Data(buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? [])
    }

    /// The request body decoded as JSON.
    func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        try JSONDecoder().decode(T.self, from: try await bodyData(request))
    }

    /// A path parameter, percent-decoded.
    func parameter(_ name: String, _ context: BasicRequestContext) throws -> String {
        guard let raw = context.parameters.get(name) else { throw APIError.badRequest("missing path parameter '\(name)'") }
        guard let decoded = raw.removingPercentEncoding, !decoded.isEmpty else {
            throw APIError.badRequest("path parameter '\(name)' is not valid percent-encoding")
        }
        // Ids have one form (Identifier): another spelling of the same id is the same id.
        let value = Identifier.canonical(decoded)
        // Every path parameter is a user or item id: one that no write could have stored (control
        // characters, over 256 bytes) is refused here, before it reaches the store.
        do { try User(id: value).validate() } catch {
            throw APIError.invalid("path parameter '\(name)': " + error.description.replacingOccurrences(of: "invalid input: user ", with: ""))
        }
        return value
    }

    /// An integer query parameter within `range`, or `fallback` when absent.
    func intQuery(_ name: String, _ request: Request, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = request.uri.queryParameters.get(name) else { return fallback }
        guard let v = Int(raw), range.contains(v) else {
            throw APIError.invalid("query parameter '\(name)' must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(raw)'")
        }
        return v
    }

    func boolQuery(_ name: String, _ request: Request) throws -> Bool {
        guard let raw = request.uri.queryParameters.get(name) else { return false }
        switch raw.lowercased() {
        case "1", "true", "yes", "": return true
        case "0", "false", "no": return false
        default: throw APIError.invalid("query parameter '\(name)' must be true or false, got '\(raw)'")
        }
    }
}

