/// Customer.io's Track API (contract §8), so apps instrumented with a Customer.io SDK can send to Trove by
/// changing the host. Requests become the same inputs the hooks produce and go through the same
/// normalization and writer; only the identity rules are Customer.io's: the path identifier is the uid,
/// an email (it has an `@`; an unknown one creates a profile with just that email), or `cio_<id>`.
public struct TrackAPI: Sendable {
    public let ingestor: Ingestor
    let erasure: Erasure

    public init(ingestor: Ingestor, erasure: Erasure) {
        self.ingestor = ingestor
        self.erasure = erasure
    }

    /// How long anonymous events wait for an identify carrying their `anonymous_id`.
    public static let anonymousMergeDays: Int64 = 30

    /// The customer a path identifier names: the uid, an email when it has an `@`, or `cio_<id>`.
    static func customer(_ identifier: String) throws -> CustomerID {
        guard !identifier.isEmpty else { throw IngestError.invalid("identifier: required in the path") }
        guard identifier.utf8.count <= Identifiers.maxBytes else { throw IngestError.invalid("identifier: longer than \(Identifiers.maxBytes) bytes") }
        return try CustomerID(identifier, idType: identifier.contains("@") ? "email" : nil)
    }

    static func object(_ body: JSON, _ what: String) throws(IngestError) -> [JSONMember] {
        switch body {
        case .object(let members): return members
        case .null: return []
        default: throw .invalid("body: expected a JSON object of \(what), got \(body.typeName)")
        }
    }

    /// `PUT /api/v1/customers/:identifier`: attributes become properties (§4), `email` and `created_at`
    /// apply to the profile, `anonymous_id` merges that visitor's recent anonymous events.
    public func identify(account: Int64, identifier: String, body: JSON) async throws {
        let identity = try Self.customer(identifier)
        var members: [JSONMember] = []
        var anonymousID: String?
        for member in try Self.object(body, "attributes") {
            switch NameNormalizer.normalize(member.key) {
            case "anonymous_id": anonymousID = member.value.stringValue
            case "id", "uid", "cio_id": continue  // the path names the customer
            case "email" where identity.isEmail: continue
            default: members.append(member)
            }
        }
        var input = try ProfileInput.parse(.object(identity.members + members), normalizer: ValueNormalizer(now: ingestor.clock.now()))
        input.createsByEmail = true
        let (profile, merge) = (input, anonymousID)
        _ = try await ingestor.store.write { session in
            let outcome = try session.upsertProfile(profile, account: account, onMissing: .create)
            if let merge, let profile = outcome.rowID {
                try session.mergeAnonymousEvents(merge, into: profile, account: account, days: Self.anonymousMergeDays)
            }
            return outcome
        }
    }

    /// `POST /api/v1/customers/:identifier/events` `{name, id?, type?, timestamp?, data}`: `id` dedupes.
    public func track(account: Int64, identifier: String, body: JSON) async throws {
        var input = try Self.event(body, identity: try Self.customer(identifier).members, now: ingestor.clock.now())
        input.createsByEmail = true
        let event = input
        _ = try await ingestor.store.write { session in try session.insertEvent(event, account: account, onMissing: .create) }
    }

    /// `POST /api/v1/events` `{name, anonymous_id, id?, type?, timestamp?, data}`: kept unattached.
    public func trackAnonymous(account: Int64, body: JSON) async throws {
        guard case .string(let anonymousID)? = body["anonymous_id"], !anonymousID.isEmpty else {
            throw IngestError.invalid("anonymous_id: required (a string) for an event without a customer")
        }
        guard anonymousID.utf8.count <= Identifiers.maxBytes else { throw IngestError.invalid("anonymous_id: longer than \(Identifiers.maxBytes) bytes") }
        // The parser wants an identity; an anonymous event is stored without a profile, so it is a placeholder.
        let input = try Self.event(body, identity: [JSONMember("uid", .string("anonymous"))], now: ingestor.clock.now())
        _ = try await ingestor.store.write { session in try session.insertAnonymousEvent(input, anonymousID: anonymousID, account: account) }
    }

    /// `DELETE /api/v1/customers/:identifier`: the person erased as `/v3/edit/profiles/forget` does (contract §5);
    /// deleting an unknown customer is not an error (as in Customer.io).
    public func delete(account: Int64, identifier: String) async throws {
        let customer = try Self.customer(identifier)
        guard let found = try await ingestor.store.write({ session in try session.profileID(customer, account: account) }) else { return }
        do {
            _ = try await erasure.forget(account: account, profile: found, source: .track)
        } catch ReadError.notFound {
            // Erased meanwhile by another request: gone either way.
        }
    }

    /// A Track event as the shared event input: `name`, `timestamp` (unix seconds or ISO), `id` as the
    /// dedupe key, `data` as the properties (all of its keys, including ones the hooks reserve), and a
    /// `type` other than "event" (page, screen) kept as a property.
    static func event(_ body: JSON, identity: [JSONMember], now: Timestamp) throws -> EventInput {
        guard case .object = body else { throw IngestError.invalid("body: expected a JSON object {name, data, …}, got \(body.typeName)") }
        var envelope = identity
        if let name = body["name"] { envelope.append(JSONMember("name", name)) }
        if let timestamp = body["timestamp"] { envelope.append(JSONMember("timestamp", timestamp)) }
        switch body["id"] {
        case nil, .null?: break
        case .string(let s)?: envelope.append(JSONMember("message_id", .string(s)))
        case .int(let i)?: envelope.append(JSONMember("message_id", .string(String(i))))
        case let other?: throw IngestError.invalid("id: must be a string, got \(other.typeName)")
        }
        let normalizer = ValueNormalizer(now: now)
        var input = try EventInput.parse(.object(envelope), normalizer: normalizer, source: .track)
        var data: [JSONMember] = []
        switch body["data"] {
        case nil, .null?: break
        case .object(let members)?: data = members
        case let other?: throw IngestError.invalid("data: must be an object, got \(other.typeName)")
        }
        if case .string(let type)? = body["type"], type != "event" { data.append(JSONMember("type", .string(type))) }
        try input.setData(data, normalizer: normalizer)
        return input
    }
}

extension CustomerID {
    /// The identity members of an input object naming this customer.
    var members: [JSONMember] {
        switch self {
        case .uid(let u): return [JSONMember("uid", .string(u))]
        case .email(let e): return [JSONMember("email", .string(e))]
        case .profileID(let i): return [JSONMember("id", .string(PublicID.encode(i)))]
        }
    }

    var isEmail: Bool {
        if case .email = self { return true }
        return false
    }
}
