import PostgresNIO
import TroveCore

/// `ObjectStore` on PostgreSQL: single profiles and companies (contract §5).
public struct PostgresObjectStore: ObjectStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    public func profile(account: Int64, _ lookup: ObjectLookup, expandCompany: Bool, expandSegments: Bool) async throws -> ProfileView {
        guard let row = try await database.query(PostgresRows.profileQuery(PostgresRows.profileColumns, account: account, lookup)).first else {
            throw ReadError.notFound("no profile with \(lookup.describedForErrors)")
        }
        let profile = try PostgresRows.profile(row)
        var view = ProfileView(profile: profile)
        if expandCompany {
            var company: CompanyRecord?
            if let id = profile.companyID { company = try await self.company(account: account, id: id) }
            view.company = .some(company)
        }
        if expandSegments {
            view.segments = try await database.query(
                """
                SELECT \(unescaped: PostgresRows.segmentColumns) FROM segment_members m
                JOIN segments s ON s.account_id = m.account_id AND s.id = m.segment_id
                WHERE m.account_id = \(account) AND m.profile_id = \(profile.id) ORDER BY s.id
                """
            ).map(PostgresRows.segment)
        }
        return view
    }

    public func company(account: Int64, _ lookup: ObjectLookup) async throws -> CompanyRecord {
        let found: CompanyRecord?
        switch lookup {
        case .uid(let u):
            found = try await database.query("SELECT \(unescaped: PostgresRows.companyColumns) FROM companies c WHERE c.account_id = \(account) AND c.uid = \(u)")
                .first.map(PostgresRows.company)
        case .id(let i): found = try await company(account: account, id: i)
        case .email: throw ReadError.invalid("companies are named by uid or id")
        }
        guard let found else { throw ReadError.notFound("no company with \(lookup.describedForErrors)") }
        return found
    }

    func company(account: Int64, id: Int64) async throws -> CompanyRecord? {
        try await database.query("SELECT \(unescaped: PostgresRows.companyColumns) FROM companies c WHERE c.account_id = \(account) AND c.id = \(id)")
            .first.map(PostgresRows.company)
    }
}
