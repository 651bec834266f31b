import Hummingbird
import TroveCore

/// Batch reports (contract §11) under `/v1/reports`, with the App API key.
struct ReportController<Context: AccountContext> {
    let services: TroveServices

    func addRoutes(to router: RouteTable<Context>) {
        router.get("/v1/reports/events") { request, context in
            let account = try context.requireAccount()
            let report = services.eventReport
            let parameters = EventReport.Parameters(
                from: request.query("from"), to: request.query("to"), names: request.query("names"), interval: request.query("interval"), tz: request.query("tz"))
            return Response.json(AppAPIJSON.events(try await report.run(account: account, try report.request(parameters))))
        }
        router.get("/v1/reports/funnel") { request, context in
            let account = try context.requireAccount()
            let report = services.funnelReport
            let parameters = FunnelReport.Parameters(
                steps: request.query("steps"), groupBy: request.query("group_by"), within: request.query("within"), from: request.query("from"),
                to: request.query("to"), limit: request.query("limit"))
            switch try await report.run(account: account, try report.request(parameters)) {
            case .ready(let result):
                return Response.json(AppAPIJSON.funnel(result))
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
            let message = MessageReport.messageFields.compactMap { field in request.query(field).map { (field: field, id: $0) } }
            return Response.json(AppAPIJSON.messages(try await services.messageReport.run(
                account: account, MessageReport.Parameters(message: message, from: request.query("from"), to: request.query("to")))))
        }
        router.get("/v1/reports/segments/:id/history") { request, context in
            let account = try context.requireAccount()
            let id = try context.parameters.segmentID()
            return Response.json(AppAPIJSON.segmentHistory(
                try await services.segmentHistory.run(account: account, segment: id, from: request.query("from"), to: request.query("to"))))
        }
    }
}
