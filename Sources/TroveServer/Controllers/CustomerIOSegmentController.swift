import Hummingbird
import TroveCore

/// Customer.io-style segment routes (contract §6 APIs, §7): `/v1` with Bearer `app_api_key`, and the manual
/// membership calls under `/api/v1` with Basic auth.
struct CustomerIOSegmentController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.get("/v1/segments") { request, context in
            let account = try context.requireAccount()
            return Response.json(["segments": .array(try await services.segments.list(account: account).map(AppAPIJSON.segment))])
        }
        router.post("/v1/segments") { request, context in
            let account = try context.requireAccount()
            let body = try await request.jsonBody()
            guard case .object? = body["segment"] else { throw SegmentError.invalid("segment: required, an object {name, description}") }
            guard case .string(let name)? = body["segment"]?["name"] else { throw SegmentError.invalid("segment.name: required (a string)") }
            var description = ""
            switch body["segment"]?["description"] {
            case nil, .null?: break
            case .string(let d)?: description = d
            default: throw SegmentError.invalid("segment.description: must be a string")
            }
            let segment = try await services.segments.createManual(account: account, name: name, description: description)
            return Response.json(["segment": AppAPIJSON.segment(segment)])
        }
        router.get("/v1/segments/:id") { request, context in
            let account = try context.requireAccount()
            return Response.json(["segment": AppAPIJSON.segment(try await services.segments.get(account: account, id: try Self.integerID(context)))])
        }
        router.delete("/v1/segments/:id") { request, context in
            let account = try context.requireAccount()
            try await services.segments.delete(account: account, id: try Self.integerID(context))
            return Response(status: .noContent)
        }
        router.get("/v1/segments/:id/customer_count") { request, context in
            let account = try context.requireAccount()
            let id = try Self.integerID(context)
            return Response.json(["count": .int(try await services.segmentReader.customerCount(account: account, segment: id)), "segment_id": .int(id)])
        }
        router.get("/v1/segments/:id/membership") { request, context in
            let account = try context.requireAccount()
            let limit = try request.limit(default: 1000, max: SegmentReader.maxMembershipPage)
            let id = try Self.integerID(context)
            return Response.json(AppAPIJSON.people(
                try await services.segmentReader.membership(account: account, segment: id, start: request.query("start"), limit: limit), segment: id))
        }
        router.get("/v1/customers/:customer/segments") { request, context in
            let account = try context.requireAccount()
            let customer = try CustomerID(context.pathParameter("customer"), idType: request.query("id_type"))
            return Response.json(["segments": .array(try await services.segmentReader.segmentsOf(account: account, customer: customer).map(AppAPIJSON.summary))])
        }
        for (action, add) in [("add_customers", true), ("remove_customers", false)] {
            router.post(RouterPath("/api/v1/segments/:id/\(action)")) { request, context in
                let account = try context.requireAccount()
                let ids = try (try await request.jsonBody()).customerIDs()
                try await services.manualMembership.change(
                    account: account, segment: try Self.integerID(context), ids: ids, idType: request.query("id_type"), add: add)
                    return Response.json([:])
            }
        }
    }

    /// `/v1` segment ids are integers (contract §2).
    static func integerID(_ context: Context) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw SegmentError.notFound("no segment with id \(context.parameters.get("id") ?? "")")
        }
        return id
    }
}
