import Hummingbird
import TroveCore

/// `/v3` segments and audience reads (contract §5, §6), Chameleon grammar, `X-Account-Secret`.
struct SegmentController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.get("/v3/edit/segments") { request, context in
            let account = try context.requireAccount()
            return Response.json(["segments": .array(try await services.segments.list(account: account).map(ChameleonJSON.segment))])
        }
        router.post("/v3/edit/segments") { request, context in
            let account = try context.requireAccount()
            let segment = try await services.segments.create(account: account, try ChameleonJSON.segmentChange(try await request.jsonBody()))
            return Response.json(["segment": ChameleonJSON.segment(segment)])
        }
        router.post("/v3/edit/segments/preview") { request, context in
            let account = try context.requireAccount()
            let body = try await request.jsonBody()
            let editing: Int64?
            switch body["id"] {
            case nil, .null?: editing = nil
            case let value?:
                guard let id = PublicID.decode(value) else { throw SegmentError.invalid("id: not a segment id") }
                editing = id
            }
            return Response.json(ChameleonJSON.preview(try await services.queries.preview(account: account, filter: try ChameleonFilter.parse(body), editing: editing)))
        }
        router.get("/v3/edit/segments/:id") { request, context in
            let account = try context.requireAccount()
            return Response.json(["segment": ChameleonJSON.segment(try await services.segments.get(account: account, id: try context.parameters.segmentID()))])
        }
        router.patch("/v3/edit/segments/:id") { request, context in
            let account = try context.requireAccount()
            let segment = try await services.segments.update(account: account, id: try context.parameters.segmentID(), try ChameleonJSON.segmentChange(try await request.jsonBody()))
            return Response.json(["segment": ChameleonJSON.segment(segment)])
        }
        router.delete("/v3/edit/segments/:id") { request, context in
            let account = try context.requireAccount()
            let id = try context.parameters.segmentID()
            try await services.segments.delete(account: account, id: id)
            return Response.json(["segment": ["id": .string(PublicID.encode(id))]])
        }
        router.get("/v3/edit/segments/:id/changes") { request, context in
            let account = try context.requireAccount()
            var since: Int64 = 0
            if let text = request.query("since"), !text.isEmpty {
                guard let n = Int64(text), n >= 0 else { throw SegmentError.invalid("since: not a cursor this API returned") }
                since = n
            }
            let limit = try request.limit(default: 100, max: 1000)
            return Response.json(ChameleonJSON.changes(try await services.segmentReader.changes(account: account, segment: try context.parameters.segmentID(), since: since, limit: limit)))
        }
        router.get("/v3/edit/segments/:id/members") { request, context in
            let account = try context.requireAccount()
            return Response.json(ChameleonJSON.members(try await services.segmentReader.members(
                account: account, segment: try context.parameters.segmentID(), asOf: try request.time("as_of"),
                limit: try request.limit(default: 50, max: SegmentReader.maxPage), before: try request.rowCursor("before"))))
        }
        router.get("/v3/edit/segments/:id/explain") { request, context in
            let account = try context.requireAccount()
            let lookup = try ReadController<Context>.lookup(request, allowEmail: true, kind: "profile")
            return Response.json(ChameleonJSON.explanation(try await services.explain.explain(account: account, segment: try context.parameters.segmentID(), profile: lookup)))
        }
        for companies in [false, true] {
            let base = companies ? "/v3/analyze/companies" : "/v3/analyze/profiles"
            router.get(RouterPath(base)) { request, context in
                try await list(request, context, body: nil, companies: companies)
            }
            router.post(RouterPath(base)) { request, context in
                try await list(request, context, body: try await request.jsonBody(), companies: companies)
            }
            router.get(RouterPath(base + "/count")) { request, context in
                try await count(request, context, body: nil, companies: companies)
            }
            router.post(RouterPath(base + "/count")) { request, context in
                try await count(request, context, body: try await request.jsonBody(), companies: companies)
            }
        }
    }

    /// `segment_id`, or `filters` + `filters_op`, from the query or the body.
    func audience(_ request: Request, body: JSON?) throws -> SegmentQueries.Audience {
        let segmentValue = body?["segment_id"] ?? request.query("segment_id").map(JSON.string)
        if let segmentValue, segmentValue != .null {
            guard let id = PublicID.decode(segmentValue) else { throw SegmentError.invalid("segment_id: not a segment id") }
            return .segment(id)
        }
        let filters = try body?["filters"] ?? request.jsonQuery("filters")
        guard let filters, filters != .null else { return .everyone }
        let op = body?["filters_op"] ?? request.query("filters_op").map(JSON.string)
        return .filter(try ChameleonFilter.parse(filters: filters, op: op))
    }

    func list(_ request: Request, _ context: Context, body: JSON?, companies: Bool) async throws -> Response {
        let account = try context.requireAccount()
        let audience = try audience(request, body: body)
        let limit = try request.limit(default: 50, max: SegmentReader.maxPage)
        let before = try request.rowCursor("before")
        return Response.json(companies
            ? ChameleonJSON.companies(try await services.queries.companies(account: account, audience: audience, limit: limit, before: before))
            : ChameleonJSON.profiles(try await services.queries.profiles(account: account, audience: audience, limit: limit, before: before)))
    }

    func count(_ request: Request, _ context: Context, body: JSON?, companies: Bool) async throws -> Response {
        let account = try context.requireAccount()
        return Response.json(["count": .int(try await services.queries.count(account: account, audience: try audience(request, body: body), companies: companies))])
    }
}
