import HTTPTypes
import Hummingbird
import TroveCore

/// Customer.io as a source (contract §9): its reporting webhooks, and the signing key that guards them.
struct CustomerIOSourceController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        for path in ["/v3/observe/hooks/:account_secret/customerio", "/v3/observe/hooks/customerio"] {
            router.post(RouterPath(path)) { request, context in
                let account = try context.requireAccount()
                let body = try await request.bodyBytes(limit: Ingestor.maxObjectBytes, tooLarge: "body over 1 MiB")
                let receipt = try await services.customerIOSource.receive(
                    account: account, body: body, signature: request.headers[.cioSignature], timestamp: request.headers[.cioTimestamp])
                return Response.json(["event": ["id": .string(PublicID.encode(receipt.eventID)), "duplicate": .bool(receipt.duplicate)]])
            }
        }
        router.get("/v3/edit/integrations/customerio-source") { request, context in
            let account = try context.requireAccount()
            return Response.json(ChameleonJSON.source(try await services.customerIOSource.settings.show(account: account)))
        }
        router.put("/v3/edit/integrations/customerio-source") { request, context in
            let account = try context.requireAccount()
            return Response.json(ChameleonJSON.source(
                try await services.customerIOSource.settings.setSigningKey(account: account, try ChameleonJSON.signingKey(try await request.jsonBody()))))
        }
    }
}

extension HTTPField.Name {
    static let cioSignature = HTTPField.Name("X-CIO-Signature")!
    static let cioTimestamp = HTTPField.Name("X-CIO-Timestamp")!
}
