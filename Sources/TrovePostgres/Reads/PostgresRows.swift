import PostgresNIO
import TroveCore

/// The record types from PostgreSQL rows: the engine reads the columns, the core's stored-column
/// initializers check them (the same ones SQLite's rows go through).
enum PostgresRows {
    /// For a query over `profiles p`; last seen is the newest event's time.
    static let profileColumns = """
        p.id, p.uid, p.email, p.created_at, p.updated_at, \(PostgresDialect.lastSeen), p.company_id, p.disabled, p.properties::text
        """

    /// The profile a lookup names: `columns` of it, over `profiles p` (emails as stored: normalized).
    static func profileQuery(_ columns: String, account: Int64, _ lookup: ObjectLookup) -> PostgresQuery {
        switch lookup {
        case .uid(let u): "SELECT \(unescaped: columns) FROM profiles p WHERE p.account_id = \(account) AND p.uid = \(u)"
        case .email(let e): "SELECT \(unescaped: columns) FROM profiles p WHERE p.account_id = \(account) AND p.email = \(Identifiers.normalizeEmail(e))"
        case .id(let i): "SELECT \(unescaped: columns) FROM profiles p WHERE p.account_id = \(account) AND p.id = \(i)"
        }
    }

    @inline(never)
    static func profile(_ row: PostgresRow) throws -> ProfileRecord {
        let (id, uid, email, created, updated, lastSeen, company, disabled, properties) =
            try row.decode((Int64, String?, String?, Int64, Int64, Int64?, Int64?, Bool, String).self)
        return try ProfileRecord(
            id: id, uid: uid, email: email, createdAt: created, updatedAt: updated, lastSeenAt: lastSeen, companyID: company, disabled: disabled,
            properties: properties)
    }

    /// For a query over `companies c`.
    static let companyColumns = "c.id, c.uid, c.created_at, c.updated_at, c.properties::text"

    @inline(never)
    static func company(_ row: PostgresRow) throws -> CompanyRecord {
        let (id, uid, created, updated, properties) = try row.decode((Int64, String, Int64, Int64, String).self)
        return try CompanyRecord(id: id, uid: uid, createdAt: created, updatedAt: updated, properties: properties)
    }

    /// For a query over `segments s`.
    static let segmentColumns = """
        s.id, s.account_id, s.name, s.description, s.kind, s.grammar, s.definition::text, s.tags::text, s.version, s.built_version,
        s.windowed, s.member_count, s.computed_at, s.created_at, s.updated_at
        """

    @inline(never)
    static func segment(_ row: PostgresRow) throws -> Segment {
        let (id, account, name, description, kind, grammar, definition, tags, version, built, windowed, members, computed, created, updated) =
            try row.decode((Int64, Int64, String, String, String, String?, String?, String, Int64, Int64, Bool, Int64, Int64?, Int64, Int64).self)
        return try Segment(
            id: id, accountID: account, name: name, description: description, kind: kind, grammar: grammar, definition: definition, tags: tags,
            version: version, builtVersion: built, windowed: windowed, memberCount: members, computedAt: computed, createdAt: created,
            updatedAt: updated)
    }
}
