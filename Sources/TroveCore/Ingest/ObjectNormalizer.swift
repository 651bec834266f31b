/// Normalizes the top level of an incoming object: key names, collisions, reserved names, value coercion.
/// Identity and envelope keys (reserved names that Trove applies) are returned raw, uncoerced, so a uid of
/// `"007"` or `"2029-08-21"` stays what it was.
public struct NormalizedObject: Sendable {
    public var reserved: [String: JSON] = [:]
    public var properties: [JSONMember] = []
    public var warnings: [IngestWarning] = []
}

public enum ReservedNames {
    /// Reserved names Trove applies to the object instead of storing them (per model).
    public static func applied(for model: Model) -> Set<String> {
        switch model {
        case .profile: return ["uid", "email", "id", "company_id", "company_uid", "company", "disabled", "chameleon_admin", "created_at"]
        case .company: return ["uid", "id", "created_at"]
        case .event: return ["uid", "email", "id", "name", "timestamp", "message_id"]
        }
    }

    /// Reserved names that are dropped with a `reserved` warning on every model.
    public static let dropped: Set<String> = [
        "user_id", "account_id", "profile_id", "updated_at", "options", "at", "last_seen_at", "last_request_at",
        "now", "integration", "chameleon_tag_ids", "percent",
    ]

    static let appliedSomewhere: Set<String> = applied(for: .profile).union(applied(for: .company))

    static let table: [Model: (applied: Set<String>, dropped: Set<String>)] = Dictionary(
        uniqueKeysWithValues: Model.allCases.map { model in
            let applied = applied(for: model)
            return (model, (applied, dropped.union(appliedSomewhere.subtracting(applied))))
        })
}

extension ValueNormalizer {
    public func normalizeTopLevel(_ members: [JSONMember], model: Model) -> NormalizedObject {
        let reservedNames = ReservedNames.table[model]!
        var result = NormalizedObject()
        result.properties.reserveCapacity(members.count)
        var index: [String: Int] = [:]
        for member in members {
            let key = NameNormalizer.normalize(member.key)
            guard !key.isEmpty else {
                result.warnings.append(IngestWarning(.invalidName, member.key, "the name has no letters or digits"))
                continue
            }
            if reservedNames.applied.contains(key) {
                if result.reserved[key] != nil {
                    result.warnings.append(IngestWarning(.nameCollision, key, "\"\(member.key)\" replaced an earlier key with the same normalized name"))
                }
                result.reserved[key] = member.value
                continue
            }
            if reservedNames.dropped.contains(key) {
                result.warnings.append(IngestWarning(.reserved, key, "\"\(key)\" is reserved and is not stored"))
                continue
            }
            if let existing = index[key] {
                result.warnings.append(IngestWarning(.nameCollision, key, "\"\(member.key)\" replaced an earlier key with the same normalized name"))
                result.properties[existing].key = ""  // tombstone, removed below
                index[key] = nil
            }
            guard let value = coerce(member.value, key: key, path: key, hashLevel: 0, warnings: &result.warnings) else { continue }
            index[key] = result.properties.count
            result.properties.append(JSONMember(key, value))
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
