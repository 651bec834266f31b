import Hummingbird
import TroveCore

/// Batch reports (SPEC §11) under `/v1/reports`, with the App API key.
struct ReportController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: Router<Context>) {
        router.get("/v1/reports/events") { request, context in
            let account = try context.requireAccount()
            let report = services.eventReport
            return Response.json(try await report.run(account: account, try report.request(Self.query(request, ["from", "to", "names", "interval", "tz"]))))
        }
        router.get("/v1/reports/funnel") { request, context in
            let account = try context.requireAccount()
            let report = services.funnelReport
            switch try await report.run(account: account, try report.request(Self.query(request, ["steps", "group_by", "within", "from", "to", "limit"]))) {
            case .ready(let json):
                return Response.json(json)
            case .building(let progress):
                // The lists its steps read are being built in the background (seconds on millions of events).
                return Response.json(
                    bytes: JSONWriter.bytes([
                        "state": "building", "progress": .double((progress * 1000).rounded() / 1000),
                        "message": "building the event lists this funnel reads; ask again shortly",
                    ]), status: .accepted, headers: [.retryAfter: "2"])
            }
        }
        router.get("/v1/reports/messages") { request, context in
            let account = try context.requireAccount()
            return Response.json(try await services.messageReport.run(
                account: account, query: Self.query(request, ["campaign_id", "newsletter_id", "action_id", "transactional_message_id", "from", "to"])))
        }
        router.get("/v1/reports/segments/:id/history") { request, context in
            let account = try context.requireAccount()
            let id = try context.parameters.segmentID()
            return Response.json(try await services.segmentHistory.run(account: account, segment: id, from: request.query("from"), to: request.query("to")))
        }
    }

    /// The named query parameters that are present, percent-decoded.
    static func query(_ request: Request, _ names: [String]) -> [String: String] {
        var found: [String: String] = [:]
        for name in names { found[name] = request.query(name) }
        return found
    }
}
