import PostgresNIO
import TroveCore

/// `ManualMembershipStore` on PostgreSQL: membership of manual segments set by API (contract §6 "Manual
/// segments") or replaced by an import, each change with its ledger row (under the account's ledger
/// lock), a mark for the dynamic segments that use this one, and the outboxes told.
public struct PostgresManualMembership: ManualMembershipStore {
    public let database: PostgresAppDatabase
    public let clock: TroveClock

    public init(database: PostgresAppDatabase, clock: TroveClock) {
        self.database = database
        self.clock = clock
    }

    public func change(account: Int64, segment id: Int64, customers: [CustomerID], add: Bool) async throws -> Int {
        let now = clock.now()
        return try await database.transaction { connection in
            let run = connection.collecting(database.logger)
            let ledgerID = try await PostgresLedger.lock(account: account, run)
            let segment = try await Self.manualSegment(account: account, id: id, run)
            let profiles = try await Self.profileIDs(account: account, customers.map(\.lookup), run).compactMap { $0 }
            let changed = try await Self.apply(account: account, segment: segment, profiles: profiles, add: add, now: now, run)
            if changed > 0 { try await PostgresSegmentChangeOutbox.enqueue(account: account, after: ledgerID, now: now, run) }
            return changed
        }
    }

    public func replace(account: Int64, segment id: Int64, profiles: Set<Int64>) async throws -> (added: Int, removed: Int) {
        let now = clock.now()
        return try await database.transaction { connection in
            let run = connection.collecting(database.logger)
            let ledgerID = try await PostgresLedger.lock(account: account, run)
            let segment = try await Self.manualSegment(account: account, id: id, run)
            let current = Set(try await run("SELECT profile_id FROM segment_members WHERE account_id = \(account) AND segment_id = \(id)")
                .map { try $0.decode(Int64.self) })
            let removed = try await Self.apply(account: account, segment: segment, profiles: current.subtracting(profiles).sorted(), add: false, now: now, run)
            let added = try await Self.apply(account: account, segment: segment, profiles: profiles.subtracting(current).sorted(), add: true, now: now, run)
            if added + removed > 0 { try await PostgresSegmentChangeOutbox.enqueue(account: account, after: ledgerID, now: now, run) }
            return (added, removed)
        }
    }

    public func manualSegment(account: Int64, id: Int64) async throws -> Segment {
        try await Self.manualSegment(account: account, id: id) { try await database.query($0) }
    }

    public func profileIDs(account: Int64, _ people: [(uid: String?, email: String?)]) async throws -> [Int64?] {
        let run: PostgresCompiling.Run = { try await database.query($0) }
        // The uids, then the emails, looked up in one statement; a person's uid wins over their email.
        let found = try await Self.profileIDs(
            account: account, people.map { $0.uid.map(ObjectLookup.uid) } + people.map { $0.email.map(ObjectLookup.email) }, run)
        return people.indices.map { found[$0] ?? found[people.count + $0] }
    }

    /// The profile each lookup finds (nil for none, or for no lookup), in one statement: a thousand ids
    /// looked up one by one took seconds, and under load tens of seconds.
    static func profileIDs(account: Int64, _ lookups: [ObjectLookup?], _ run: PostgresCompiling.Run) async throws -> [Int64?] {
        var uids: [String] = [], emails: [String] = [], ids: [Int64] = []
        for lookup in lookups {
            switch lookup {
            case .uid(let u)?: uids.append(u)
            case .email(let e)?: emails.append(Identifiers.normalizeEmail(e))
            case .id(let i)?: ids.append(i)
            case nil: break
            }
        }
        guard !(uids.isEmpty && emails.isEmpty && ids.isEmpty) else { return lookups.map { _ in nil } }
        // Keyed as bytes (`AccountKey`), as the unique indexes compare uids and emails.
        var byUID: [AccountKey: Int64] = [:], byEmail: [AccountKey: Int64] = [:], known: Set<Int64> = []
        for row in try await run(
            """
            SELECT p.id, p.uid, p.email FROM profiles p
            WHERE p.account_id = \(account) AND (p.uid = ANY(\(uids)::text[]) OR p.email = ANY(\(emails)::text[]) OR p.id = ANY(\(ids)::bigint[]))
            """)
        {
            let (id, uid, email) = try row.decode((Int64, String?, String?).self)
            if let uid { byUID[AccountKey(account: account, key: uid)] = id }
            if let email { byEmail[AccountKey(account: account, key: email)] = id }
            known.insert(id)
        }
        return lookups.map { lookup in
            switch lookup {
            case .uid(let u)?: byUID[AccountKey(account: account, key: u)]
            case .email(let e)?: byEmail[AccountKey(account: account, key: Identifiers.normalizeEmail(e))]
            case .id(let i)?: known.contains(i) ? i : nil
            case nil: nil
            }
        }
    }

    static func manualSegment(account: Int64, id: Int64, _ run: PostgresCompiling.Run) async throws -> Segment {
        guard let row = try await run("SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) AND s.id = \(id)").first
        else { throw SegmentError.notFound("no segment with id \(id)") }
        let segment = try PostgresRows.segment(row)
        guard segment.kind == .manual else {
            throw SegmentError.invalid("segment \(id) is dynamic: its membership follows its filter; only manual segments take ids")
        }
        return segment
    }

    /// Adds (or removes) profiles in the order given (a repeat counts once), each change with its ledger row
    /// and a mark for the dynamic segments that use this one; returns how many changed.
    static func apply(account: Int64, segment: Segment, profiles: [Int64], add: Bool, now: Timestamp, _ run: PostgresCompiling.Run) async throws -> Int {
        guard !profiles.isEmpty else { return 0 }
        let sql = """
            WITH wanted AS (SELECT DISTINCT ON (id) id, n FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, n) ORDER BY id, n),
            changed AS (\(add
                ? "INSERT INTO segment_members (account_id, segment_id, profile_id) SELECT $2, $3, id FROM wanted ON CONFLICT DO NOTHING RETURNING profile_id"
                : "DELETE FROM segment_members m WHERE m.account_id = $2 AND m.segment_id = $3 AND m.profile_id IN (SELECT id FROM wanted) RETURNING m.profile_id")),
            ledger AS (
                INSERT INTO segment_changes (account_id, segment_id, profile_id, entered, at, version)
                SELECT $2, $3, w.id, $4, $5, $6 FROM wanted w JOIN changed c ON c.profile_id = w.id ORDER BY w.n
                RETURNING profile_id),
            marked AS (INSERT INTO membership_dirty (account_id, kind, object_id, marked_at) SELECT $2, 0, profile_id, $5 FROM ledger ON CONFLICT DO NOTHING)
            SELECT count(*) FROM ledger
            """
        var binds = PostgresBindings(capacity: 6)
        binds.append(profiles)
        binds.append(account)
        binds.append(segment.id)
        binds.append(add)
        binds.append(now.milliseconds)
        binds.append(segment.version)
        let changed = try await run(PostgresQuery(unsafeSQL: sql, binds: binds))[0].decode(Int64.self)
        _ = try await run(
            """
            UPDATE segments SET member_count = member_count + \(add ? changed : -changed), computed_at = \(now.milliseconds)
            WHERE account_id = \(account) AND id = \(segment.id)
            """)
        return Int(changed)
    }
}
