import PostgresNIO
import TroveCore

/// `ObjectStore` on PostgreSQL: single profiles and companies (contract §5).
public struct PostgresObjectStore: ObjectStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    public func profile(account: Int64, _ lookup: ObjectLookup, expandCompany: Bool, expandSegments: Bool) async throws -> ProfileView {
        let columns = PostgresRows.profileColumns
        let query: PostgresQuery
        switch lookup {
        case .uid(let u): query = "SELECT \(unescaped: columns) FROM profiles p WHERE p.account_id = \(account) AND p.uid = \(u)"
        case .email(let e): query = "SELECT \(unescaped: columns) FROM profiles p WHERE p.account_id = \(account) AND p.email = \(Identifiers.normalizeEmail(e))"
        case .id(let i): query = "SELECT \(unescaped: columns) FROM profiles p WHERE p.account_id = \(account) AND p.id = \(i)"
        }
        guard let row = try await database.query(query).first else {
            throw ReadError.notFound("no profile with \(lookup.describedForErrors)")
        }
        let profile = try PostgresRows.profile(row)
        var view = ProfileView(profile: profile)
        if expandCompany {
            view.company = .some(try await profile.companyID.asyncFlatMap { try await company(account: account, id: $0) })
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

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
