import Hummingbird
import Logging
import TroveCore

/// An authentication failure in the `/v3` family.
struct ForbiddenError: Error, CustomStringConvertible {
    var description: String
}

/// Maps errors to the `/v3` (Chameleon) shape `{"code":N,"messages":["..."]}` in one place.
struct ChameleonErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, logger: context.logger)
        }
    }

    static func response(for error: any Error, logger: Logger) -> Response {
        let (status, message, headers): (HTTPResponse.Status, String, HTTPFields) =
            switch error {
            case let e as IngestError:
                (HTTPResponse.Status(code: e.status), e.description,
                 e.status == 503 ? [.retryAfter: "1"] : [:])
            case let e as ReadError:
                switch e {
                case .notFound(let m): (.notFound, m, [:])
                case .invalid(let m): (.unprocessableContent, m, [:])
                }
            case let e as ForbiddenError: (.forbidden, e.description, [:])
            case let e as any HTTPResponseError:
                (e.status, e.status == .notFound ? "no such route" : "\(e.status.reasonPhrase)", [:])
            default:
                (.serviceUnavailable, "temporarily unavailable; retry shortly", [.retryAfter: "1"])
            }
        if status.code >= 500 { logger.error("request failed: \(error)") }
        let body: JSON = ["code": .int(Int64(status.code)), "messages": [.string(message)]]
        return Response.json(bytes: JSONWriter.bytes(body), status: status, headers: headers)
    }
}
