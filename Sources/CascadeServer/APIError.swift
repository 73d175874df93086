import CascadeCore
import Foundation

import Hummingbird
import NIOCore


/// An error answered as JSON: `{"error": {"status": 422, "code": "invalid", "message": "..."}}`.
/// Every 4xx the API returns has this shape, so clients can show the message as it is.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func badRequest(_ m: String) -> APIError { APIError(.badRequest, "bad_request", m) }
    static func invalid(_ m: String) -> APIError { APIError(.unprocessableContent, "invalid", m) }
    static func notFound(_ m: String) -> APIError { APIError(.notFound, "not_found", m) }
    static func unauthorized(_ m: String) -> APIError { APIError(.unauthorized, "unauthorized", m) }
    static func forbidden(_ m: String) -> APIError { APIError(.forbidden, "forbidden", m) }
    static func tooLarge(_ m: String) -> APIError { APIError(.contentTooLarge, "too_large", m) }

    /// Maps any error to the API's answer: Cascade's own errors keep their meaning (invalid
    /// input 422, unknown ids 404); Hummingbird's HTTP errors keep their status; anything else
    /// is a 500 whose message does not leak internals.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as CascadeError:
            switch e {
            case .invalid(let m): return .invalid(m)
            case .notFound(let m): return .notFound(m)
            case .badInput: return .invalid(e.description)
            case .storage, .corrupt: return APIError(.internalServerError, "internal", "internal error: \(e.description)")
            }
        case let e as HTTPError:
            let code: String
            switch e.status.code {
            case 404: code = "not_found"
            case 405: code = "method_not_allowed"
            case 413: code = "too_large"
            default: code = e.status.code < 500 ? "bad_request" : "internal"
            }
            let message = e.body ?? (e.status.code == 404 ? "no such route" : e.status.reasonPhrase)
            return APIError(e.status, code, message)
        case is NIOTooManyBytesError:
            return .tooLarge("request body is larger than the limit")
        case is DecodingError:
            return .badRequest("malformed JSON body: \(Self.describe(error as! DecodingError))")
        default:
            return APIError(.internalServerError, "internal", "internal error")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "" : " at \(p.hasPrefix(".") ? String(p.dropFirst()) : p)"
        }
        switch e {
        case .typeMismatch(let t, let c): return "expected \(t)\(path(c))"
        case .valueNotFound(let t, let c): return "missing \(t) value\(path(c))"
        case .keyNotFound(let k, let c): return "missing field '\(k.stringValue)'\(path(c))"
        case .dataCorrupted(let c): return "\(c.debugDescription)\(path(c))"
        @unknown default: return "undecodable"
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? JSONEncoder().encode(ErrorBody(error: .init(status: status.code, code: code, message: message)))) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The JSON shape of every error answer.
struct ErrorBody: Codable {
    struct Inner: Codable { let status: Int; let code: String; let message: String }
    let error: Inner
}
