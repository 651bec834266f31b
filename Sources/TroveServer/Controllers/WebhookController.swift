import Hummingbird
import TroveCore

/// Outgoing webhook endpoints (contract §10) under `/v3/edit/webhooks`.
struct WebhookController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.post("/v3/edit/webhooks") { request, context in
            let account = try context.requireAccount()
            return Response.json(["webhook": ChameleonJSON.endpoint(try await services.webhooks.create(account: account, try ChameleonJSON.endpointChange(try await request.jsonBody())))])
        }
        router.get("/v3/edit/webhooks") { request, context in
            let account = try context.requireAccount()
            return Response.json(["webhooks": .array(try await services.webhooks.list(account: account).map(ChameleonJSON.endpoint))])
        }
        router.get("/v3/edit/webhooks/:id") { request, context in
            let account = try context.requireAccount()
            return Response.json(["webhook": ChameleonJSON.endpoint(try await services.webhooks.get(account: account, id: try Self.id(context, "id")))])
        }
        router.patch("/v3/edit/webhooks/:id") { request, context in
            let account = try context.requireAccount()
            return Response.json(["webhook": ChameleonJSON.endpoint(try await services.webhooks.update(
                account: account, id: try Self.id(context, "id"), try ChameleonJSON.endpointChange(try await request.jsonBody())))])
        }
        router.delete("/v3/edit/webhooks/:id") { request, context in
            let account = try context.requireAccount()
            try await services.webhooks.delete(account: account, id: try Self.id(context, "id"))
            return Response.json(["deleted": true])
        }
        router.post("/v3/edit/webhooks/:id/rotate_secret") { request, context in
            let account = try context.requireAccount()
            return Response.json(["webhook": ChameleonJSON.endpoint(try await services.webhooks.rotateSecret(account: account, id: try Self.id(context, "id")))])
        }
        router.post("/v3/edit/webhooks/:id/ping") { request, context in
            let account = try context.requireAccount()
            return Response.json(["delivery": ChameleonJSON.delivery(try await services.webhooks.ping(account: account, id: try Self.id(context, "id")))])
        }
        router.get("/v3/edit/webhooks/:id/deliveries") { request, context in
            let account = try context.requireAccount()
            let limit = try request.limit(default: 50, max: 500)
            let deliveries = try await services.webhooks.deliveries(account: account, endpoint: try Self.id(context, "id"), limit: limit)
            return Response.json(["deliveries": .array(deliveries.map(ChameleonJSON.delivery))])
        }
        router.post("/v3/edit/webhooks/:id/deliveries/:delivery/retry") { request, context in
            let account = try context.requireAccount()
            return Response.json(["delivery": ChameleonJSON.delivery(try await services.webhooks.retry(
                account: account, endpoint: try Self.id(context, "id"), delivery: try Self.id(context, "delivery")))])
        }
    }

    static func id(_ context: Context, _ name: String) throws -> Int64 {
        guard let id = PublicID.decode(context.parameters.get(name) ?? "") else {
            throw WebhookError.notFound("no \(name == "id" ? "webhook" : "delivery") with id \(context.parameters.get(name) ?? "")")
        }
        return id
    }
}
