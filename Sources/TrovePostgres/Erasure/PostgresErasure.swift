import PostgresNIO
import TroveCore

/// The erasure's writes (`Erasure`, contract §5 forget) on PostgreSQL, each in one transaction of a writer.
///
/// Event ids here are not in commit order, so the last step does not look above a "top" id as SQLite's
/// does: it locks the profile row (`FOR UPDATE`) and deletes every event of the person left. A writer that
/// stores an event for a profile holds that row's key-share lock until it commits (`lockProfiles`, in the
/// flush): it either committed before the lock was granted (its events are then seen and deleted) or waits
/// for the erasure and then finds the profile gone (its transaction runs again, without the cached id).
extension PostgresWriteSession {
    func deletePersonEvents(_ ids: [Int64], profile: Int64, account: Int64) throws -> ErasedEvents {
        try flushProfiles()
        var erased = ErasedEvents(count: 0, values: PersonValues(), top: 0)
        guard !ids.isEmpty else { return erased }
        let gone = try deleteEvents(
            where: "account_id = \(account) AND profile_id = \(profile) AND id = ANY('{\(ids.map(String.init).joined(separator: ","))}'::bigint[])",
            markProfiles: false)
        erased.count = Int64(gone.count)
        for text in gone { Self.add(text, to: &erased.values) }
        return erased
    }

    func eraseProfile(_ erasure: PersonErasure, account: Int64, source: Deletion.Source) throws -> ErasedProfile? {
        let (id, events) = (erasure.profile, erasure.events)
        try flushProfiles()
        guard let person = try connection.query(
            "SELECT uid, email, properties::text FROM profiles WHERE account_id = \(account) AND id = \(id) FOR UPDATE"
        ).first else { return nil }
        let (uid, email, properties) = try person.decode((String?, String?, String).self)
        var values = erasure.values
        values.add(uid)
        values.add(email)
        Self.add(properties, to: &values)
        // Whatever arrived for the person meanwhile: every event of theirs left.
        let late = try deleteEvents(where: "account_id = \(account) AND profile_id = \(id)", markProfiles: false)
        for text in late { Self.add(text, to: &values) }

        let nowMS = now.milliseconds
        let deletion = try connection.query(
            "INSERT INTO deletions (account_id, kind, source, created_at) VALUES (\(account), 'profile', \(source.rawValue), \(nowMS)) RETURNING id"
        ).first!.decode(Int64.self)

        // Deliveries about the person queued or logged before: dropped.
        let publicID = PublicID.encode(id)
        var dropped = Int64(try connection.query(
            "DELETE FROM webhook_deliveries WHERE account_id = \(account) AND data #>> '{profile,id}' = \(publicID) RETURNING id").count)
        dropped += Int64(try connection.query(
            "DELETE FROM customerio_deliveries WHERE account_id = \(account) AND profile_id = \(id) RETURNING id").count)

        // A `segment.exited` for each segment the person was in, written under the account's ledger lock.
        let memberships = try connection.awaiting { run in
            let ledgerID = try await PostgresLedger.lock(account: account, run)
            // The person's segments held (key share) first: one deleted meanwhile is waited for and then
            // absent, with its members, from the statement below — instead of its exit row naming a segment
            // that is gone (a foreign key violation; found by the fuzzer on PostgreSQL).
            _ = try await run(
                """
                SELECT id FROM segments WHERE account_id = \(account)
                    AND id IN (SELECT segment_id FROM segment_members WHERE account_id = \(account) AND profile_id = \(id))
                ORDER BY id FOR KEY SHARE
                """)
            let exits = try await run(
                """
                INSERT INTO segment_changes (account_id, segment_id, profile_id, entered, at, version)
                SELECT m.account_id, m.segment_id, m.profile_id, false, \(nowMS), s.built_version
                FROM segment_members m JOIN segments s ON s.account_id = m.account_id AND s.id = m.segment_id
                WHERE m.account_id = \(account) AND m.profile_id = \(id) ORDER BY m.segment_id
                RETURNING id
                """).count
            if exits > 0 {
                _ = try await run(
                    """
                    UPDATE segments SET member_count = member_count - 1
                    WHERE account_id = \(account) AND id IN (SELECT segment_id FROM segment_members WHERE account_id = \(account) AND profile_id = \(id))
                    """)
                _ = try await run("DELETE FROM segment_members WHERE account_id = \(account) AND profile_id = \(id)")
                try await PostgresSegmentChangeOutbox.enqueueWebhooks(account: account, after: ledgerID, now: Timestamp(milliseconds: nowMS), run)
            }
            return Int64(exits)
        }
        // Every delivery naming the person now is one of those just queued: the erasure's notifications.
        if memberships > 0 {
            try connection.query(
                "UPDATE webhook_deliveries SET deletion_id = \(deletion) WHERE account_id = \(account) AND data #>> '{profile,id}' = \(publicID)")
        }
        try enqueueCustomerIODeletion(account: account, profile: id, deletion: deletion)

        // The ledger as if the person had never been a member; the rest of what names them.
        let ledgerRows = Int64(try connection.query(
            "DELETE FROM segment_changes WHERE account_id = \(account) AND profile_id = \(id) RETURNING id").count) - memberships
        try connection.query(
            "DELETE FROM membership_dirty WHERE account_id = \(account) AND kind = \(Int16(MembershipDirtyKind.profile.rawValue)) AND object_id = \(id)")
        try connection.query("DELETE FROM profile_activity WHERE account_id = \(account) AND profile_id = \(id)")
        try connection.query("DELETE FROM profiles WHERE account_id = \(account) AND id = \(id)")

        let record = try connection.query(
            """
            UPDATE deletions SET profiles = 1, events = \(events + Int64(late.count)), memberships = \(memberships), ledger_rows = \(ledgerRows),
                deliveries = \(dropped),
                notifications = (SELECT count(*) FROM webhook_deliveries WHERE account_id = \(account) AND deletion_id = \(deletion))
                    + (SELECT count(*) FROM customerio_deliveries WHERE account_id = \(account) AND deletion_id = \(deletion)),
                completed_at = CASE WHEN NOT EXISTS (SELECT 1 FROM webhook_deliveries
                                                     WHERE account_id = \(account) AND deletion_id = \(deletion) AND state = 'pending')
                    AND NOT EXISTS (SELECT 1 FROM customerio_deliveries WHERE account_id = \(account) AND deletion_id = \(deletion) AND state = 'pending')
                    THEN created_at END
            WHERE account_id = \(account) AND id = \(deletion)
            RETURNING \(unescaped: PostgresErasureStore.columns)
            """
        ).first!
        forgetProfiles = true
        forgetMemo()
        return ErasedProfile(receipt: ErasureReceipt(profileID: id, deletion: try PostgresErasureStore.deletion(record)), values: values)
    }

    /// The Customer.io `delete` for the person, when the account has a destination that parses (one that
    /// does not is left alone here, as on SQLite: the erasure must not fail on it).
    private func enqueueCustomerIODeletion(account: Int64, profile: Int64, deletion: Int64) throws {
        guard let text = try connection.query(
            "SELECT config::text FROM integrations WHERE account_id = \(account) AND name = 'customerio-destination'"
        ).first?.decode(String.self), let destination = try? CustomerIODestination.fromStored(text, account: account)
        else { return }
        let c = destination.identified(PostgresDialect())
        try connection.query(
            """
            INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, state, last_error, next_attempt_at, created_at, deletion_id)
            SELECT p.account_id, p.id, 'delete', \(unescaped: c.identifier), \(unescaped: c.state), \(unescaped: c.error), \(now.milliseconds),
                \(now.milliseconds), \(deletion)
            FROM profiles p WHERE p.account_id = \(account) AND p.id = \(profile)
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

    static let columns = "id, kind, source, created_at, completed_at, profiles, events, memberships, ledger_rows, deliveries, notifications"

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
