import Hummingbird
import TroveCore

/// Customer.io's Track API (contract §8) under `/api/v1`, HTTP Basic `site_id:track_api_key`; success is
/// `200 {}` as Customer.io answers, errors `{"meta":{"errors":[…]}}`.
struct TrackController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.put("/api/v1/customers/:identifier") { request, context in
            let account = try context.requireAccount()
            try await services.track.identify(account: account, identifier: context.pathParameter("identifier"), body: try await request.jsonBody())
            return Response.json([:])
        }
        router.delete("/api/v1/customers/:identifier") { request, context in
            let account = try context.requireAccount()
            try await services.track.delete(account: account, identifier: context.pathParameter("identifier"))
            return Response.json([:])
        }
        router.post("/api/v1/customers/:identifier/events") { request, context in
            let account = try context.requireAccount()
            try await services.track.track(account: account, identifier: context.pathParameter("identifier"), body: try await request.jsonBody())
            return Response.json([:])
        }
        router.post("/api/v1/events") { request, context in
            let account = try context.requireAccount()
            try await services.track.trackAnonymous(account: account, body: try await request.jsonBody())
            return Response.json([:])
        }
    }
}
