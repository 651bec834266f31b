import PostgresNIO
import TroveCore

/// The App API's customer reads on PostgreSQL (contract §7): by email, filtered search in id order,
/// attributes one by one or in a batch.
public struct PostgresCustomerStore: CustomerStore {
    public let database: PostgresAppDatabase
    public let clock: TroveClock

    public init(database: PostgresAppDatabase, clock: TroveClock) {
        self.database = database
        self.clock = clock
    }

    static func identifiers(_ row: PostgresRow) throws -> CustomerIdentifiers {
        let (id, uid, email) = try row.decode((Int64, String?, String?).self)
        return CustomerIdentifiers(profileID: id, uid: uid, email: email)
    }

    public func byEmail(account: Int64, email: String) async throws -> [CustomerIdentifiers] {
        try await database.query(PostgresRows.profileQuery("p.id, p.uid, p.email", account: account, .email(email))).map(Self.identifiers)
    }

    public func search(account: Int64, filter: FilterNode?, start: String?, limit: Int) async throws -> PeoplePage {
        let after = try CustomerReader.cursor(start)
        var select = SQLFragment("SELECT p.id, p.uid, p.email FROM profiles p WHERE p.account_id = ? AND p.disabled = false", [.integer(account)])
        if let filter {
            do {
                let segments = try await PostgresCompiling.segments(account: account) { try await database.heavyQuery($0) }
                let compiler = try await PostgresCompiling.compiler(for: filter, account: account, now: clock.now(), segments: segments) {
                    try await database.heavyQuery($0)
                }
                select = try compiler.membersQuery(filter, columns: "p.id, p.uid, p.email").select
            } catch let e as SegmentError {
                throw ReadError.invalid(e.description)
            }
        }
        select = select + SQLFragment(" AND p.id > ? ORDER BY p.id LIMIT ?", [.integer(after), .integer(Int64(limit + 1))])
        var identifiers = try await database.heavyQuery(select.postgresQuery).map(Self.identifiers)
        let more = identifiers.count > limit
        if more { identifiers.removeLast() }
        return PeoplePage(identifiers: identifiers, next: more ? identifiers.last?.profileID : nil)
    }

    public func attributes(account: Int64, customer: CustomerID) async throws -> ProfileRecord {
        guard let row = try await database.query(PostgresRows.profileQuery(PostgresRows.profileColumns, account: account, customer.lookup)).first else {
            throw ReadError.notFound("no customer \(customer.description)")
        }
        return try PostgresRows.profile(row)
    }

    public func attributes(account: Int64, ids: [CustomerID]) async throws -> [ProfileRecord] {
        try CustomerReader.checkBatch(ids)
        var records: [ProfileRecord] = []
        for id in ids {
            if let row = try await database.query(PostgresRows.profileQuery(PostgresRows.profileColumns, account: account, id.lookup)).first {
                records.append(try PostgresRows.profile(row))
            }
        }
        return records
    }
}
