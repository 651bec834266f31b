import Foundation
import TroveCore

/// A person's page: found by uid or email, their profile, the segments they are in now (each a link to
/// explain why), and their activity timeline (contract §5) a page at a time, as `GET /v3/analyze/events`.
extension AdminPages {
    func person(_ s: Session, query: [String: String]) async throws -> Markup {
        let search = (query["q"] ?? query["uid"] ?? query["email"] ?? "").trimmingCharacters(in: .whitespaces)
        var body: Markup = "<div class=\"box\"><form method=\"get\" action=\"/admin/people\" class=\"row\">"
        body += HTML.input("q", label: "uid or email", value: search, placeholder: "e.g. user-42 or ann@example.com", required: true)
        body += "<button type=\"submit\">Find</button></form></div>"
        guard !search.isEmpty else { return page(s, "People", active: "/admin/people", body) }

        let lookup: ObjectLookup = query["email"] != nil || (query["uid"] == nil && search.contains("@")) ? .email(search) : .uid(search)
        let view: ProfileView
        do {
            view = try await services.objects.profile(account: s.account, lookup, expandCompany: true, expandSegments: true)
        } catch let error as ReadError {
            return page(s, "People", active: "/admin/people", flash: (error.description, true), body)
        }
        let p = view.profile
        body += "<div class=\"cards\">" + Self.card("uid", HTML.text(p.uid)) + Self.card("email", HTML.text(p.email))
        body += Self.card("last seen", HTML.time(p.lastSeenAt)) + Self.card("created", HTML.time(p.createdAt))
        if let company = view.company ?? nil { body += Self.card("company", company.uid) }
        body += "</div>"

        body += "<h2>Segments now</h2>"
        let uidParameter = p.uid.map { "?uid=" + Self.queryValue($0) } ?? ""
        body += HTML.table(["Segment", "Description"], (view.segments ?? []).map { seg in
            ["<a href=\"/admin/segments/\(PublicID.encode(seg.id))\(uidParameter)\">\(seg.name)</a>", "\(seg.description)"]
        }, empty: "In no segment.")

        body += "<h2>Properties</h2>"
        body += HTML.table(["Property", "Value"], p.properties.map { m in ["<code>\(m.key)</code>", "\(HTML.text(m.value))"] }, empty: "No properties.")

        body += "<h2>Activity</h2><div class=\"box\"><form method=\"get\" action=\"/admin/people\" class=\"row\">"
        body += "<input type=\"hidden\" name=\"\(p.uid == nil ? "email" : "uid")\" value=\"\(p.uid ?? p.email ?? "")\">"
        body += HTML.input("name", label: "Only events named", value: query["name"] ?? "", placeholder: "any")
        body += "<button type=\"submit\">Show</button></form>"
        do {
            let name = query["name"].flatMap { $0.isEmpty ? nil : $0 }
            let request = try TimelineRequest(
                person: .id(p.id), name: name, limit: 50, before: try query["before"].flatMap { $0.isEmpty ? nil : try TimelineCursor(text: $0) })
            let timeline = try await services.timelines.timeline(account: s.account, request)
            body += HTML.table(["Time", "Event", "Properties"], timeline.events.map { e in
                ["\(HTML.time(e.timestamp))", "\(e.name)", "<code>\(e.properties.isEmpty ? "" : JSONWriter.string(.object(e.properties)))</code>"]
            }, empty: "No events.")
            if let next = timeline.before {
                let person = p.uid.map { "uid=" + Self.queryValue($0) } ?? "email=" + Self.queryValue(p.email ?? "")
                let filter = name.map { "&name=" + Self.queryValue($0) } ?? ""
                body += "<p><a href=\"/admin/people?\(person)\(filter)&amp;before=\(next.text)\">Older events →</a></p>"
            }
        } catch let error as ReadError {
            body += "<div class=\"flash bad\">\(error.description)</div>"
        }
        body += "</div>"
        return page(s, p.uid ?? p.email ?? "Person", active: "/admin/people", body)
    }

    /// A value for a link's query string.
    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}
