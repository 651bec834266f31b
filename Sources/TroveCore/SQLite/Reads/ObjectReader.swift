import GRDB

/// Reads of single profiles and companies (contract §5), returning properties exactly as stored.
public struct ObjectReader: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func profile(account: Int64, _ lookup: ObjectLookup, expandCompany: Bool = false, expandSegments: Bool = false) async throws -> ProfileView {
        try await database.read { db in
            let (column, value) = lookup.profileMatch
            let sql = "SELECT \(ProfileRecord.columns) FROM profiles p WHERE p.account_id = ? AND p.\(column) = ?"
            guard let row = try Row.fetchOne(db, sql: sql, arguments: [account, value]) else {
                throw ReadError.notFound("no profile with \(lookup.describedForErrors)")
            }
            let profile = try ProfileRecord(row: row)
            var view = ProfileView(profile: profile)
            if expandCompany {
                view.company = .some(try profile.companyID.flatMap { try Self.company(db, account: account, column: "id", value: $0) })
            }
            if expandSegments {
                view.segments = try SegmentReader.segmentsOf(profile: profile.id, account: account, db: db)
            }
            return view
        }
    }

    public func company(account: Int64, _ lookup: ObjectLookup) async throws -> CompanyRecord {
        try await database.read { db in
            let found: CompanyRecord?
            switch lookup {
            case .uid(let u): found = try Self.company(db, account: account, column: "uid", value: u)
            case .id(let i): found = try Self.company(db, account: account, column: "id", value: i)
            case .email: throw ReadError.invalid("companies are named by uid or id")
            }
            guard let found else {
                throw ReadError.notFound("no company with \(lookup.describedForErrors)")
            }
            return found
        }
    }

    static func company(_ db: Database, account: Int64, column: String, value: any DatabaseValueConvertible) throws -> CompanyRecord? {
        let sql = "SELECT \(CompanyRecord.columns) FROM companies c WHERE c.account_id = ? AND c.\(column) = ?"
        return try Row.fetchOne(db, sql: sql, arguments: [account, value]).map { try CompanyRecord(row: $0) }
    }

}

extension ObjectLookup {
    /// The `profiles` column and value this lookup matches (emails as stored: normalized).
    var profileMatch: (column: String, value: any DatabaseValueConvertible) {
        switch self {
        case .uid(let u): ("uid", u)
        case .email(let e): ("email", Identifiers.normalizeEmail(e))
        case .id(let i): ("id", i)
        }
    }
}
