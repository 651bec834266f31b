import Dispatch
import HTTPTypes
import Hummingbird
import Logging

/// One structured log line per request (contract §13: no secrets): method, the route template rather than
/// the path (hook paths carry the account's secret; query strings may carry keys), status, duration and a
/// request id — the caller's `X-Request-Id` when it is a plain token, else Hummingbird's own — which the
/// response echoes and every line logged while handling the request carries (as `hb.request.id`).
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    var header: HTTPField.Name { .requestID }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        var context = context
        if let id = request.headers[header].flatMap(Self.acceptable) {
            context.logger[metadataKey: "hb.request.id"] = .string(id)
        }
        let id = context.logger[metadataKey: "hb.request.id"]?.description ?? "-"
        do {
            var response = try await next(request, context)
            response.headers[header] = id
            log(request, context, status: response.status.code, started: started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            log(request, context, status: status, started: started)
            throw error
        }
    }

    func log(_ request: Request, _ context: Context, status: Int, started: UInt64) {
        let level: Logger.Level = status >= 500 ? .error : .info
        guard context.logger.logLevel <= level else { return }
        let micros = (DispatchTime.now().uptimeNanoseconds - started) / 1000
        let fraction = micros / 10 % 100
        context.logger.log(level: level, "request", metadata: [
            "method": .string(request.method.rawValue),
            "route": .string(context.endpointPath ?? "(no route)"),
            "status": .stringConvertible(status),
            "ms": .string("\(micros / 1000).\(fraction < 10 ? "0" : "")\(fraction)"),
        ])
    }

    /// A caller's id is kept when it is 1–64 characters of letters, digits, `-`, `_`, `.`.
    static func acceptable(_ text: String) -> String? {
        guard (1...64).contains(text.utf8.count), text.utf8.allSatisfy({ b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
        }) else { return nil }
        return text
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
