import Foundation
import Hummingbird
import TroveCore

/// The admin UI's pages, each rendered from the core operations the APIs use (the same JSON, shown as
/// tables and charts). Segments, exports, delivery and reports live in the extensions beside this file.
struct AdminPages: Sendable {
    let services: TroveServices

    typealias Session = AdminSessions.Session

    static func describe(_ error: any Error) -> (Int, String) {
        let (status, message, _) = ErrorMiddleware<BasicRequestContext>.describe(error)
        return (status.code, message)
    }

    static func login(flash: String?) -> Markup {
        HTML.page(
            title: "Sign in", active: nil, account: nil, flash: flash.map { ($0, true) },
            """
            <div class="box" style="max-width:28rem"><form method="post" action="/admin/login" class="stack">
            <label>Account secret<input type="password" name="account_secret" autocomplete="current-password" required autofocus></label>
            <button type="submit">Sign in</button></form>
            <p class="muted">The account secret was printed when the account was created (<code>trove accounts rotate NAME</code> makes a new one).</p></div>
            """)
    }

    func page(_ s: Session, _ title: String, active: String, flash: (String, Bool)? = nil, refresh: Int? = nil, _ body: Markup) -> Markup {
        HTML.page(title: title, active: active, account: s.accountName, flash: flash.map { ($0.0, $0.1) }, csrf: s.csrfToken, refresh: refresh, body)
    }

    static func card(_ label: String, _ value: String) -> Markup {
        "<div class=\"card\"><div class=\"v\">\(value)</div><div class=\"k\">\(label)</div></div>"
    }

    /// Overview: headline counts, the backlog, events per day for the busiest names.
    func overview(_ s: Session) async throws -> Markup {
        let o = try await services.upkeep.overview(account: s.account)
        let backlog = try await services.upkeep.backlog(now: services.clock.now())
        var body: Markup = "<div class=\"cards\">"
        body += Self.card("profiles", HTML.number(o.profiles)) + Self.card("companies", HTML.number(o.companies))
        body += Self.card("events", HTML.number(o.events)) + Self.card("event names", HTML.number(o.eventNames))
        body += Self.card("segments", HTML.number(o.segments)) + Self.card("warnings", HTML.number(o.warnings))
        body += Self.card("membership lag", String(format: "%.1f s", backlog.membershipLagSeconds))
        body += Self.card("pending deliveries", HTML.number((backlog.outboxDepth["webhook"] ?? 0) + (backlog.outboxDepth["customerio"] ?? 0)))
        body += "</div><h2>Events per day, last 30 days</h2><div class=\"box\">"
        let report = services.eventReport
        let result = try await report.run(account: s.account, try report.request(EventReport.Parameters(interval: "day")))
        body += Self.eventChart(result, top: 6) + "</div>"
        return page(s, "Overview", active: "/admin", body)
    }

    /// The busiest `top` series of an events report as lines, the rest summed as "other".
    static func eventChart(_ report: EventReport.Result, top: Int) -> Markup {
        let series = report.series.map { s in (name: s.name, values: s.counts.map(Double.init), total: s.total) }.sorted { $0.total > $1.total }
        let labels = report.buckets.map { String(report.label($0).prefix(10).dropFirst(5)) }
        guard !series.isEmpty, series.contains(where: { $0.total > 0 }) else { return "<p class=\"muted\">No events in this range.</p>" }
        var shown = series.prefix(top).map { (name: $0.name, values: $0.values) }
        if series.count > top {
            let rest = series.dropFirst(top)
            shown.append((name: "other (\(rest.count) names)", values: (0..<labels.count).map { i in rest.reduce(0) { $0 + ($1.values.count > i ? $1.values[i] : 0) } }))
        }
        return SVGChart.lines(shown, labels: labels)
    }

    /// Data management (contract §4): the catalog of event names and properties, and the warnings.
    func data(_ s: Session) async throws -> Markup {
        var body: Markup = "<h2>Event names</h2>"
        let names = try await services.catalog.eventNames(account: s.account)
        body += HTML.table(["Name", "uid", "Events", "Last seen"], names.map { n in
            ["\(n.name)", "<code>\(n.uid)</code>", "\(HTML.number(n.count))", "\(HTML.time(n.lastSeenAt))"]
        }, numeric: [2], empty: "No events yet.")
        for model in [Model.profile, .company, .event] {
            body += "<h2>\(model.rawValue.capitalized) properties</h2>"
            let props = try await services.catalog.properties(account: s.account, model: model)
            body += HTML.table(["Property", "Name as sent", "Types", "Examples", "Last seen"], props.map { p in
                ["<code>\(p.prop)</code>", "\(p.name)", "\(p.types.joined(separator: ", "))",
                 "\(p.examples.prefix(3).map { HTML.text($0) }.joined(separator: " · "))", "\(HTML.time(p.lastSeenAt))"]
            }, empty: "No \(model.rawValue) properties yet.")
        }
        body += "<h2>Warnings</h2><p class=\"muted\">What normalization changed or dropped (contract §4), per property and kind.</p>"
        let warnings = try await services.catalog.warnings(account: s.account, model: nil)
        body += HTML.table(["Kind", "Model", "Property", "Count", "Last", "Example", "Detail"], warnings.map { w in
            ["<span class=\"bad\">\(w.kind)</span>", "\(w.model)", "<code>\(w.prop)</code>",
             "\(HTML.number(w.count))", "\(HTML.time(w.lastAt))", "\(HTML.text(w.exampleUID))", "\(HTML.text(w.detail))"]
        }, numeric: [3], empty: "No warnings: everything arrived as sent.")
        return page(s, "Data", active: "/admin/data", body)
    }

    /// "3 min ago".
    func ago(_ time: Timestamp?) -> String {
        guard let t = time else { return "never" }
        let seconds = max(0, (services.clock.now().milliseconds - t.milliseconds) / 1000)
        switch seconds {
        case ..<60: return "\(seconds) s ago"
        case ..<3600: return "\(seconds / 60) min ago"
        case ..<86_400: return "\(seconds / 3600) h ago"
        default: return "\(seconds / 86_400) d ago"
        }
    }
}
