import PostgresNIO
import TroveCore

/// The erasure's writes (`Erasure`, contract §5 forget) on PostgreSQL, each in one transaction of a writer.
///
/// Event ids here are not in commit order, so the last step does not look above a "top" id as SQLite's
/// does: it locks the profile rows (`FOR UPDATE`), then the account's erasure lock (exclusive), and deletes
/// every event of the people left. A writer that stores events holds that lock shared from its check that
/// their profiles exist to its commit (`checkProfiles`, in the flush): it either committed before the
/// erasure's lock was granted (its events are then seen and deleted) or checks after the erasure committed,
/// finds the profile gone and runs again, without the cached id.
extension PostgresWriteSession {
    func deletePersonEvents(_ ids: [Int64], profile: Int64, account: Int64) throws -> ErasedEvents {
        try flushProfiles()
        var erased = ErasedEvents(count: 0, values: PersonValues(), top: 0)
        guard !ids.isEmpty else { return erased }
        let gone = try deleteEvents(where: "account_id = \(account) AND profile_id = \(profile) AND id = ANY(\(BigintArray.literal(ids)))", markProfiles: false)
        erased.count = Int64(gone.count)
        for row in gone { Self.add(row.properties, to: &erased.values) }
        return erased
    }

    /// The people's last steps in a few statements each over all of them (one person at a time cost some
    /// twenty round trips each: a company of 384 people took 8.7 s in a debug build).
    func eraseProfiles(_ people: [PersonErasure], account: Int64, source: Deletion.Source) throws -> [ErasedProfile] {
        try flushProfiles()
        var values: [Int64: PersonValues] = [:]
        for row in try connection.query(
            """
            SELECT id, uid, email, properties::text FROM profiles WHERE account_id = \(account) AND id = ANY(\(people.map(\.profile))::bigint[])
            ORDER BY id FOR UPDATE
            """
        ) {
            let (id, uid, email, properties) = try row.decode((Int64, String?, String?, String).self)
            var seen = PersonValues()
            seen.add(uid)
            seen.add(email)
            Self.add(properties, to: &seen)
            values[id] = seen
        }
        let erased = people.filter { values[$0.profile] != nil }
        guard !erased.isEmpty else { return [] }
        try connection.query("SELECT pg_advisory_xact_lock(\(Self.erasureLockClass), \(Int32(truncatingIfNeeded: account)))")
        let ids = erased.map(\.profile)
        let publicIDs = ids.map(PublicID.encode)
        for person in erased { values[person.profile]!.formUnion(person.values) }
        // Whatever arrived for them meanwhile: every event of theirs left.
        var late: [Int64: Int64] = [:]
        for row in try deleteEvents(where: "account_id = \(account) AND profile_id = ANY(\(BigintArray.literal(ids)))", markProfiles: false) {
            guard let profile = row.profile else { continue }
            late[profile, default: 0] += 1
            Self.add(row.properties, to: &values[profile, default: PersonValues()])
        }

        let nowMS = now.milliseconds
        let deletions = try connection.query(
            "SELECT nextval(pg_get_serial_sequence('deletions', 'id')) FROM generate_series(1, \(ids.count))"
        ).map { try $0.decode(Int64.self) }.sorted()
        try connection.query(
            """
            INSERT INTO deletions (account_id, id, kind, source, created_at)
            SELECT \(account), d, 'profile', \(source.rawValue), \(nowMS) FROM unnest(\(deletions)::bigint[]) AS d
            """)

        // Deliveries about them queued or logged before: dropped.
        var dropped: [Int64: Int64] = [:]
        let byPublicID = Dictionary(uniqueKeysWithValues: zip(publicIDs, ids))
        for row in try connection.query(
            "DELETE FROM webhook_deliveries WHERE account_id = \(account) AND data #>> '{profile,id}' = ANY(\(publicIDs)::text[]) RETURNING data #>> '{profile,id}'"
        ) {
            if let profile = byPublicID[try row.decode(String.self)] { dropped[profile, default: 0] += 1 }
        }
        for row in try connection.query(
            "DELETE FROM customerio_deliveries WHERE account_id = \(account) AND profile_id = ANY(\(ids)::bigint[]) RETURNING profile_id"
        ) {
            dropped[try row.decode(Int64.self), default: 0] += 1
        }

        // A `segment.exited` for each segment they were in, written under the account's ledger lock.
        let memberships = try connection.awaiting { run in
            let ledgerID = try await PostgresLedger.lock(account: account, run)
            // Their segments held (key share) first: one deleted meanwhile is waited for and then absent, with
            // its members, from the statement below — instead of an exit row naming a segment that is gone (a
            // foreign key violation; found by the fuzzer on PostgreSQL).
            _ = try await run(
                """
                SELECT id FROM segments WHERE account_id = \(account)
                    AND id IN (SELECT segment_id FROM segment_members WHERE account_id = \(account) AND profile_id = ANY(\(ids)::bigint[]))
                ORDER BY id FOR KEY SHARE
                """)
            var exits: [Int64: Int64] = [:]
            for row in try await run(
                """
                INSERT INTO segment_changes (account_id, segment_id, profile_id, entered, at, version)
                SELECT m.account_id, m.segment_id, m.profile_id, false, \(nowMS), s.built_version
                FROM unnest(\(ids)::bigint[]) WITH ORDINALITY AS u(id, n)
                JOIN segment_members m ON m.account_id = \(account) AND m.profile_id = u.id
                JOIN segments s ON s.account_id = m.account_id AND s.id = m.segment_id
                ORDER BY u.n, m.segment_id
                RETURNING profile_id
                """)
            {
                exits[try row.decode(Int64.self), default: 0] += 1
            }
            if !exits.isEmpty {
                _ = try await run(
                    """
                    UPDATE segments s SET member_count = s.member_count - g.n
                    FROM (SELECT segment_id, count(*) AS n FROM segment_members WHERE account_id = \(account) AND profile_id = ANY(\(ids)::bigint[])
                          GROUP BY segment_id) g
                    WHERE s.account_id = \(account) AND s.id = g.segment_id
                    """)
                _ = try await run("DELETE FROM segment_members WHERE account_id = \(account) AND profile_id = ANY(\(ids)::bigint[])")
                try await PostgresSegmentChangeOutbox.enqueueWebhooks(account: account, after: ledgerID, now: Timestamp(milliseconds: nowMS), run)
            }
            return exits
        }
        // Every delivery naming one of them now is one of those just queued: the erasure's notifications.
        if !memberships.isEmpty {
            try connection.query(
                """
                UPDATE webhook_deliveries w SET deletion_id = u.deletion
                FROM unnest(\(publicIDs)::text[], \(deletions)::bigint[]) AS u(public_id, deletion)
                WHERE w.account_id = \(account) AND w.data #>> '{profile,id}' = u.public_id
                """)
        }
        try enqueueCustomerIODeletions(account: account, profiles: ids, deletions: deletions)

        // The ledger as if they had never been members; the rest of what names them.
        var ledgerRows: [Int64: Int64] = [:]
        for row in try connection.query(
            "DELETE FROM segment_changes WHERE account_id = \(account) AND profile_id = ANY(\(ids)::bigint[]) RETURNING profile_id"
        ) {
            ledgerRows[try row.decode(Int64.self), default: 0] += 1
        }
        try connection.query(
            """
            DELETE FROM membership_dirty WHERE account_id = \(account) AND kind = \(Int16(MembershipDirtyKind.profile.rawValue))
                AND object_id = ANY(\(ids)::bigint[])
            """)
        try connection.query(
            """
            UPDATE membership_marks SET object_ids = array(SELECT o FROM unnest(object_ids) AS o WHERE o <> ALL(\(ids)::bigint[]))
            WHERE account_id = \(account) AND kind = \(Int16(MembershipDirtyKind.profile.rawValue)) AND object_ids && \(ids)::bigint[]
            """)
        try connection.query("DELETE FROM profiles WHERE account_id = \(account) AND id = ANY(\(ids)::bigint[])")

        let events = erased.map { $0.events + (late[$0.profile] ?? 0) }
        let exits = ids.map { memberships[$0] ?? 0 }
        let ledger = zip(ids, exits).map { (ledgerRows[$0] ?? 0) - $1 }
        let drops = ids.map { dropped[$0] ?? 0 }
        var records: [Int64: Deletion] = [:]
        for row in try connection.query(
            """
            UPDATE deletions d SET profiles = 1, events = u.events, memberships = u.memberships, ledger_rows = u.ledger, deliveries = u.dropped,
                notifications = (SELECT count(*) FROM webhook_deliveries WHERE account_id = \(account) AND deletion_id = d.id)
                    + (SELECT count(*) FROM customerio_deliveries WHERE account_id = \(account) AND deletion_id = d.id),
                completed_at = CASE WHEN NOT EXISTS (SELECT 1 FROM webhook_deliveries
                                                     WHERE account_id = \(account) AND deletion_id = d.id AND state = 'pending')
                    AND NOT EXISTS (SELECT 1 FROM customerio_deliveries WHERE account_id = \(account) AND deletion_id = d.id AND state = 'pending')
                    THEN d.created_at END
            FROM unnest(\(deletions)::bigint[], \(events)::bigint[], \(exits)::bigint[], \(ledger)::bigint[], \(drops)::bigint[])
                AS u(deletion, events, memberships, ledger, dropped)
            WHERE d.account_id = \(account) AND d.id = u.deletion
            RETURNING \(unescaped: PostgresErasureStore.columns("d"))
            """
        ) {
            let record = try PostgresErasureStore.deletion(row)
            records[record.id] = record
        }
        forgetProfiles = true
        forgetMemo()
        return try zip(ids, deletions).map { profile, deletion in
            guard let record = records[deletion] else { throw PostgresStoreError.server("deletion \(deletion) was not recorded") }
            return ErasedProfile(receipt: ErasureReceipt(profileID: profile, deletion: record), values: values[profile] ?? PersonValues())
        }
    }

    /// The Customer.io `delete` for each person, when the account has a destination that parses (one that
    /// does not is left alone here, as on SQLite: the erasure must not fail on it).
    private func enqueueCustomerIODeletions(account: Int64, profiles: [Int64], deletions: [Int64]) throws {
        guard let text = try connection.query(
            "SELECT config::text FROM integrations WHERE account_id = \(account) AND name = 'customerio-destination'"
        ).first?.decode(String.self), let destination = try? CustomerIODestination.fromStored(text, account: account)
        else { return }
        let c = destination.identified(PostgresDialect())
        try connection.query(
            """
            INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, state, last_error, next_attempt_at, created_at, deletion_id)
            SELECT p.account_id, p.id, 'delete', \(unescaped: c.identifier), \(unescaped: c.state), \(unescaped: c.error), \(now.milliseconds),
                \(now.milliseconds), u.deletion
            FROM unnest(\(profiles)::bigint[], \(deletions)::bigint[]) WITH ORDINALITY AS u(id, deletion, n)
            JOIN profiles p ON p.account_id = \(account) AND p.id = u.id
            ORDER BY u.n
            """)
    }

    func eraseCompany(_ id: Int64, account: Int64, erasedProfiles: Int64) throws -> CompanyErasureReceipt? {
        try flushProfiles()
        guard let company = try connection.query(
            "SELECT uid, properties::text FROM companies WHERE account_id = \(account) AND id = \(id) FOR UPDATE"
        ).first else { return nil }
        let (uid, properties) = try company.decode((String, String).self)
        var values = PersonValues()
        values.add(uid)
        Self.add(properties, to: &values)
        // Its people stay, unlinked; their company conditions are evaluated again.
        let unlinked = try connection.query(
            """
            WITH unlinked AS (UPDATE profiles SET company_id = NULL WHERE account_id = \(account) AND company_id = \(id) RETURNING id),
            marked AS (INSERT INTO membership_dirty (account_id, kind, object_id, marked_at)
                       SELECT \(account), \(Int16(MembershipDirtyKind.profile.rawValue)), id, \(now.milliseconds) FROM unlinked ON CONFLICT DO NOTHING)
            SELECT count(*) FROM unlinked
            """
        ).first!.decode(Int64.self)
        try connection.query(
            "DELETE FROM membership_dirty WHERE account_id = \(account) AND kind = \(Int16(MembershipDirtyKind.company.rawValue)) AND object_id = \(id)")
        try connection.query("DELETE FROM companies WHERE account_id = \(account) AND id = \(id)")
        try scrubTraces(account: account, values: values)
        forgetMemo()
        let record = try connection.query(
            """
            INSERT INTO deletions (account_id, kind, source, created_at, completed_at, profiles)
            VALUES (\(account), 'company', 'api', \(now.milliseconds), \(now.milliseconds), \(erasedProfiles))
            RETURNING \(unescaped: PostgresErasureStore.columns)
            """
        ).first!
        return CompanyErasureReceipt(companyID: id, unlinked: unlinked, deletion: try PostgresErasureStore.deletion(record))
    }

    func scrubTraces(account: Int64, values: PersonValues) throws {
        guard !values.strings.isEmpty else { return }
        for row in try connection.query("SELECT id, examples::text FROM properties WHERE account_id = \(account)") {
            let (id, text) = try row.decode((Int64, String).self)
            guard case .array(let items)? = try? JSONParser.parse(Array(text.utf8)), let kept = values.kept(examples: items) else { continue }
            try connection.query("UPDATE properties SET examples = \(JSONWriter.string(.array(kept)))::jsonb WHERE account_id = \(account) AND id = \(id)")
        }
        for row in try connection.query("SELECT id, example_uid, detail FROM warnings WHERE account_id = \(account)") {
            let (id, example, detail) = try row.decode((Int64, String?, String?).self)
            let wipeExample = example.map(values.quoted(in:)) ?? false
            let wipeDetail = detail.map(values.quoted(in:)) ?? false
            guard wipeExample || wipeDetail else { continue }
            try connection.query(
                """
                UPDATE warnings SET example_uid = CASE WHEN \(wipeExample) THEN NULL ELSE example_uid END,
                    detail = CASE WHEN \(wipeDetail) THEN NULL ELSE detail END
                WHERE account_id = \(account) AND id = \(id)
                """)
        }
        for row in try connection.query("SELECT key, response FROM idempotency_keys WHERE account_id = \(account)") {
            let (key, response) = try row.decode((String, ByteBuffer).self)
            if values.quoted(in: String(decoding: response.readableBytesView, as: UTF8.self)) {
                try connection.query("DELETE FROM idempotency_keys WHERE account_id = \(account) AND key = \(key)")
            }
        }
    }

    private static func add(_ text: String?, to values: inout PersonValues) {
        guard let text, text != "{}", let json = try? JSONParser.parse(Array(text.utf8)) else { return }
        values.add(json)
    }
}

/// Erasure's reads on PostgreSQL: the person by uid, email or id; their events' ids; the record of erasures.
public struct PostgresErasureStore: ErasureStore {
    let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    static let columns = columns(nil)

    /// The columns `deletion(_:)` decodes, qualified by `alias` when given.
    static func columns(_ alias: String?) -> String {
        ["id", "kind", "source", "created_at", "completed_at", "profiles", "events", "memberships", "ledger_rows", "deliveries", "notifications"]
            .map { column in alias.map { "\($0).\(column)" } ?? column }.joined(separator: ", ")
    }

    static func deletion(_ row: PostgresRow) throws -> Deletion {
        let (id, kind, source, created, completed, profiles, events, memberships, ledger, deliveries, notifications) =
            try row.decode((Int64, String, String, Int64, Int64?, Int64, Int64, Int64, Int64, Int64, Int64).self)
        return try Deletion(id: id, storedKind: kind, storedSource: source, createdAt: created, completedAt: completed, profiles: profiles,
                            events: events, memberships: memberships, ledgerRows: ledger, deliveries: deliveries, notifications: notifications)
    }

    public func profileID(account: Int64, _ person: ObjectLookup) async throws -> Int64? {
        try await database.query(PostgresRows.profileQuery("p.id", account: account, person)).first?.decode(Int64.self)
    }

    public func companyExists(account: Int64, _ company: Int64) async throws -> Bool {
        try await database.query("SELECT EXISTS (SELECT 1 FROM companies WHERE account_id = \(account) AND id = \(company))")[0].decode(Bool.self)
    }

    public func profileIDs(account: Int64, company: Int64) async throws -> [Int64] {
        try await database.query("SELECT id FROM profiles WHERE account_id = \(account) AND company_id = \(company) ORDER BY id")
            .map { try $0.decode(Int64.self) }
    }

    /// The person's events newest first. No top id is needed: the last step takes every event left.
    public func eventIDs(account: Int64, profile: Int64) async throws -> PersonEventIDs {
        let ids = try await database.query(
            "SELECT id FROM events WHERE account_id = \(account) AND profile_id = \(profile) ORDER BY timestamp DESC, id DESC"
        ).map { try $0.decode(Int64.self) }
        return PersonEventIDs(ids: ids, top: 0)
    }

    public func deletions(account: Int64, limit: Int, before: Int64?) async throws -> Page<Deletion> {
        let rows = try await database.query(
            """
            SELECT \(unescaped: Self.columns) FROM deletions WHERE account_id = \(account) AND id < \(before ?? .max) ORDER BY id DESC LIMIT \(limit)
            """)
        return Page(try rows.map(Self.deletion), limit: limit, id: \.id)
    }

    /// PostgreSQL recycles its write-ahead log at checkpoints (and vacuum reclaims the deleted rows' space);
    /// forcing a checkpoint needs a privileged role, so nothing is asked of it here. See the README.
    public func erased() {}
}
