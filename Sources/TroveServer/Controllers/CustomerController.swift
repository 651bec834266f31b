import Hummingbird
import TroveCore

/// The App API's customer lookups (contract §7), Bearer `app_api_key`.
struct CustomerController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.get("/v1/customers") { request, context in
            let account = try context.requireAccount()
            guard let email = request.query("email"), !email.isEmpty else { throw ReadError.invalid("email: required") }
            return Response.json(["results": .array(try await services.customers.byEmail(account: account, email: email).map(AppAPIJSON.identifiers))])
        }
        router.post("/v1/customers") { request, context in
            let account = try context.requireAccount()
            let limit = try request.limit(default: 50, max: CustomerReader.maxSearchPage)
            let filter = try AppAPIJSON.customerFilter(try await request.jsonBody())
            return Response.json(AppAPIJSON.people(try await services.customers.search(account: account, filter: filter, start: request.query("start"), limit: limit)))
        }
        router.get("/v1/customers/:customer/attributes") { request, context in
            let account = try context.requireAccount()
            let customer = try CustomerID(context.pathParameter("customer"), idType: request.query("id_type"))
            return Response.json(["customer": AppAPIJSON.customer(try await services.customers.attributes(account: account, customer: customer))])
        }
        router.post("/v1/customers/attributes") { request, context in
            let account = try context.requireAccount()
            let body = try await request.jsonBody()
            let idType = request.query("id_type") ?? body["id_type"]?.stringValue
            let ids = try body.customerIDs().map { try CustomerID($0, idType: idType) }
            return Response.json(["customers": .array(try await services.customers.attributes(account: account, ids: ids).map(AppAPIJSON.customer))])
        }
    }
}
