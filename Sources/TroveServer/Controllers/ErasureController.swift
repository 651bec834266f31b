import Hummingbird
import TroveCore

/// Erasure (contract §5 forget): a person by id, uid or email, and the record of erasures.
struct ErasureController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.delete("/v3/edit/profiles/forget") { request, context in
            let account = try context.requireAccount()
            let person: ObjectLookup
            if let uid = request.query("uid"), !uid.isEmpty {
                person = .uid(uid)
            } else if let email = request.query("email"), !email.isEmpty {
                person = .email(email)
            } else {
                throw ReadError.invalid("query: give uid or email (or DELETE /v3/edit/profiles/:id/forget)")
            }
            return Response.json(ChameleonJSON.erasure(try await services.erasure.forget(account: account, person: person, source: .api)))
        }
        router.delete("/v3/edit/profiles/:id/forget") { request, context in
            let account = try context.requireAccount()
            let id = try context.parameters.publicID("id", kind: "profile")
            return Response.json(ChameleonJSON.erasure(try await services.erasure.forget(account: account, person: .id(id), source: .api)))
        }
        router.delete("/v3/edit/companies/:id") { request, context in
            let account = try context.requireAccount()
            let id = try context.parameters.publicID("id", kind: "company")
            let cascade: Bool
            switch request.query("cascade") {
            case nil, ""?: cascade = false
            case "profiles"?: cascade = true
            case let other?: throw ReadError.invalid("cascade: \"\(other)\" is not a cascade; give cascade=profiles to erase the company's people too")
            }
            let receipt = try await services.erasure.forgetCompany(account: account, company: id, cascade: cascade)
            return Response.json(ChameleonJSON.erasure(receipt))
        }
        router.get("/v3/edit/deletions") { request, context in
            let account = try context.requireAccount()
            let page = try await services.deletions.deletions(
                account: account, limit: try request.limit(default: 50, max: 500), before: try request.rowCursor("before"))
            return Response.json(ChameleonJSON.deletions(page))
        }
    }
}
