import Foundation
import Hummingbird
import HTTPTypes

/// Authentication, timing, metrics and JSON errors for every route (and for unknown routes).
///
/// Scopes: `GET /health` is open; `GET /api/recommend/...` and `GET /api/items/{id}/similar`
/// need the read key (or the admin key); everything else needs the admin key. A key is sent as
/// `Authorization: Bearer KEY` or `X-API-Key: KEY` (or `?key=KEY`, for the dashboard in a
/// browser). Keys are kept and compared as SHA-256 digests, in constant time (``APIKeys``).
struct APIMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let api: CascadeAPI

    enum Scope { case open, read, admin }

    static func scope(method: HTTPRequest.Method, path: String) -> Scope {
        if path == "/health" { return .open }
        if method == .get && (path.hasPrefix("/api/recommend/") || (path.hasPrefix("/api/items/") && path.hasSuffix("/similar"))) {
            return .read
        }
        return .admin
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let route = context.endpointPath ?? "unmatched"
        let response: Response
        do {
            try Self.checkWrite(request)
            try authorize(request)
            response = try await next(request, context)
        } catch {
            let e = APIError.from(error)
            if e.status.code >= 500 { api.logger.error("request failed", metadata: ["route": "\(route)", "error": "\(error)"]) }
            response = try e.response(from: request, context: context)
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        api.metrics.request(route: "\(request.method) \(route)", status: response.status.code, milliseconds: ms)
        return response
    }

    /// Writes a web page could forge from another site are refused, keys or not: a POST or PUT
    /// must declare a JSON body (`Content-Type: application/json`, which a cross-site form or a
    /// simple request cannot send without a CORS preflight, and the API grants none), and a
    /// write that carries an `Origin` (browsers add it) must come from the API's own origin.
    static func checkWrite(_ request: Request) throws {
        let method = request.method
        guard method == .post || method == .put || method == .delete || method == .patch else { return }
        if method != .delete {
            let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard type == "application/json" else {
                throw APIError(.unsupportedMediaType, "unsupported_media_type",
                               "\(method) \(request.uri.path) needs 'Content-Type: application/json' (got \(type.map { "'\($0)'" } ?? "none"))")
            }
        }
        if let origin = request.headers[.origin], !origin.isEmpty {
            let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] ?? ""
            let own = URLComponents(string: origin).map { c in
                (c.host ?? "") + (c.port.map { ":\($0)" } ?? "")
            }
            guard let own, !host.isEmpty, own.lowercased() == host.lowercased() else {
                throw APIError.forbidden("cross-origin write refused: origin '\(origin)' is not this server's ('\(host)'); call the API from a server or from the dashboard's own origin")
            }
        }
    }

    func authorize(_ request: Request) throws {
        guard api.config.authEnabled else { return }
        let scope = Self.scope(method: request.method, path: request.uri.path)
        if scope == .open { return }
        var key = request.headers[.authorization].flatMap { h -> String? in
            h.lowercased().hasPrefix("bearer ") ? String(h.dropFirst(7)).trimmingCharacters(in: .whitespaces) : nil
        }
        if key == nil { key = request.headers.first(where: { $0.name.canonicalName == "x-api-key" })?.value }
        let queryKey: String? = request.uri.queryParameters.get("key").map { String($0) }
        // A key in the query string ends up in logs and browser history: it opens the dashboard
        // (a page a browser navigates to) and nothing else.
        if key == nil, request.method == .get, request.uri.path == "/dashboard" { key = queryKey }
        guard let given = key, !given.isEmpty else {
            if queryKey != nil {
                throw APIError.unauthorized("a key in the query string (?key=) is accepted by /dashboard only: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
            }
            throw APIError.unauthorized("an API key is required: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'")
        }
        let (isRead, isAdmin) = api.config.keys.check(given)
        switch scope {
        case .open: return
        case .read where isRead || isAdmin: return
        case .admin where isAdmin: return
        case .read: throw APIError.unauthorized("the API key is not valid")
        case .admin:
            throw isRead ? APIError.forbidden("this route needs the admin key; the read key only reads recommendations")
                         : APIError.unauthorized("the API key is not valid")
        }
    }
}
