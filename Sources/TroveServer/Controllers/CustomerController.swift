import Hummingbird
import TroveCore

/// The App API's customer lookups (SPEC §7), Bearer `app_api_key`.
struct CustomerController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: Router<Context>) {
        router.get("/v1/customers") { request, context in
            let account = try context.requireAccount()
            guard let email = request.query("email"), !email.isEmpty else { throw ReadError.invalid("email: required") }
            return Response.json(try await services.customers.byEmail(account: account, email: email))
        }
        router.post("/v1/customers") { request, context in
            let account = try context.requireAccount()
            let limit = try request.limit(default: 50, max: CustomerReader.maxSearchPage)
            return Response.json(try await services.customers.search(account: account, body: try await request.jsonBody(), start: request.query("start"), limit: limit))
        }
        router.get("/v1/customers/:customer/attributes") { request, context in
            let account = try context.requireAccount()
            let customer = try CustomerID(context.pathParameter("customer"), idType: request.query("id_type"))
            return Response.json(try await services.customers.attributes(account: account, customer: customer))
        }
        router.post("/v1/customers/attributes") { request, context in
            let account = try context.requireAccount()
            let body = try await request.jsonBody()
            let idType = request.query("id_type") ?? body["id_type"]?.stringValue
            let ids = try body.customerIDs().map { try CustomerID($0, idType: idType) }
            return Response.json(try await services.customers.attributes(account: account, ids: ids))
        }
    }
}
