import PostgresNIO
import TroveCore

/// Membership reads on PostgreSQL (contract §5, §6): members now and as of a past time, the ledger, a
/// customer's segments, counts and membership pages — all from materialized membership.
public struct PostgresMembershipStore: MembershipStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    public func members(account: Int64, segment id: Int64, asOf: Timestamp?, limit: Int, before: Int64?) async throws -> SegmentMembers {
        let segment = try await self.segment(account: account, id: id)
        let columns = PostgresRows.profileColumns
        let rows: [PostgresRow]
        if let asOf {
            // The last ledger row at or before `as_of` says whether each profile was in.
            rows = try await database.heavyQuery(
                """
                WITH last AS (
                    SELECT DISTINCT ON (profile_id) profile_id, entered FROM segment_changes
                    WHERE account_id = \(account) AND segment_id = \(id) AND at <= \(asOf.milliseconds)
                    ORDER BY profile_id, id DESC)
                SELECT \(unescaped: columns) FROM last JOIN profiles p ON p.account_id = \(account) AND p.id = last.profile_id
                WHERE last.entered AND p.id < \(before ?? .max)
                ORDER BY p.id DESC LIMIT \(Int64(limit))
                """)
        } else {
            rows = try await database.query(
                """
                SELECT \(unescaped: columns) FROM segment_members m JOIN profiles p ON p.account_id = m.account_id AND p.id = m.profile_id
                WHERE m.account_id = \(account) AND m.segment_id = \(id) AND m.profile_id < \(before ?? .max)
                ORDER BY m.profile_id DESC LIMIT \(Int64(limit))
                """)
        }
        return SegmentMembers(page: Page(try rows.map(PostgresRows.profile), limit: limit, id: \.id), asOf: asOf ?? segment.computedAt,
                              computedAt: segment.computedAt)
    }

    public func changes(account: Int64, segment id: Int64, since: Int64, limit: Int) async throws -> LedgerPage {
        let segment = try await self.segment(account: account, id: id)
        let rows = try await database.query(
            """
            SELECT c.id, c.profile_id, p.uid, c.entered, c.at, c.version FROM segment_changes c
            LEFT JOIN profiles p ON p.account_id = c.account_id AND p.id = c.profile_id
            WHERE c.account_id = \(account) AND c.segment_id = \(id) AND c.id > \(since) ORDER BY c.id LIMIT \(Int64(limit))
            """)
        let changes = try rows.map(Self.entry)
        return LedgerPage(changes: changes, next: changes.last?.id ?? since, computedAt: segment.computedAt)
    }

    /// One prepared statement when the customer is in a segment (the profile joined to its memberships); a
    /// second, to tell "in none" from "no such customer", only when none came back.
    public func segmentsOf(account: Int64, customer: CustomerID) async throws -> [Segment] {
        let segments: [Segment]
        switch customer.lookup {
        case .uid(let uid): segments = try await database.execute(SegmentsOfProfile<ProfileByUID>(account: account, key: uid))
        case .email(let email):
            segments = try await database.execute(SegmentsOfProfile<ProfileByEmail>(account: account, key: Identifiers.normalizeEmail(email)))
        case .id(let id): segments = try await database.execute(SegmentsOfProfile<ProfileByID>(account: account, key: id))
        }
        if segments.isEmpty, try await database.query(PostgresRows.profileQuery("p.id", account: account, customer.lookup)).first == nil {
            throw SegmentError.notFound("no customer \(customer.description)")
        }
        return segments
    }

    public func customerCount(account: Int64, segment id: Int64) async throws -> Int64 {
        try await segment(account: account, id: id).memberCount
    }

    public func membership(account: Int64, segment id: Int64, start: String?, limit: Int) async throws -> PeoplePage {
        _ = try await segment(account: account, id: id)
        var after: Int64 = 0
        if let start, !start.isEmpty {
            guard let decoded = PublicID.decode(start) else { throw SegmentError.invalid("start: not a cursor this API returned") }
            after = decoded
        }
        let rows = try await database.query(
            """
            SELECT p.id, p.uid, p.email FROM segment_members m JOIN profiles p ON p.account_id = m.account_id AND p.id = m.profile_id
            WHERE m.account_id = \(account) AND m.segment_id = \(id) AND m.profile_id > \(after) ORDER BY m.profile_id LIMIT \(Int64(limit))
            """)
        let identifiers = try rows.map { row in
            let (id, uid, email) = try row.decode((Int64, String?, String?).self)
            return CustomerIdentifiers(profileID: id, uid: uid, email: email)
        }
        return PeoplePage(identifiers: identifiers, next: rows.count == limit ? identifiers.last?.profileID : nil)
    }

    func segment(account: Int64, id: Int64) async throws -> Segment {
        guard let row = try await database.query(
            "SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) AND s.id = \(id)"
        ).first else { throw SegmentError.notFound("no segment with id \(id)") }
        return try PostgresRows.segment(row)
    }

    @inline(never)
    static func entry(_ row: PostgresRow) throws -> LedgerEntry {
        let (id, profile, uid, entered, at, version) = try row.decode((Int64, Int64, String?, Bool, Int64, Int64).self)
        return LedgerEntry(id: id, profileID: profile, profileUID: uid, entered: entered, at: Timestamp(milliseconds: at), version: version)
    }
}
