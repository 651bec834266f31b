import GRDB

/// Reads of single profiles and companies (SPEC §5), returning properties exactly as stored.
public struct ObjectReader: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func profile(account: Int64, _ lookup: ObjectLookup, expandCompany: Bool = false, expandSegments: Bool = false) async throws -> JSON {
        try await database.read { db in
            let (column, value): (String, any DatabaseValueConvertible) =
                switch lookup {
                case .uid(let u): ("uid", u)
                case .email(let e): ("email", Identifiers.normalizeEmail(e))
                case .id(let i): ("id", i)
                }
            let sql = "SELECT \(Self.profileColumns) FROM profiles p WHERE p.account_id = ? AND p.\(column) = ?"
            guard let row = try Row.fetchOne(db, sql: sql, arguments: [account, value]) else {
                throw ReadError.notFound("no profile with \(column) \(Self.describe(lookup))")
            }
            var members = try Self.profileMembers(row)
            if expandCompany {
                let company = try (row["company_id"] as Int64?).flatMap { try companyJSON(db, account: account, column: "id", value: $0) }
                members.append(JSONMember("company", company ?? .null))
            }
            if expandSegments {
                let segments = try SegmentReader.segmentsOf(profile: row["id"], account: account, db: db)
                members.append(JSONMember("segments", .array(segments.map { $0.summaryJSON(v1: false) })))
            }
            return .object(members)
        }
    }

    /// The columns `profileMembers` reads, for a query over `profiles p`.
    static let profileColumns = """
        p.id, p.uid, p.email, p.created_at, p.updated_at, \(ActivityRollup.lastSeenSQL(profile: "p.id")) AS last_seen_at,
        p.company_id, p.disabled, p.properties
        """

    /// A profile as `/v3` shows it: the fixed fields, then the properties flat.
    static func profileMembers(_ row: Row) throws -> [JSONMember] {
        [
            JSONMember("id", .string(PublicID.encode(row["id"]))),
            JSONMember("uid", .string(row["uid"] as String?)),
            JSONMember("email", .string(row["email"] as String?)),
            JSONMember("created_at", Self.time(row["created_at"])),
            JSONMember("updated_at", Self.time(row["updated_at"])),
            JSONMember("last_seen_at", Self.time(row["last_seen_at"])),
            JSONMember("company_id", (row["company_id"] as Int64?).map { .string(PublicID.encode($0)) } ?? .null),
            JSONMember("disabled", .bool(row["disabled"])),
        ] + (try StoredJSON.properties(row["properties"], "profiles", id: row["id"]))
    }

    static let companyColumns = "c.id, c.uid, c.created_at, c.updated_at, c.properties"

    static func companyJSON(_ row: Row) throws -> JSON {
        .object(
            [
                JSONMember("id", .string(PublicID.encode(row["id"]))),
                JSONMember("uid", .string(row["uid"] as String)),
                JSONMember("created_at", Self.time(row["created_at"])),
                JSONMember("updated_at", Self.time(row["updated_at"])),
            ] + (try StoredJSON.properties(row["properties"], "companies", id: row["id"])))
    }

    public func company(account: Int64, _ lookup: ObjectLookup) async throws -> JSON {
        try await database.read { db in
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
        let sql = "SELECT \(Self.companyColumns) FROM companies c WHERE c.account_id = ? AND c.\(column) = ?"
        return try Row.fetchOne(db, sql: sql, arguments: [account, value]).map { try Self.companyJSON($0) }
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
