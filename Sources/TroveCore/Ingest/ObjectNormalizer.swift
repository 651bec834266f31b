/// Normalizes the top level of an incoming object: key names, collisions, reserved names, value coercion.
/// Identity and envelope keys (reserved names that Trove applies) are returned raw, uncoerced, so a uid of
/// `"007"` or `"2029-08-21"` stays what it was.
public struct NormalizedObject: Sendable {
    public var reserved = ReservedValues()
    public var properties: [JSONMember] = []
    public var warnings: [IngestWarning] = []
}

/// A name §4 reserves. The first twelve are applied to the object on some model; the rest are dropped with a
/// `reserved` warning on every model. On a model that does not apply it, an applied name is dropped too —
/// except `name`, `timestamp` and `message_id`, which are ordinary properties of profiles and companies.
public enum ReservedName: Int, Sendable, CaseIterable {
    case uid, email, id, name, timestamp, messageID, companyID, companyUID, company, disabled, chameleonAdmin, createdAt
    case userID, accountID, profileID, updatedAt, options, at, lastSeenAt, lastRequestAt, now, integration
    case chameleonTagIDs, percent

    public var text: String {
        switch self {
        case .uid: return "uid"
        case .email: return "email"
        case .id: return "id"
        case .name: return "name"
        case .timestamp: return "timestamp"
        case .messageID: return "message_id"
        case .companyID: return "company_id"
        case .companyUID: return "company_uid"
        case .company: return "company"
        case .disabled: return "disabled"
        case .chameleonAdmin: return "chameleon_admin"
        case .createdAt: return "created_at"
        case .userID: return "user_id"
        case .accountID: return "account_id"
        case .profileID: return "profile_id"
        case .updatedAt: return "updated_at"
        case .options: return "options"
        case .at: return "at"
        case .lastSeenAt: return "last_seen_at"
        case .lastRequestAt: return "last_request_at"
        case .now: return "now"
        case .integration: return "integration"
        case .chameleonTagIDs: return "chameleon_tag_ids"
        case .percent: return "percent"
        }
    }

    /// The names a model applies instead of storing them.
    public static func applied(for model: Model) -> [ReservedName] {
        switch model {
        case .profile: return [.uid, .email, .id, .companyID, .companyUID, .company, .disabled, .chameleonAdmin, .createdAt]
        case .company: return [.uid, .id, .createdAt]
        case .event: return [.uid, .email, .id, .name, .timestamp, .messageID]
        }
    }

    /// The names a model drops with a warning: those reserved everywhere, and those another model applies
    /// (but for the event's own envelope, which profiles and companies store as properties).
    public static func dropped(for model: Model) -> [ReservedName] {
        let own = Set(applied(for: model))
        let appliedByPeople = Set(applied(for: .profile) + applied(for: .company))
        return allCases.filter { $0.rawValue >= ReservedValues.slots || (appliedByPeople.contains($0) && !own.contains($0)) }
    }

    /// What a normalized key is on a model. Found by length, then text: no hashing on the ingest path.
    enum Role { case applied(ReservedName), dropped, property }

    static func role(of key: String, on model: Model) -> Role {
        guard let name = named(key) else { return .property }
        let bit = UInt32(1) << name.rawValue
        let masks = switch model {
        case .profile: profileMasks
        case .company: companyMasks
        case .event: eventMasks
        }
        if masks.applied & bit != 0 { return .applied(name) }
        if masks.dropped & bit != 0 { return .dropped }
        return .property
    }

    static func named(_ key: String) -> ReservedName? {
        let length = key.utf8.count
        guard length < byLength.count else { return nil }
        return byLength[length].first { $0.text == key }
    }

    private static let byLength: [[ReservedName]] = {
        var table = [[ReservedName]](repeating: [], count: (allCases.map(\.text.utf8.count).max() ?? 0) + 1)
        for name in allCases { table[name.text.utf8.count].append(name) }
        return table
    }()

    private static let profileMasks = masks(.profile)
    private static let companyMasks = masks(.company)
    private static let eventMasks = masks(.event)

    private static func masks(_ model: Model) -> (applied: UInt32, dropped: UInt32) {
        func mask(_ names: [ReservedName]) -> UInt32 { names.reduce(0) { $0 | UInt32(1) << $1.rawValue } }
        return (mask(applied(for: model)), mask(dropped(for: model)))
    }
}

/// The applied reserved names' values as sent, one slot per name that some model applies.
public struct ReservedValues: Sendable {
    static let slots = 12
    private var values = InlineArray<12, JSON?>(repeating: nil)

    public subscript(_ name: ReservedName) -> JSON? {
        get { name.rawValue < Self.slots ? values[name.rawValue] : nil }
        set {
            precondition(name.rawValue < Self.slots, "\(name.text) is never applied")
            values[name.rawValue] = newValue
        }
    }

    /// The names present, in the order of their text.
    public var present: [(name: ReservedName, value: JSON)] {
        Self.inTextOrder.compactMap { name in values[name.rawValue].map { (name, $0) } }
    }

    private static let inTextOrder = ReservedName.allCases.prefix(slots).sorted { $0.text < $1.text }
}

extension ValueNormalizer {
    /// Objects with more keys than this find earlier keys (collisions) through a dictionary, smaller ones by
    /// scanning: most events have a handful of properties, and hashing each key cost more than the scan.
    static let scannedKeys = 16

    public func normalizeTopLevel(_ members: [JSONMember], model: Model) -> NormalizedObject {
        var result = NormalizedObject()
        result.properties.reserveCapacity(members.count)
        var index: [String: Int]?
        for member in members {
            let key = NameNormalizer.normalize(member.key)
            guard !key.isEmpty else {
                result.warnings.append(IngestWarning(.invalidName, member.key, "the name has no letters or digits"))
                continue
            }
            switch ReservedName.role(of: key, on: model) {
            case .applied(let name):
                if result.reserved[name] != nil {
                    result.warnings.append(IngestWarning(.nameCollision, key, "\"\(member.key)\" replaced an earlier key with the same normalized name"))
                }
                result.reserved[name] = member.value
                continue
            case .dropped:
                result.warnings.append(IngestWarning(.reserved, key, "\"\(key)\" is reserved and is not stored"))
                continue
            case .property:
                break
            }
            let existing = if let index { index[key] } else { result.properties.firstIndex { $0.key == key } }
            if let existing {
                result.warnings.append(IngestWarning(.nameCollision, key, "\"\(member.key)\" replaced an earlier key with the same normalized name"))
                result.properties[existing].key = ""  // tombstone, removed below
                index?[key] = nil
            }
            guard let value = coerce(member.value, key: key, path: key, hashLevel: 0, warnings: &result.warnings) else { continue }
            index?[key] = result.properties.count
            result.properties.append(JSONMember(key, value))
            if index == nil, result.properties.count == Self.scannedKeys {
                index = Dictionary(
                    result.properties.enumerated().lazy.filter { !$0.element.key.isEmpty }.map { ($0.element.key, $0.offset) },
                    uniquingKeysWith: { $1 })
            }
        }
        if result.properties.contains(where: { $0.key.isEmpty }) {
            result.properties.removeAll { $0.key.isEmpty }
        }
        return result
    }

    /// `created_at` on a profile or company: applied when it is a valid timestamp, else dropped with a warning.
    func creationTime(_ value: JSON?, warnings: inout [IngestWarning]) -> Timestamp? {
        guard let value, value != .null else { return nil }
        var scratch: [IngestWarning] = []
        if case .string(let s)? = coerce(value, key: "created_at", path: "created_at", hashLevel: 0, warnings: &scratch),
            ValueNormalizer.isTimestampText(s), let t = Timestamp.parseISO8601(s)
        {
            return t
        }
        warnings.append(IngestWarning(.reserved, "created_at", "created_at must be a timestamp; the value was not stored"))
        return nil
    }
}
