import GRDB

/// The App API's customer reads (contract §7), shaped as Customer.io returns them: every attribute value a
/// string, timestamps as unix seconds.
public struct CustomerReader: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    public static let maxSearchPage = 1000
    public static let maxAttributesBatch = 100

    /// `GET /v1/customers?email=`.
    public func byEmail(account: Int64, email: String) async throws -> [CustomerIdentifiers] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(CustomerIdentifiers.columns) FROM profiles p WHERE p.account_id = ? AND p.email = ?",
                arguments: [account, Identifiers.normalizeEmail(email)]).map(CustomerIdentifiers.init)
        }
    }

    /// `POST /v1/customers?start=&limit=` with `{"filter": …}`: matching profiles in id order; `next` is
    /// the cursor for the following page ("" at the end).
    public func search(account: Int64, filter: FilterNode?, start: String?, limit: Int) async throws -> PeoplePage {
        let after = try Self.cursor(start)
        let now = clock.now()
        return try await database.heavyRead { [after] db in
            var select: SQLFragment
            do {
                select = try SegmentCompiler.select(db, account: account, now: now, filter: filter, columns: CustomerIdentifiers.columns)
            } catch let e as SegmentError {
                throw ReadError.invalid(e.description)
            }
            select = select + SQLFragment(" AND p.id > ? ORDER BY p.id LIMIT ?", [after.sqlValue, (limit + 1).sqlValue])
            var rows = try Row.fetchAll(db.cachedStatement(sql: select.sql), arguments: select.statementArguments)
            let more = rows.count > limit
            if more { rows.removeLast() }
            let identifiers = rows.map(CustomerIdentifiers.init)
            return PeoplePage(identifiers: identifiers, next: more ? identifiers.last?.profileID : nil)
        }
    }

    /// `GET /v1/customers/:id/attributes`.
    public func attributes(account: Int64, customer: CustomerID) async throws -> ProfileRecord {
        try await database.read { db in
            guard let profile = try customer.profileID(db, account: account), let record = try Self.profile(db, id: profile) else {
                throw ReadError.notFound("no customer \(customer.description)")
            }
            return record
        }
    }

    /// `POST /v1/customers/attributes` with `{"ids": […]}` (≤ 100): the customers found, in request order.
    public func attributes(account: Int64, ids: [CustomerID]) async throws -> [ProfileRecord] {
        try Self.checkBatch(ids)
        return try await database.read { db in
            try ids.compactMap { id in try id.profileID(db, account: account).flatMap { try Self.profile(db, id: $0) } }
        }
    }

    /// The profile id a search's `start` cursor stands after (0: from the first).
    public static func cursor(_ start: String?) throws(ReadError) -> Int64 {
        guard let start, !start.isEmpty else { return 0 }
        guard let decoded = PublicID.decode(start) else { throw ReadError.invalid("start: not a cursor this API returned") }
        return decoded
    }

    public static func checkBatch(_ ids: [CustomerID]) throws(ReadError) {
        guard ids.count <= maxAttributesBatch else { throw ReadError.invalid("ids: at most \(maxAttributesBatch) per request") }
    }

    static func profile(_ db: Database, id: Int64) throws -> ProfileRecord? {
        try Row.fetchOne(db, sql: "SELECT \(ProfileRecord.columns) FROM profiles p WHERE p.id = ?", arguments: [id]).map(ProfileRecord.init)
    }
}
