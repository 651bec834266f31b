import Hummingbird

/// A URL whose path or query decodes to a NUL character (`%00`): refused with 400 before any route runs.
/// PostgreSQL's text cannot hold NUL, so no identifier, filter or name may carry one on either engine
/// (request bodies get the same rule from `JSONParser`).
struct NULRefusalMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.holdsNUL(request.uri.description.utf8) { throw NULInURL() }
        return try await next(request, context)
    }

    static func holdsNUL(_ bytes: String.UTF8View) -> Bool {
        var previous: (UInt8, UInt8) = (0, 0)
        for b in bytes {
            if previous.0 == UInt8(ascii: "%"), previous.1 == UInt8(ascii: "0"), b == UInt8(ascii: "0") { return true }
            previous = (previous.1, b)
        }
        return false
    }
}

struct NULInURL: Error, CustomStringConvertible {
    var description: String { "the URL holds %00 (a NUL character), which no identifier, name or filter may contain" }
}
