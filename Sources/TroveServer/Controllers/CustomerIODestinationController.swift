import Hummingbird
import TroveCore

/// The Customer.io destination (contract §10): its settings, its deliveries, and pulling a Customer.io
/// segment into a manual segment.
struct CustomerIODestinationController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.get("/v3/edit/integrations/customerio") { request, context in
            let account = try context.requireAccount()
            return Response.json(ChameleonJSON.destination(try await services.customerIODestination.show(account: account)))
        }
        router.put("/v3/edit/integrations/customerio") { request, context in
            let account = try context.requireAccount()
            return Response.json(ChameleonJSON.destination(try await services.customerIODestination.update(account: account, document: try await request.jsonBody())))
        }
        router.delete("/v3/edit/integrations/customerio") { request, context in
            let account = try context.requireAccount()
            try await services.customerIODestination.delete(account: account)
            return Response.json(["deleted": true])
        }
        router.get("/v3/edit/integrations/customerio/deliveries") { request, context in
            let account = try context.requireAccount()
            let deliveries = try await services.customerIODestination.deliveries(
                account: account, state: try ChameleonJSON.deliveryState(request.query("state")), limit: try request.limit(default: 50, max: 500))
            return Response.json(["deliveries": .array(deliveries.map(ChameleonJSON.delivery))])
        }
        router.post("/v3/edit/integrations/customerio/deliveries/:delivery/retry") { request, context in
            let account = try context.requireAccount()
            guard let id = context.parameters.get("delivery").flatMap(PublicID.decode) else {
                throw DestinationError.notFound("no Customer.io delivery with id \(context.parameters.get("delivery") ?? "")")
            }
            return Response.json(["delivery": ChameleonJSON.delivery(try await services.customerIODestination.retry(account: account, delivery: id))])
        }
        router.post("/v3/edit/segments/:id/import_from_customerio") { request, context in
            let account = try context.requireAccount()
            let segment = try context.parameters.segmentID()
            let pull = try ChameleonJSON.segmentImport(try await request.jsonBody())
            // A page of 1,000 identifiers is ~100 KB; keep up to 16 MiB of each reply.
            let result = try await HTTPOutgoingTransport.withTransport(replyLimit: 16 << 20) { transport in
                try await services.segmentImport.run(account: account, segment: segment, pull, transport: transport)
            }
            return Response.json(ChameleonJSON.segmentImport(result))
        }
    }
}
