import TroveCore

/// The `/v1` family's JSON (Customer.io's App API shapes, SPEC §7, §11): segments with integer ids and
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
    static func people(_ m: SegmentReader.Membership, segment: Int64? = nil) -> JSON {
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
