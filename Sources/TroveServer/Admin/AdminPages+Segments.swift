import Foundation
import Hummingbird
import TroveCore

/// Segments: the list (size, freshness), a segment's page (size history, explain a uid, its definition),
/// and the editor with preview (contract §6, §11).
extension AdminPages {
    static let operators: [(value: String, label: String)] = [
        ("eq", "equals"), ("ne", "does not equal"), ("gt", ">"), ("gte", "≥"), ("lt", "<"), ("lte", "≤"), ("ex", "is present"),
        ("nx", "is absent"), ("in-i", "contains"), ("nin-i", "does not contain"), ("in-v", "is one of (a,b,c)"),
        ("nin-v", "is none of (a,b,c)"), ("in-a", "array contains"), ("gt-d", "newer than N days"), ("lt-d", "older than N days"),
    ]
    static let conditionRows = 3

    func segments(_ s: Session) async throws -> Markup {
        let list = try await services.segments.list(account: s.account)
        var body: Markup = "<p><a href=\"/admin/segments/new\">New segment</a></p>"
        body += HTML.table(["Segment", "Kind", "State", "Members", "Computed", "Version"], list.map { seg in
            ["<a href=\"/admin/segments/\(PublicID.encode(seg.id))\">\(seg.name)</a>", "\(seg.kind.rawValue)",
             seg.isReady ? "<span class=\"good\">ready</span>" : "building", "\(HTML.number(seg.memberCount))",
             "\(seg.kind == .manual ? "by API" : ago(seg.computedAt))", "\(seg.version)"]
        }, numeric: [3, 5], empty: "No segments yet.")
        return page(s, "Segments", active: "/admin/segments", body)
    }

    func segment(_ s: Session, id: Int64, explainUID: String?) async throws -> Markup {
        let seg = try await services.segments.get(account: s.account, id: id)
        let publicID = PublicID.encode(id)
        var body: Markup = "<div class=\"cards\">" + Self.card("members", HTML.number(seg.memberCount))
        body += Self.card("state", seg.isReady ? "ready" : "building")
        body += Self.card("computed", seg.kind == .manual ? "by API" : ago(seg.computedAt)) + Self.card("version", String(seg.version)) + "</div>"
        if !seg.description.isEmpty { body += "<p>\(seg.description)</p>" }

        let history = try await services.segmentHistory.run(account: s.account, segment: id, from: nil, to: nil)
        let points = history.days
        let labels = points.map { String($0.date.dropFirst(5)) }
        body += "<h2>Size, last 30 days</h2><div class=\"box\">"
        body += SVGChart.lines([
            ("members", points.map { Double($0.count) }), ("entered", points.map { Double($0.entered) }), ("exited", points.map { Double($0.exited) }),
        ], labels: labels, height: 200) + "</div>"

        body += "<h2>Explain</h2><div class=\"box\"><form method=\"get\" action=\"/admin/segments/\(publicID)\">"
        body += HTML.input("uid", label: "Profile uid", value: explainUID ?? "", placeholder: "e.g. user-42", required: true)
        body += "<button type=\"submit\">Explain</button></form>"
        if let uid = explainUID, !uid.isEmpty {
            do {
                let answer = try await services.explain.explain(account: s.account, segment: id, profile: .uid(uid))
                let member = answer.member
                body += "<p><b>\(uid)</b> is <b class=\"\(member ? "good" : "bad")\">\(member ? "a member" : "not a member")</b> (as of \(HTML.time(answer.computedAt)))</p>"
                body += "<p><a href=\"/admin/people?uid=\(Self.queryValue(uid))\">\(uid)'s page: profile and activity</a></p>"
                body += HTML.table(["Condition", "Kind", "Property", "Operator", "Value", "Result", "Actual"], answer.conditions.map { c in
                    ["<code>\(c.path)</code>", "\(c.kind.rawValue)", "\(HTML.text(c.prop))", "\(c.op)", "\(HTML.text(c.value))",
                     "<b class=\"\(c.result ? "good" : "bad")\">\(c.result ? "true" : "false")</b>", "\(HTML.text(.array(c.actual)))"]
                }, empty: "No conditions (a manual segment).")
            } catch {
                body += "<div class=\"flash bad\">\(Self.describe(error).1)</div>"
            }
        }
        body += "</div><h2>Definition</h2><div class=\"box\"><pre>\(Self.pretty(Self.definition(seg.definition ?? .null)))</pre></div><p>"
        if seg.kind == .dynamic { body += "<a href=\"/admin/segments/\(publicID)/edit\">Edit</a> · " }
        body += "<a href=\"/admin/exports?segment=\(publicID)\">Export its members</a></p>"
        body += HTML.form(action: "/admin/segments/\(publicID)/delete", csrf: s.csrfToken, "<button class=\"plain\" type=\"submit\">Delete this segment</button>")
        return page(s, seg.name, active: "/admin/segments", body)
    }

    static func definition(_ json: JSON) -> JSON {
        .object([JSONMember("items", json["items"] ?? .array([])), JSONMember("items_op", json["items_op"] ?? "and")])
    }

    /// JSON with one item per line: readable in a textarea without a formatter.
    static func pretty(_ value: JSON) -> String {
        guard case .object(let members) = value else { return JSONWriter.string(value) }
        return "{\n" + members.map { m in
            if case .array(let items) = m.value, !items.isEmpty {
                return "  \"\(m.key)\": [\n" + items.map { "    " + JSONWriter.string($0) }.joined(separator: ",\n") + "\n  ]"
            }
            return "  \"\(m.key)\": " + JSONWriter.string(m.value)
        }.joined(separator: ",\n") + "\n}"
    }

    /// The editor: name, description, match all/any, a few condition rows and an event row, or the items
    /// as JSON (which, when given, is used instead of the rows). `result` is a preview or a refusal.
    func segmentEditor(_ s: Session, id: Int64?, fields: [String: String], result: (preview: SegmentQueries.Preview?, error: String?)?) async throws -> Markup {
        var fields = fields
        if fields.isEmpty, let id {
            let seg = try await services.segments.get(account: s.account, id: id)
            fields = ["name": seg.name, "description": seg.description, "items": Self.pretty(Self.definition(seg.definition ?? .null))]
        }
        let action = id.map { "/admin/segments/\(PublicID.encode($0))" } ?? "/admin/segments"
        var form: Markup = "<div class=\"row\">" + HTML.input("name", label: "Name", value: fields["name"] ?? "", required: true)
        form += HTML.input("description", label: "Description", value: fields["description"] ?? "") + "</div>"
        form += HTML.select("match", label: "Profiles must match", options: [("and", "all conditions"), ("or", "any condition")], selected: fields["match"] ?? "and")
        form += "<h2>Conditions</h2>"
        for i in 0..<Self.conditionRows {
            form += "<div class=\"row\">" + HTML.input("prop\(i)", label: "Property", value: fields["prop\(i)"] ?? "", placeholder: i == 0 ? "plan or company.employees" : "")
            form += HTML.select("op\(i)", label: "Operator", options: Self.operators, selected: fields["op\(i)"] ?? "eq")
            form += HTML.input("value\(i)", label: "Value", value: fields["value\(i)"] ?? "") + "</div>"
        }
        form += "<div class=\"row\">" + HTML.input("event", label: "Did event", value: fields["event"] ?? "", placeholder: "Completed Tour (Chameleon)")
        form += HTML.input("times", label: "At least … times", value: fields["times"] ?? "1", type: "number")
        form += HTML.input("days", label: "In the last … days (empty: ever)", value: fields["days"] ?? "", type: "number") + "</div>"
        form += "<label>Or the items as JSON (used instead of the rows above when filled in)<textarea name=\"items\" spellcheck=\"false\">\(fields["items"] ?? "")</textarea></label>"
        form += "<div><button type=\"submit\" name=\"action\" value=\"preview\" class=\"plain\">Preview</button> "
        form += "<button type=\"submit\" name=\"action\" value=\"save\">\(id == nil ? "Create segment" : "Save")</button></div>"
        var body: Markup = ""
        if let error = result?.error { body += "<div class=\"flash bad\">\(error)</div>" }
        if let preview = result?.preview {
            body += "<div class=\"box\" id=\"preview\"><div class=\"cards\">" + Self.card("would match", HTML.number(preview.count))
            if id != nil {
                body += Self.card("entering", HTML.number(preview.entering)) + Self.card("exiting", HTML.number(preview.exiting))
            }
            let sample = preview.sample
            body += "</div><p class=\"muted\">Sample: \(sample.isEmpty ? "none" : sample.joined(separator: ", "))</p></div>"
        }
        body += "<div class=\"box\">" + HTML.form(action: action, csrf: s.csrfToken, class: "stack", form) + "</div>"
        return page(s, id == nil ? "New segment" : "Edit segment", active: "/admin/segments", body)
    }

    /// Preview or save, from the editor's fields: the editor again (with the preview or the refusal), or a
    /// redirect to the saved segment.
    func saveSegment(_ s: Session, id: Int64?, fields: [String: String]) async throws -> Response {
        // (A do/catch around the typed throw here crashes Swift 6.3.1's ownership checker.)
        let change: SegmentChange
        switch Result(catching: { () throws(SegmentError) in try Self.segmentChange(fields) }) {
        case .success(let c): change = c
        case .failure(let error): return HTML.response(try await segmentEditor(s, id: id, fields: fields, result: (nil, error.description)))
        }
        if fields["action"] == "preview" {
            do {
                return HTML.response(try await segmentEditor(s, id: id, fields: fields, result: (try await services.queries.preview(account: s.account, filter: change.definition!.filter, editing: id), nil)))
            } catch {
                return HTML.response(try await segmentEditor(s, id: id, fields: fields, result: (nil, Self.describe(error).1)))
            }
        }
        do {
            let saved = if let id {
                try await services.segments.update(account: s.account, id: id, change)
            } else {
                try await services.segments.create(account: s.account, change)
            }
            return HTML.redirect("/admin/segments/\(PublicID.encode(saved.id))")
        } catch {
            return HTML.response(try await segmentEditor(s, id: id, fields: fields, result: (nil, Self.describe(error).1)))
        }
    }

    /// The segment the editor's fields describe: its name, description and items (from the rows, or the
    /// items as JSON when given).
    static func segmentChange(_ f: [String: String]) throws(SegmentError) -> SegmentChange {
        var items: [JSON] = []
        var itemsOp = f["match"] == "or" ? "or" : "and"
        if let text = f["items"]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            guard let parsed = try? JSONParser.parse(Array(text.utf8)) else { throw .invalid("items: not valid JSON") }
            switch parsed {
            case .array(let list): items = list
            case .object:
                guard case .array(let list)? = parsed["items"] else { throw .invalid("items: an object needs an \"items\" array") }
                items = list
                if case .string(let op)? = parsed["items_op"] { itemsOp = op }
            default: throw .invalid("items: expected an array of items or {\"items\": [...]}")
            }
        } else {
            for i in 0..<conditionRows {
                guard let prop = f["prop\(i)"]?.trimmingCharacters(in: .whitespaces), !prop.isEmpty else { continue }
                let op = f["op\(i)"] ?? "eq"
                var item: [JSONMember] = [JSONMember("kind", "property"), JSONMember("prop", .string(prop)), JSONMember("op", .string(op))]
                if !["ex", "nx"].contains(op) { item.append(JSONMember("value", value(f["value\(i)"] ?? "", op: op))) }
                items.append(.object(item))
            }
            if let event = f["event"]?.trimmingCharacters(in: .whitespaces), !event.isEmpty {
                var item: [JSONMember] = [JSONMember("kind", "event"), JSONMember("value", .string(event)), JSONMember("mod", "gte")]
                item.append(JSONMember("range", .int(Int64(f["times"] ?? "") ?? 1)))
                if let days = Int64(f["days"] ?? "") { item += [JSONMember("cond", "gt-d"), JSONMember("int", .int(days))] }
                items.append(.object(item))
            }
        }
        return SegmentChange(
            name: f["name"] ?? "", description: f["description"] ?? "", definition: try ChameleonDefinition(items: .array(items), op: .string(itemsOp)))
    }

    /// A typed value: numbers for the numeric and day operators, the text otherwise.
    static func value(_ text: String, op: String) -> JSON {
        if ["gt", "gte", "lt", "lte", "gt-d", "lt-d", "eq", "ne"].contains(op) {
            if let i = Int64(text) { return .int(i) }
            if let d = Double(text), ["gt", "gte", "lt", "lte", "gt-d", "lt-d"].contains(op) { return .double(d) }
        }
        return .string(text)
    }
}
