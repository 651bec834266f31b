import Hummingbird
import TroveCore

/// Single-object reads (contract §5) and the data-management reads (contract §4).
struct ReadController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.get("/v3/analyze/profile") { request, context in
            let account = try context.requireAccount()
            let lookup = try Self.lookup(request, allowEmail: true, kind: "profile")
            let expandCompany = request.query("expand[company]") != nil
            let expandSegments = request.query("expand[segments]") != nil
            return Response.json(["profile": ChameleonJSON.profile(try await services.objects.profile(
                account: account, lookup, expandCompany: expandCompany, expandSegments: expandSegments))])
        }
        router.get("/v3/analyze/events") { request, context in
            let account = try context.requireAccount()
            let timeline = try TimelineRequest(
                person: try Self.person(request), name: request.query("name").flatMap { $0.isEmpty ? nil : $0 },
                limit: try request.limit(default: TimelineRequest.defaultLimit, max: TimelineRequest.maxLimit),
                before: try request.query("before").flatMap { $0.isEmpty ? nil : try TimelineCursor(text: $0) })
            return Response.json(ChameleonJSON.timeline(try await services.timelines.timeline(account: account, timeline)))
        }
        router.get("/v3/analyze/company") { request, context in
            let account = try context.requireAccount()
            let lookup = try Self.lookup(request, allowEmail: false, kind: "company")
            return Response.json(["company": ChameleonJSON.company(try await services.objects.company(account: account, lookup))])
        }
        router.get("/v3/edit/warnings") { request, context in
            let account = try context.requireAccount()
            return Response.json(["warnings": .array(try await services.catalog.warnings(account: account, model: try Self.kind(request)).map(ChameleonJSON.warning))])
        }
        router.get("/v3/edit/properties") { request, context in
            let account = try context.requireAccount()
            return Response.json(["properties": .array(try await services.catalog.properties(account: account, model: try Self.kind(request)).map(ChameleonJSON.property))])
        }
        router.get("/v3/edit/event_names") { request, context in
            let account = try context.requireAccount()
            return Response.json(["event_names": .array(try await services.catalog.eventNames(account: account).map(ChameleonJSON.eventName))])
        }
    }

    static func lookup(_ request: Request, allowEmail: Bool, kind: String) throws -> ObjectLookup {
        if let uid = request.query("uid"), !uid.isEmpty { return .uid(uid) }
        if allowEmail, let email = request.query("email"), !email.isEmpty { return .email(email) }
        if let id = request.query("id"), !id.isEmpty {
            guard let row = PublicID.decode(id) else { throw ReadError.invalid("id: not a valid id (24 hex characters or an integer)") }
            return .id(row)
        }
        throw ReadError.invalid(allowEmail ? "query: give uid, email or id" : "query: give uid or id")
    }

    /// A timeline's person: `uid`, `email` or `profile_id` (contract §5), or `id` as the other reads take.
    static func person(_ request: Request) throws -> ObjectLookup {
        if let id = request.query("profile_id"), !id.isEmpty {
            guard let row = PublicID.decode(id) else { throw ReadError.invalid("profile_id: not a valid id (24 hex characters or an integer)") }
            return .id(row)
        }
        do {
            return try lookup(request, allowEmail: true, kind: "profile")
        } catch ReadError.invalid {
            throw ReadError.invalid("query: give uid, email or profile_id")
        }
    }

    static func kind(_ request: Request) throws -> Model? {
        guard let kind = request.query("kind"), !kind.isEmpty else { return nil }
        guard let model = Model(rawValue: kind) else { throw ReadError.invalid("kind: must be profile, company or event") }
        return model
    }
}
