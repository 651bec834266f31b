import TroveCore

/// The `/v1` family's JSON (Customer.io's App API shapes, contract §7, §11): segments with integer ids and
/// unix-second times, customers with every attribute a string.
public enum AppAPIJSON {
    static func segment(_ s: Segment) -> JSON {
        .object([
            JSONMember("id", .int(s.id)),
            JSONMember("deduplicate_id", .string("\(s.id):\(s.updatedAt.seconds)")),
            JSONMember("name", .string(s.name)),
            JSONMember("description", .string(s.description)),
            JSONMember("state", .string(s.isReady ? "finished" : "build")),
            JSONMember("progress", s.isReady ? .int(100) : .int(0)),
            JSONMember("type", .string(s.kind.rawValue)),
            JSONMember("tags", .strings(s.tags)),
            JSONMember("created_at", .int(s.createdAt.seconds)),
            JSONMember("updated_at", .int(s.updatedAt.seconds)),
        ])
    }

    /// `{id, name, description}` with the integer id, as `/v1/customers/:id/segments` lists them.
    static func summary(_ s: Segment) -> JSON {
        .object([JSONMember("id", .int(s.id)), JSONMember("name", .string(s.name)), JSONMember("description", .string(s.description))])
    }

    static func identifiers(_ i: CustomerIdentifiers) -> JSON {
        .object([
            JSONMember("email", .string(i.email)),
            JSONMember("id", .string(i.uid)),
            JSONMember("cio_id", .id(i.profileID)),
        ])
    }

    /// A page of people (search, segment membership): `next` is "" at the end.
    static func people(_ m: PeoplePage, segment: Int64? = nil) -> JSON {
        var members = [
            JSONMember("identifiers", .array(m.identifiers.map(identifiers))),
            JSONMember("ids", .array(m.identifiers.map { .string($0.uid) })),
            JSONMember("next", .string(m.next.map(PublicID.encode) ?? "")),
        ]
        if let segment { members.append(JSONMember("segment_id", .int(segment))) }
        return .object(members)
    }

    /// A customer as Customer.io shows one. Trove keeps no time per attribute: `timestamps` gives each
    /// attribute the profile's last update, the latest time it can have changed.
    static func customer(_ p: ProfileRecord) -> JSON {
        let updated = p.updatedAt.seconds
        var attributes: [JSONMember] = [
            JSONMember("cio_id", .id(p.id)),
            JSONMember("created_at", .string(String(p.createdAt.seconds))),
        ]
        if let uid = p.uid { attributes.append(JSONMember("id", .string(uid))) }
        if let email = p.email { attributes.append(JSONMember("email", .string(email))) }
        var unsubscribed = false
        for member in p.properties {
            if member.key == "unsubscribed", case .bool(let b) = member.value { unsubscribed = b }
            attributes.append(JSONMember(member.key, .string(text(member.value))))
        }
        return .object([
            JSONMember("id", .string(p.uid)),
            JSONMember("identifiers", identifiers(CustomerIdentifiers(profileID: p.id, uid: p.uid, email: p.email))),
            JSONMember("attributes", .object(attributes)),
            JSONMember("timestamps", .object(attributes.map { JSONMember($0.key, .int(updated)) })),
            JSONMember("unsubscribed", .bool(unsubscribed)),
        ])
    }

    /// Customer.io's rendering of a value: strings as they are, timestamps as unix seconds, the rest as JSON text.
    static func text(_ value: JSON) -> String {
        switch value {
        case .string(let s):
            if ValueNormalizer.isTimestampText(s), let t = Timestamp.parseISO8601(s) { return String(t.seconds) }
            return s
        default: return JSONWriter.string(value)
        }
    }

    /// `{"filter": …}` of `POST /v1/customers`, in Customer.io's grammar.
    static func customerFilter(_ body: JSON) throws(ReadError) -> FilterNode? {
        guard case .object = body else { throw .invalid("the body must be a JSON object {\"filter\": …}") }
        switch body["filter"] {
        case nil, .null?: return nil
        case let value?:
            do { return try CustomerIOFilter.parse(value) } catch { throw .invalid(error.description.replacingOccurrences(of: "filters", with: "filter")) }
        }
    }
}

/// Exports (`/v1/exports`, contract §7).
extension AppAPIJSON {
    /// The same object the `export.finished` webhook carries.
    static func export(_ e: Export) -> JSON { WebhookOutbox.exportData(e) }

    /// `{filters, attributes, description}`: the types here; the filter and the names are checked by the store.
    static func customerExport(_ body: JSON) throws(ExportError) -> CustomerExportRequest {
        guard case .object = body else { throw .invalid("the body must be a JSON object {filters, attributes}") }
        return CustomerExportRequest(filters: body["filters"], attributes: try attributes(body["attributes"]), description: body["description"]?.stringValue)
    }

    /// `{campaign_id|newsletter_id|action_id|transactional_message_id, start, end, metric, drafts, attributes, description}`.
    static func deliveryExport(_ body: JSON) throws(ExportError) -> DeliveryExportRequest {
        guard case .object = body else {
            throw .invalid("the body must be a JSON object {campaign_id|newsletter_id|action_id|transactional_message_id, start, end, metric, drafts, attributes}")
        }
        let given = DeliveryExportRequest.messageFields.filter { body[$0] != nil && body[$0] != .null }
        guard given.count == 1, let field = given.first else {
            throw .invalid("exactly one of campaign_id, newsletter_id, action_id, transactional_message_id is required")
        }
        guard let id = FilterValues.integer(body[field]!) else { throw .invalid("\(field): must be an integer") }
        func time(_ key: String) throws(ExportError) -> Timestamp? {
            switch body[key] {
            case nil, .null?: return nil
            case .int(let s)?:
                guard let t = Timestamp(unixSeconds: s) else { throw .invalid("\(key): outside the years 0000–9999") }
                return t
            case .string(let s)?:
                guard let t = Timestamp.parse(unixSecondsOrISO8601: s) else {
                    throw .invalid("\(key): must be unix seconds or an ISO-8601 time in the years 0000–9999")
                }
                return t
            default: throw .invalid("\(key): must be unix seconds or an ISO-8601 time")
            }
        }
        var request = DeliveryExportRequest(
            messageField: field, messageID: id, start: try time("start"), end: try time("end"), attributes: try attributes(body["attributes"]),
            description: body["description"]?.stringValue)
        switch body["metric"] {
        case nil, .null?: break
        case .string(let m)?: request.metric = m
        default: throw .invalid("metric: must be a metric name such as \"opened\"")
        }
        switch body["drafts"] {
        case nil, .null?: break
        case .bool(let b)?: request.drafts = b
        default: throw .invalid("drafts: must be true or false")
        }
        return request
    }

    static func attributes(_ value: JSON?) throws(ExportError) -> [String] {
        switch value {
        case nil, .null?: return []
        case .array(let names)?:
            return try names.enumerated().map { i, name throws(ExportError) in
                guard case .string(let text) = name, !text.isEmpty else { throw .invalid("attributes[\(i)]: must be a non-empty string") }
                return text
            }
        default: throw .invalid("attributes: must be an array of attribute names")
        }
    }
}
