import GRDB

/// Reads of single profiles and companies (SPEC §5), returning properties exactly as stored.
public struct ObjectReader: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func profile(account: Int64, _ lookup: ObjectLookup, expandCompany: Bool = false) throws -> JSON {
        try database.pool.read { db in
            let (column, value): (String, any DatabaseValueConvertible) =
                switch lookup {
                case .uid(let u): ("uid", u)
                case .email(let e): ("email", Identifiers.normalizeEmail(e))
                case .id(let i): ("id", i)
                }
            let sql = """
                SELECT id, uid, email, created_at, updated_at,
                    \(ActivityRollup.lastSeenSQL(profile: "profiles.id")) AS last_seen_at,
                    company_id, disabled, properties
                FROM profiles WHERE account_id = ? AND \(column) = ?
                """
            guard let row = try Row.fetchOne(db, sql: sql, arguments: [account, value]) else {
                throw ReadError.notFound("no profile with \(column) \(Self.describe(lookup))")
            }
            var members: [JSONMember] = [
                JSONMember("id", .string(PublicID.encode(row["id"]))),
                JSONMember("uid", .string(row["uid"] as String?)),
                JSONMember("email", .string(row["email"] as String?)),
                JSONMember("created_at", Self.time(row["created_at"])),
                JSONMember("updated_at", Self.time(row["updated_at"])),
                JSONMember("last_seen_at", Self.time(row["last_seen_at"])),
                JSONMember("company_id", (row["company_id"] as Int64?).map { .string(PublicID.encode($0)) } ?? .null),
                JSONMember("disabled", .bool(row["disabled"])),
            ]
            members += WriteSession.parseProperties(row["properties"])
            if expandCompany {
                let company = try (row["company_id"] as Int64?).flatMap { try companyJSON(db, account: account, column: "id", value: $0) }
                members.append(JSONMember("company", company ?? .null))
            }
            return .object(members)
        }
    }

    public func company(account: Int64, _ lookup: ObjectLookup) throws -> JSON {
        try database.pool.read { db in
            let found: JSON?
            switch lookup {
            case .uid(let u): found = try companyJSON(db, account: account, column: "uid", value: u)
            case .id(let i): found = try companyJSON(db, account: account, column: "id", value: i)
            case .email: throw ReadError.invalid("companies are named by uid or id")
            }
            guard let found else {
                throw ReadError.notFound("no company with \(lookup.column) \(Self.describe(lookup))")
            }
            return found
        }
    }

    func companyJSON(_ db: Database, account: Int64, column: String, value: any DatabaseValueConvertible) throws -> JSON? {
        let sql = "SELECT id, uid, created_at, updated_at, properties FROM companies WHERE account_id = ? AND \(column) = ?"
        guard let row = try Row.fetchOne(db, sql: sql, arguments: [account, value]) else { return nil }
        return .object(
            [
                JSONMember("id", .string(PublicID.encode(row["id"]))),
                JSONMember("uid", .string(row["uid"] as String)),
                JSONMember("created_at", Self.time(row["created_at"])),
                JSONMember("updated_at", Self.time(row["updated_at"])),
            ] + WriteSession.parseProperties(row["properties"]))
    }

    static func time(_ ms: Int64?) -> JSON {
        ms.map { .string(Timestamp(milliseconds: $0).iso8601) } ?? .null
    }

    static func describe(_ lookup: ObjectLookup) -> String {
        switch lookup {
        case .uid(let u): return "\"\(u)\""
        case .email(let e): return "\"\(e)\""
        case .id(let i): return PublicID.encode(i)
        }
    }
}

extension ObjectLookup {
    var column: String {
        switch self {
        case .uid: return "uid"
        case .email: return "email"
        case .id: return "id"
        }
    }
}
