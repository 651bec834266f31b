import Foundation
import Hummingbird
import TroveCore

/// Reports with charts (contract §11): events per day or hour, a funnel, Customer.io message activity. Each
/// has its own GET form, so a report is a link that can be shared.
extension AdminPages {
    func reports(_ s: Session, query: [String: String]) async throws -> Markup {
        var body: Markup = "<h2>Events</h2><div class=\"box\"><form method=\"get\" action=\"/admin/reports\">"
        body += HTML.input("names", label: "Event names (comma-separated; empty: all)", value: query["names"] ?? "")
        body += HTML.input("from", label: "From", value: query["from"] ?? "", type: "date")
        body += HTML.input("to", label: "To", value: query["to"] ?? "", type: "date")
        body += HTML.select("interval", label: "By", options: [("day", "day"), ("hour", "hour")], selected: query["interval"] ?? "day")
        body += "<button type=\"submit\">Show</button></form>"
        do {
            let report = services.eventReport
            let parameters = EventReport.Parameters(from: query["from"], to: query["to"], names: query["names"], interval: query["interval"])
            let result = try await report.run(account: s.account, try report.request(parameters))
            body += Self.eventChart(result, top: 8)
            let series = result.series.sorted { $0.total > $1.total }
            body += HTML.table(["Event", "Total"], series.map { ["\($0.name)", "\(HTML.number($0.total))"] }, numeric: [1])
        } catch {
            body += "<div class=\"flash bad\">\(Self.describe(error).1)</div>"
        }
        body += "</div>"

        body += "<h2 id=\"funnel\">Funnel</h2><div class=\"box\"><form method=\"get\" action=\"/admin/reports#funnel\">"
        body += HTML.input("steps", label: "Steps, in order (comma-separated event names)", value: query["steps"] ?? "",
                           placeholder: "Started Tour (Chameleon), Completed Tour (Chameleon)")
        body += HTML.input("group_by", label: "Group by event property", value: query["group_by"] ?? "", placeholder: "tour_id")
        body += HTML.input("within", label: "Within days", value: query["within"] ?? "7", type: "number")
        body += HTML.input("ffrom", label: "From", value: query["ffrom"] ?? "", type: "date")
        body += HTML.input("fto", label: "To", value: query["fto"] ?? "", type: "date")
        body += "<button type=\"submit\">Show</button></form>"
        if let steps = query["steps"], !steps.isEmpty {
            do {
                let report = services.funnelReport
                let parameters = FunnelReport.Parameters(
                    steps: steps, groupBy: query["group_by"], within: query["within"], from: query["ffrom"], to: query["fto"], limit: "20")
                guard case .ready(let result) = try await report.run(account: s.account, try report.request(parameters)) else {
                    // No scripts: the page asks again by itself until the lists are built.
                    body += "<p class=\"muted\" id=\"funnel-building\">Building the event lists this funnel reads; this page reloads until it is ready.</p></div>"
                    return page(s, "Reports", active: "/admin/reports", refresh: 2, body)
                }
                let total = result.total
                body += SVGChart.bars(result.steps.indices.map { s in
                    (result.steps[s].name, Double(total.reached[s]), HTML.percent(total.conversion(step: s)))
                })
                let names = result.steps.map(\.name)
                var rows: [[Markup]] = [["<b>all</b>"] + Self.funnelCells(total)]
                for group in result.groups ?? [] { rows.append(["\(HTML.text(group.value))"] + Self.funnelCells(group)) }
                body += HTML.table([query["group_by"].flatMap { $0.isEmpty ? nil : $0 } ?? "Group"] + names + ["Conversion"], rows,
                                   numeric: Set(1...(names.count + 1)))
                if result.groupsNotShown > 0 { body += "<p class=\"muted\">\(result.groupsNotShown) smaller groups not shown.</p>" }
            } catch {
                body += "<div class=\"flash bad\">\(Self.describe(error).1)</div>"
            }
        }
        body += "</div>"

        body += "<h2 id=\"messages\">Customer.io messages</h2><div class=\"box\"><form method=\"get\" action=\"/admin/reports#messages\">"
        body += HTML.input("campaign_id", label: "Campaign id", value: query["campaign_id"] ?? "", type: "number")
        body += "<button type=\"submit\">Show</button></form>"
        if let campaign = query["campaign_id"], !campaign.isEmpty {
            do {
                let result = try await services.messageReport.run(account: s.account, MessageReport.Parameters(message: [(field: "campaign_id", id: campaign)]))
                body += HTML.table(["Metric", "Events", "People"], result.metrics.map { m in
                    ["\(m.metric)", "\(HTML.number(m.events))", "\(HTML.number(m.people))"]
                }, numeric: [1, 2], empty: "No activity reported for this campaign.")
                body += "<div class=\"cards\" style=\"margin-top:.75rem\">"
                    + Markup.joined(result.rates.map { Self.card($0.name.replacingOccurrences(of: "_", with: " "), HTML.percent($0.value)) }) + "</div>"
            } catch {
                body += "<div class=\"flash bad\">\(Self.describe(error).1)</div>"
            }
        }
        body += "</div>"
        return page(s, "Reports", active: "/admin/reports", body)
    }

    static func funnelCells(_ group: FunnelReport.Result.Group) -> [Markup] {
        group.reached.map { "\(HTML.number(Int64($0)))" } + ["\(HTML.percent(group.conversion))"]
    }
}
