import Foundation
import Hummingbird
import TroveCore

/// Exports (create, status, download) and data out (webhook endpoints and the Customer.io destination:
/// recent deliveries, failures, retry).
extension AdminPages {
    func exports(_ s: Session, flash: (String, Bool)?, segment: String? = nil) async throws -> Markup {
        let segments = try await services.segments.list(account: s.account)
        var form = HTML.select("segment", label: "Profiles", options: [("", "everyone")] + segments.map { (PublicID.encode($0.id), "segment: \($0.name)") },
                               selected: segment ?? "")
        form += HTML.input("attributes", label: "Attribute columns (comma-separated)", placeholder: "plan, upsell_readiness_score, company.employees")
        form += "<label>Or a Customer.io filter as JSON (used instead of the segment)<textarea name=\"filters\" spellcheck=\"false\" style=\"min-height:4rem\"></textarea></label>"
        form += "<div><button type=\"submit\">Export to CSV</button></div>"
        var body: Markup = "<div class=\"box\">" + HTML.form(action: "/admin/exports", csrf: s.csrfToken, class: "stack", form) + "</div><h2>Exports</h2>"
        let list = try await services.exports.list(account: s.account)
        var rows: [[Markup]] = []
        for e in list {
            let status: Markup
            switch e.status {
            case .done: status = "<span class=\"good\">done</span>"
            case .failed: status = "<span class=\"bad\" title=\"\(e.error ?? "")\">failed</span>: \(e.error ?? "")"
            case .pending: status = "running (attempt \(e.attempts))"
            }
            var file: Markup = "–"
            if e.status == .done {
                file = e.removedAt == nil
                    ? "<a href=\"\(try await services.exports.downloadURL(account: s.account, id: e.id))\">download</a> (\(HTML.number(e.fileBytes ?? 0)) bytes)"
                    : "expired"
            }
            rows.append(["\(e.id)", "\(e.type)", "\(e.description)", status, "\(HTML.number(e.total))", "\(HTML.time(e.createdAt))",
                         "\(HTML.time(e.finishedAt))", file])
        }
        body += HTML.table(["#", "Type", "Description", "Status", "Rows", "Created", "Finished", "File"], rows, numeric: [0, 4], empty: "No exports yet.")
        return page(s, "Exports", active: "/admin/exports", flash: flash, body)
    }

    func createExport(_ s: Session, fields: [String: String]) async throws -> Markup {
        var request = CustomerExportRequest()
        if let text = fields["filters"]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            guard let filter = try? JSONParser.parse(Array(text.utf8)) else { return try await exports(s, flash: ("filters: not valid JSON", true)) }
            request.filters = filter
        } else if let segment = fields["segment"], !segment.isEmpty, let id = PublicID.decode(segment) {
            request.filters = .object([JSONMember("segment", .object([JSONMember("id", .int(id))]))])
        }
        request.attributes = (fields["attributes"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        do {
            let export = try await services.exports.createCustomers(account: s.account, request)
            return try await exports(s, flash: ("Export \(export.id) queued; it appears below when done (reload).", false))
        } catch {
            return try await exports(s, flash: (Self.describe(error).1, true))
        }
    }

    func delivery(_ s: Session, flash: (String, Bool)?) async throws -> Markup {
        var body: Markup = "<h2>Webhook endpoints</h2>"
        let endpoints = try await services.webhooks.list(account: s.account)
        if endpoints.isEmpty { body += "<p class=\"muted\">No endpoints. Create one with <code>POST /v3/edit/webhooks</code>.</p>" }
        for endpoint in endpoints {
            let id = PublicID.encode(endpoint.id)
            let state = HTML.text(endpoint.lastItemState)
            body += "<div class=\"box\"><b>\(endpoint.name)</b> <code>\(endpoint.url)</code>"
            body += " · \(endpoint.enabled ? "enabled" : "<span class=\"bad\">disabled</span>" as Markup)"
            body += " · topics: \(endpoint.topics.joined(separator: ", "))"
            body += " · last: <span class=\"\(state == "delivered" ? "good" : state == "–" ? "muted" : "bad")\">\(state)</span>"
            if let error = endpoint.lastItemError { body += " <span class=\"muted\">(\(error))</span>" }
            let deliveries = try await services.webhooks.deliveries(account: s.account, endpoint: endpoint.id, limit: 20)
            body += "<h2>Recent deliveries</h2>" + HTML.table(["Kind", "State", "Attempts", "Next attempt", "Last status", "Last error", ""], deliveries.map { d in
                ["\(d.kind)", Self.stateCell(d.state), "\(d.attempts)", "\(HTML.time(d.nextAttemptAt))",
                 "\(HTML.text(d.lastStatus))", "\(HTML.text(d.lastError))",
                 d.state == .delivered ? "" : HTML.form(action: "/admin/webhooks/\(id)/deliveries/\(PublicID.encode(d.id))/retry", csrf: s.csrfToken,
                                                       "<button class=\"plain\" type=\"submit\">Retry now</button>")]
            }, numeric: [2], empty: "Nothing sent yet.") + "</div>"
        }
        body += "<h2>Customer.io destination</h2>"
        do {
            let state = try await services.customerIODestination.show(account: s.account)
            let destination = state.destination
            body += "<div class=\"cards\">" + Self.card("site id", destination.siteID) + Self.card("API key", destination.apiKeyHint)
            body += Self.card("region", destination.region.rawValue) + Self.card("identify by", destination.identifyBy.description)
            body += Self.card("pending", HTML.number(Int64(state.pending))) + Self.card("delivered", HTML.number(Int64(state.delivered)))
            body += Self.card("failed", HTML.number(Int64(state.failed))) + "</div><h2>Recent calls</h2>"
            let calls = try await services.customerIODestination.deliveries(account: s.account, state: nil, limit: 30)
            body += HTML.table(["Kind", "Person", "State", "Attempts", "Next attempt", "Last status", "Last error", ""], calls.map { d in
                ["\(d.kind)", "\(HTML.text(d.identifier))", Self.stateCell(d.state), "\(d.attempts)",
                 "\(HTML.time(d.nextAttemptAt))", "\(HTML.text(d.lastStatus))", "\(HTML.text(d.lastError))",
                 d.state == .delivered ? "" : HTML.form(action: "/admin/customerio/deliveries/\(PublicID.encode(d.id))/retry", csrf: s.csrfToken,
                                                       "<button class=\"plain\" type=\"submit\">Retry now</button>")]
            }, numeric: [3], empty: "Nothing sent yet.")
        } catch DestinationError.notFound(_) {
            body += "<p class=\"muted\">Not set up. Configure it with <code>PUT /v3/edit/integrations/customerio</code>.</p>"
        }
        return page(s, "Webhooks & Customer.io", active: "/admin/delivery", flash: flash, body)
    }

    static func stateCell(_ state: WebhookDelivery.State) -> Markup {
        "<span class=\"\(state == .delivered ? "good" : state == .failed ? "bad" : "muted")\">\(state.rawValue)</span>"
    }
}
