/// Where an event came from (stored as a small integer in `events.source`).
public enum EventSource: Int, Sendable, CaseIterable {
    case hook = 0, track = 1, customerio = 2, `import` = 3, segment = 4

    public var name: String {
        switch self {
        case .hook: return "hook"
        case .track: return "track"
        case .customerio: return "customerio"
        case .import: return "import"
        case .segment: return "segment"
        }
    }
}

/// What to do when an item names a profile or company that does not exist (`on_model_missing`).
public enum OnModelMissing: String, Sendable {
    case create, ignore
}

/// A company write, parsed and normalized, ready for the writer.
public struct CompanyInput: Sendable {
    public var uid: String?
    public var id: Int64?
    public var createdAt: Timestamp?
    /// Normalized properties; a `.null` value removes the key.
    public var properties: [JSONMember]
    public var warnings: [IngestWarning]

    public static func parse(_ json: JSON, normalizer: ValueNormalizer) throws(IngestError) -> CompanyInput {
        guard case .object(let members) = json else { throw .invalid("body: expected a JSON object, got \(json.typeName)") }
        var n = normalizer.normalizeTopLevel(members, model: .company)
        let uid = try Identifiers.key(n.reserved[.uid], field: "uid")
        let id = try Identifiers.objectID(n.reserved[.id], field: "id")
        guard uid != nil || id != nil else { throw .invalid("uid: required to identify a company (or id)") }
        let createdAt = normalizer.creationTime(n.reserved[.createdAt], warnings: &n.warnings)
        return CompanyInput(uid: uid, id: id, createdAt: createdAt, properties: n.properties, warnings: n.warnings)
    }
}

/// A profile write, parsed and normalized, ready for the writer.
public struct ProfileInput: Sendable {
    public enum CompanyLink: Sendable {
        case unlink
        case uid(String)
        case id(Int64)
        case upsert(CompanyInput)
    }

    public var uid: String?
    public var email: String?
    public var id: Int64?
    public var company: CompanyLink?
    public var disabled: Bool?
    public var admin: Bool?
    public var createdAt: Timestamp?
    public var properties: [JSONMember]
    public var warnings: [IngestWarning]
    /// An unknown email creates a profile without a uid (the Track API, where the email is the identifier).
    public var createsByEmail = false

    public static func parse(_ json: JSON, normalizer: ValueNormalizer) throws(IngestError) -> ProfileInput {
        guard case .object(let members) = json else { throw .invalid("body: expected a JSON object, got \(json.typeName)") }
        var n = normalizer.normalizeTopLevel(members, model: .profile)
        let r = n.reserved
        let uid = try Identifiers.key(r[.uid], field: "uid")
        let email = try Identifiers.email(r[.email])
        let id = try Identifiers.objectID(r[.id], field: "id")
        guard uid != nil || email != nil || id != nil else {
            throw .invalid("uid: required to identify a profile (or email, or id)")
        }
        var link: CompanyLink?
        if let object = r[.company], object != .null {
            guard case .object = object else { throw .invalid("company: must be an object with a uid, got \(object.typeName)") }
            do {
                link = .upsert(try CompanyInput.parse(object, normalizer: normalizer))
            } catch {
                throw error.at("company.")
            }
        } else if let value = r[.companyUID] {
            link = try Identifiers.key(value, field: "company_uid").map(CompanyLink.uid) ?? .unlink
        } else if let value = r[.companyID] {
            // A Trove id (24-hex or integer) names an existing company; any other value is taken as a uid.
            if value == .null {
                link = .unlink
            } else if let id = PublicID.decode(value) {
                link = .id(id)
            } else if case .string(let s) = value, PublicID.isHexForm(s) {
                throw .invalid("company_id: no company with id \(s)")
            } else {
                link = .uid(try Identifiers.key(value, field: "company_id")!)
            }
        }
        let disabled = try Identifiers.flag(r[.disabled], field: "disabled")
        let admin = try Identifiers.flag(r[.chameleonAdmin], field: "chameleon_admin")
        let createdAt = normalizer.creationTime(r[.createdAt], warnings: &n.warnings)
        return ProfileInput(
            uid: uid, email: email, id: id, company: link, disabled: disabled, admin: admin, createdAt: createdAt,
            properties: n.properties, warnings: n.warnings)
    }
}

/// An event, parsed and normalized, ready for the writer.
public struct EventInput: Sendable {
    public var uid: String?
    public var email: String?
    public var profileID: Int64?
    /// The name as sent (for display) and normalized (for grouping and filters).
    public var name: String
    public var nameUID: String
    public var timestamp: Timestamp
    public var dedupeKey: String?
    public var source: EventSource
    public var properties: [JSONMember]
    /// The properties serialized, done while parsing so the writer only binds bytes; nil when none.
    public var propertiesJSON: [UInt8]?
    public var warnings: [IngestWarning]
    /// An unknown email creates the profile without a uid (the Track API).
    public var createsByEmail = false
    /// The uid's profile id as the importer found it (`ProfileDirectory`); nil from every other source.
    public var profileHint: ProfileHint?

    public static func parse(_ json: JSON, normalizer: ValueNormalizer, source: EventSource) throws(IngestError) -> EventInput {
        guard case .object(let members) = json else { throw .invalid("body: expected a JSON object, got \(json.typeName)") }
        let n = normalizer.normalizeTopLevel(members, model: .event)
        let r = n.reserved
        let (name, nameUID) = try eventName(r[.name], field: "name")
        let uid = try Identifiers.key(r[.uid], field: "uid")
        let email = try Identifiers.email(r[.email])
        let id = try Identifiers.objectID(r[.id], field: "id")
        guard uid != nil || email != nil || id != nil else {
            throw .invalid("uid: required to name the event's profile (or email, or id)")
        }
        let timestamp = try eventTime(r[.timestamp], now: normalizer.now)
        let dedupeKey = try Identifiers.key(r[.messageID], field: "message_id")
        let properties = n.properties.filter { $0.value != .null }
        try IngestMerge.checkPropertyCount(properties)
        return EventInput(
            uid: uid, email: email, profileID: id, name: name, nameUID: nameUID, timestamp: timestamp,
            dedupeKey: dedupeKey, source: source, properties: properties,
            propertiesJSON: properties.isEmpty ? nil : JSONWriter.bytes(.object(properties)), warnings: n.warnings)
    }

    /// An event's name as sent (checked: a string of at most 255 bytes) and normalized (not empty).
    static func eventName(_ value: JSON?, field: String) throws(IngestError) -> (name: String, nameUID: String) {
        guard let value, value != .null else { throw .invalid("\(field): required") }
        guard case .string(let name) = value else { throw .invalid("\(field): must be a string, got \(value.typeName)") }
        guard name.utf8.count <= Identifiers.maxBytes else {
            throw .invalid("\(field): longer than \(Identifiers.maxBytes) bytes (\(name.utf8.count))")
        }
        let nameUID = NameNormalizer.normalize(name)
        guard !nameUID.isEmpty else { throw .invalid("\(field): \"\(name)\" has no letters or digits") }
        return (name, nameUID)
    }

    /// Properties from a payload's `data` object (the Track API, Customer.io webhooks), normalized as
    /// §4 says; keys the hooks reserve at the top level (`name`, `id`, `timestamp`, …) are plain
    /// properties inside `data`.
    mutating func setData(_ data: [JSONMember], normalizer: ValueNormalizer) throws(IngestError) {
        var n = normalizer.normalizeTopLevel(data, model: .event)
        for (name, value) in n.reserved.present {
            if let coerced = normalizer.coerce(value, key: name.text, path: name.text, hashLevel: 0, warnings: &n.warnings) {
                n.properties.append(JSONMember(name.text, coerced))
            }
        }
        properties = n.properties.filter { $0.value != .null }
        try IngestMerge.checkPropertyCount(properties)
        propertiesJSON = properties.isEmpty ? nil : JSONWriter.bytes(.object(properties))
        warnings += n.warnings
    }

    /// ISO-8601, or unix seconds (values above 10^11 are milliseconds); absent means now.
    static func eventTime(_ value: JSON?, now: Timestamp) throws(IngestError) -> Timestamp {
        guard let value, value != .null else { return now }
        // Written only when thrown: serializing the value for every event cost ~4% of ingest's CPU.
        var outOfRange: IngestError { .invalid("timestamp: \(JSONWriter.string(value).prefix(64)) is outside the years 0000–9999") }
        switch value {
        case .int(let i):
            if i > 100_000_000_000 {
                guard Timestamp.representable.contains(i) else { throw outOfRange }
                return Timestamp(milliseconds: i)
            }
            guard let t = Timestamp(unixSeconds: i) else { throw outOfRange }
            return t
        case .double(let d) where d.isFinite && abs(d) < 1e16:
            let t = d > 1e11 ? Timestamp(milliseconds: Int64(d)) : Timestamp(milliseconds: Int64((d * 1000).rounded()))
            guard t.isRepresentable else { throw outOfRange }
            return t
        case .string(let s):
            if let t = Timestamp.parseISO8601(s) { return t }
            if let i = Int64(s) { return try eventTime(.int(i), now: now) }
            throw .invalid("timestamp: \"\(ValueNormalizer.prefix(s, maxBytes: 64))\" is not an ISO-8601 time or unix seconds")
        default:
            throw .invalid("timestamp: must be an ISO-8601 string or unix seconds, got \(value.typeName)")
        }
    }
}
