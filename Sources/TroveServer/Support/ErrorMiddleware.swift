import Hummingbird
import Logging
import TroveCore

/// The four API families, each with its own credential and error shape (contract §1, §3, §14).
enum APIFamily {
    /// `/v3/...` (Chameleon): `X-Account-Secret`; `{"code":N,"messages":["..."]}`.
    case chameleon
    /// `/v1/...` (Customer.io App API): `Authorization: Bearer`; `{"errors":[{"detail":"...","status":"N"}]}`.
    case appAPI
    /// `/api/v1/...` (Customer.io Track API): HTTP Basic; `{"meta":{"errors":["..."]}}`.
    case trackAPI
    /// `/v1/batch`, `/v1/track`, … (Segment's tracking API): the write key; `{"success":false,"code":"...","message":"..."}`.
    case segmentAPI

    init(path: String) {
        if path.hasPrefix("/api/v1/") || path == "/api/v1" {
            self = .trackAPI
        } else if Self.segmentPaths.contains(path) {
            self = .segmentAPI
        } else if path.hasPrefix("/v1/") || path == "/v1" {
            self = .appAPI
        } else {
            self = .chameleon
        }
    }

    /// Built once: asked on every request.
    private static let segmentPaths = SegmentTrackingController<TroveRequestContext>.paths

    func body(status: Int, message: String) -> JSON {
        switch self {
        case .chameleon: return ["code": .int(Int64(status)), "messages": [.string(message)]]
        case .appAPI: return ["errors": [["detail": .string(message), "status": .string(String(status))]]]
        case .trackAPI: return ["meta": ["errors": [.string(message)]]]
        case .segmentAPI: return ["success": false, "code": .string(SegmentTrackingController<TroveRequestContext>.code(status)), "message": .string(message)]
        }
    }
}

/// A credential failure; the status is 403 in `/v3` and 401 in the Customer.io families.
struct AuthenticationError: Error, CustomStringConvertible {
    var description: String
}

/// Maps every error to its family's shape, in one place.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, family: APIFamily(path: request.uri.path), logger: context.logger)
        }
    }

    static func response(for error: any Error, family: APIFamily, logger: Logger) -> Response {
        var (status, message, headers) = describe(error, family: family)
        // Customer.io's Track API answers every request it cannot take with 400.
        // Segment's tracking API answers 400 to whatever it refuses to take, the limits included.
        let shown = switch family {
        case .trackAPI where status == .unprocessableContent: HTTPResponse.Status.badRequest
        case .segmentAPI where [HTTPResponse.Status.unprocessableContent, .contentTooLarge, .notFound].contains(status): HTTPResponse.Status.badRequest
        default: status
        }
        if status.code >= 500 {
            // The cause goes to the log (with the request id the response carries), not to the caller.
            logger.error("request failed: \(String(reflecting: error))")
            if status == .internalServerError, let id = logger[metadataKey: "hb.request.id"] {
                message += " (request id \(id))"
            }
        }
        return Response.json(bytes: JSONWriter.bytes(family.body(status: shown.code, message: message)), status: shown, headers: headers)
    }

    /// Every error's status and message, in one place (the APIs' JSON and the admin UI's pages).
    static func describe(_ error: any Error, family: APIFamily = .chameleon) -> (HTTPResponse.Status, String, HTTPFields) {
        switch error {
        case let e as IngestError:
            (e.httpStatus, e.description, e.httpStatus == .serviceUnavailable ? [.retryAfter: "1"] : [:])
        case let e as ReadError:
            switch e {
            case .notFound(let m): (.notFound, m, [:])
            case .invalid(let m): (.unprocessableContent, m, [:])
            }
        case let e as SegmentError: (e.httpStatus, e.description, [:])
        case let e as ReadLimitError:
            switch e {
            case .busy(let seconds): (.tooManyRequests, e.description, [.retryAfter: String(seconds)])
            // The query, not the server, is the problem: retrying it unchanged would fail again.
            case .overBudget: (.unprocessableContent, e.description, [:])
            }
        case let e as ExportError: (e.httpStatus, e.description, [:])
        case let e as SignatureError: (.forbidden, e.description, [:])
        case let e as WebhookError: (e.httpStatus, e.description, [:])
        case let e as DestinationError: (e.httpStatus, e.description, [:])
        case let e as NULInURL: (.badRequest, e.description, [:])
        case let e as AuthenticationError: (family == .chameleon ? .forbidden : .unauthorized, e.description, [:])
        case let e as MethodNotAllowed: (.methodNotAllowed, e.description, [.allow: e.allow])
        case let e as any HTTPResponseError:
            (e.status, e.status == .notFound ? "no such route" : e.status.reasonPhrase, [:])
        case let e as StoredDataError: (.internalServerError, e.description, [:])
        default:
            // 503 is for overload and unavailability; anything unforeseen is a 500, logged.
            if let message = storageUnavailability(error) { (.serviceUnavailable, message, [.retryAfter: "1"]) } else { (.internalServerError, "internal error", [:]) }
        }
    }
}
