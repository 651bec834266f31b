import Hummingbird

/// A URL whose path or query decodes to a NUL character (`%00`): refused with 400 before any route runs.
/// PostgreSQL's text cannot hold NUL, so no identifier, filter or name may carry one on either engine
/// (request bodies get the same rule from `JSONParser`).
struct NULRefusalMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.description.contains("%00") { throw NULInURL() }
        return try await next(request, context)
    }
}

struct NULInURL: Error, CustomStringConvertible {
    var description: String { "the URL holds %00 (a NUL character), which no identifier, name or filter may contain" }
}
