import Hummingbird
import TroveCore

/// Counts every request while it is served, so heavy reads know when others wait and pace themselves
/// (`HeavyReads.serving`).
struct InFlightMiddleware<Context: RequestContext>: RouterMiddleware {
    let reads: HeavyReads

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await reads.serving { try await next(request, context) }
    }
}
