import GRDB

/// Membership reads (contract §5, §6): members now and as of a past time, the ledger, "which segments is
/// this user in", and the Customer.io-style counts and membership pages. All from materialized
/// membership; nothing is evaluated on read.
public struct SegmentReader: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public static let maxPage = 500

    /// `GET /v3/edit/segments/:id/members[?as_of=]`: newest profiles first, paged by `before`.
    public func members(account: Int64, segment id: Int64, asOf: Timestamp?, limit: Int, before: Int64?) async throws -> SegmentMembers {
        // As of a past time the segment's whole ledger is read: a heavy read.
        let read: @Sendable (Database) throws -> SegmentMembers = { db in
            let segment = try Self.segment(db, account: account, id: id)
            let ids: String
            var arguments: StatementArguments = [id]
            if let asOf {
                // The last ledger row at or before `as_of` says whether each profile was in.
                ids = """
                    SELECT profile_id FROM (SELECT profile_id, entered, max(id) FROM segment_changes
                    WHERE segment_id = ? AND at <= ? GROUP BY profile_id) WHERE entered = 1
                    """
                _ = arguments.append(contentsOf: [asOf.milliseconds])
            } else {
                ids = "SELECT profile_id FROM segment_members WHERE segment_id = ?"
            }
            _ = arguments.append(contentsOf: [before ?? Int64.max, limit])
            let rows = try Row.fetchAll(
                db, sql: """
                    SELECT \(ProfileRecord.columns) FROM profiles p
                    WHERE p.id IN (\(ids)) AND p.id < ? ORDER BY p.id DESC LIMIT ?
                    """, arguments: arguments)
            return SegmentMembers(page: Page(try rows.map(ProfileRecord.init), limit: limit, id: \.id), asOf: asOf ?? segment.computedAt, computedAt: segment.computedAt)
        }
        return try await asOf == nil ? database.read(read) : database.heavyRead(read)
    }

    /// `GET /v3/edit/segments/:id/changes?since=`: the ledger after a cursor, oldest first. `next` is the
    /// cursor to pass next time (the last change returned, or `since` when there was none).
    public func changes(account: Int64, segment id: Int64, since: Int64, limit: Int) async throws -> LedgerPage {
        try await database.read { db in
            let segment = try Self.segment(db, account: account, id: id)
            let rows = try Row.fetchAll(
                db, sql: """
                    SELECT c.id, c.profile_id, p.uid, c.entered, c.at, c.version FROM segment_changes c
                    LEFT JOIN profiles p ON p.id = c.profile_id
                    WHERE c.segment_id = ? AND c.id > ? ORDER BY c.id LIMIT ?
                    """, arguments: [id, since, limit])
            let changes = rows.map { row in
                LedgerEntry(id: row[0], profileID: row[1], profileUID: row[2], entered: row[3], at: Timestamp(milliseconds: row[4]), version: row[5])
            }
            return LedgerPage(changes: changes, next: changes.last?.id ?? since, computedAt: segment.computedAt)
        }
    }

    /// The segments a profile is in now (`expand[segments]`, `/v1/customers/:id/segments`): one index range.
    static func segmentsOf(profile: Int64, account: Int64, db: Database) throws -> [Segment] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT \(Segment.qualifiedColumns) FROM segment_members m JOIN segments s ON s.id = m.segment_id
                WHERE m.profile_id = ? AND s.account_id = ? ORDER BY s.id
                """), arguments: [profile, account]).map(Segment.init)
    }

    /// `GET /v1/customers/:id/segments`.
    public func segmentsOf(account: Int64, customer: CustomerID) async throws -> [Segment] {
        try await database.read { db in
            guard let profile = try customer.profileID(db, account: account) else {
                throw SegmentError.notFound("no customer \(customer.description)")
            }
            return try Self.segmentsOf(profile: profile, account: account, db: db)
        }
    }

    /// `GET /v1/segments/:id/customer_count`.
    public func customerCount(account: Int64, segment id: Int64) async throws -> Int64 {
        try await database.read { db in try Self.segment(db, account: account, id: id).memberCount }
    }

    public static let maxMembershipPage = 30_000

    /// `GET /v1/segments/:id/membership?start=&limit=`: members in profile-id order; `next` is empty at the end.
    public func membership(account: Int64, segment id: Int64, start: String?, limit: Int) async throws -> PeoplePage {
        try await database.read { db in
            _ = try Self.segment(db, account: account, id: id)
            var after: Int64 = 0
            if let start, !start.isEmpty {
                guard let decoded = PublicID.decode(start) else { throw SegmentError.invalid("start: not a cursor this API returned") }
                after = decoded
            }
            let rows = try Row.fetchAll(
                db, sql: """
                    SELECT \(CustomerIdentifiers.columns) FROM segment_members m JOIN profiles p ON p.id = m.profile_id
                    WHERE m.segment_id = ? AND m.profile_id > ? ORDER BY m.profile_id LIMIT ?
                    """, arguments: [id, after, limit])
            let identifiers = rows.map(CustomerIdentifiers.init)
            return PeoplePage(identifiers: identifiers, next: rows.count == limit ? identifiers.last?.profileID : nil)
        }
    }

    static func segment(_ db: Database, account: Int64, id: Int64) throws -> Segment {
        guard let segment = try Segment.fetch(db, account: account, id: id) else { throw SegmentError.notFound("no segment with id \(id)") }
        return segment
    }
}
