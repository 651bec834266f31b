import PostgresNIO
import TroveCore

/// Profiles and companies in an ingest transaction, with few round trips: `prepare` reads (and locks) every
/// profile and company a chunk of items names in one query each, the rules then read them from `memo`, and
/// new profiles and plain updates are written together (`flushProfiles`) before anything reads profiles
/// through SQL: a keyed event (its foreign key), a lookup by customer id, an erasure, and the commit.
///
/// Row by row, an imported profile cost three or four round trips (by uid, by email, its company, the
/// write); `trove bench import` on PostgreSQL measured ~1.2k profiles/s that way (see the README).
///
/// An update that changes a uid or an email is written at once, in order, after what is buffered: written
/// together, two updates that swap emails could collide on the unique index within one statement.
extension PostgresWriteSession {
    typealias Key = PostgresWriteCaches.Key

    /// What the transaction knows of profiles and companies: rows read FOR UPDATE (locked until commit, so
    /// they cannot change under it) or written by it, and identifiers known to be free. A free identifier
    /// another transaction takes meanwhile fails this one on the unique index, and the store runs it again.
    struct Memo {
        var profiles: [AccountRow: StoredProfile] = [:]
        var uids: [Key: Int64] = [:]
        var emails: [Key: Int64] = [:]
        var freeUIDs: Set<Key> = []
        var freeEmails: Set<Key> = []
        var companies: [AccountRow: StoredCompany] = [:]
        var companyUIDs: [Key: Int64] = [:]
        var freeCompanyUIDs: Set<Key> = []
        /// Profiles to write before anything reads profiles through SQL: inserted (new) or updated.
        var inserts: [AccountRow] = []
        var updates: [AccountRow] = []
        var rows: [AccountRow: ProfileRow] = [:]

        mutating func remember(_ p: StoredProfile, account: Int64) {
            profiles[AccountRow(account: account, id: p.id)] = p
            if let uid = p.uid {
                uids[Key(account: account, key: uid)] = p.id
                freeUIDs.remove(Key(account: account, key: uid))
            }
            if let email = p.email {
                emails[Key(account: account, key: email)] = p.id
                freeEmails.remove(Key(account: account, key: email))
            }
        }

        mutating func remember(_ c: StoredCompany, account: Int64) {
            companies[AccountRow(account: account, id: c.id)] = c
            companyUIDs[Key(account: account, key: c.uid)] = c.id
            freeCompanyUIDs.remove(Key(account: account, key: c.uid))
        }

        func profile(_ index: [Key: Int64], _ key: Key) -> StoredProfile? {
            index[key].flatMap { profiles[AccountRow(account: key.account, id: $0)] }
        }
    }

    static let profileColumns = "id, uid, email, company_id, disabled, admin, created_at, properties::text"

    @inline(never)
    static func storedProfile(_ row: PostgresRow) throws -> StoredProfile {
        let (id, uid, email, company, disabled, admin, created, properties) =
            try row.decode((Int64, String?, String?, Int64?, Bool, Bool, Int64, String).self)
        return StoredProfile(id: id, uid: uid, email: email, companyID: company, disabled: disabled, admin: admin, createdAt: created, properties: properties)
    }

    @inline(never)
    static func storedCompany(_ row: PostgresRow) throws -> StoredCompany {
        let (id, uid, created, properties) = try row.decode((Int64, String, Int64, String).self)
        return StoredCompany(id: id, uid: uid, createdAt: created, properties: properties)
    }

    // MARK: A chunk's reads, at once

    /// Reads every profile and company the items name, locked in id order (one order for every writer),
    /// and notes the identifiers nobody holds; the uids of events go to the id cache unlocked, and the
    /// events' dedupe keys are looked up (`dedupeKeys`). Those two lookups are written as one index probe
    /// per key (a LATERAL subquery on the unique index): as a join or `= ANY(array)`, with statistics that
    /// lag a bulk load, the planner hashed the whole table instead (60–120 ms a chunk at 100k rows).
    func prepare(_ items: [Ingestor.Item], account: Int64) throws {
        guard items.count > 1 else { return }
        // Identifiers as `Key`s, compared as bytes (as the unique indexes compare them), never as `String`s.
        func key(_ text: String) -> Key { Key(account: account, key: text) }
        var uids = Set<Key>(), emails = Set<Key>(), eventUIDs = Set<Key>(), companyUIDs = Set<Key>()
        var keys = Set<Key>()
        for item in items {
            if case .event(let e) = item, let dedupe = e.dedupeKey, dedupeKeys[key(dedupe)] == nil { keys.insert(key(dedupe)) }
            switch item {
            case .profile(let p):
                if let uid = p.uid { uids.insert(key(uid)) }
                if let email = p.email { emails.insert(key(email)) }
                switch p.company {
                case .uid(let uid)?: companyUIDs.insert(key(uid))
                case .upsert(let c)?: if let uid = c.uid { companyUIDs.insert(key(uid)) }
                default: break
                }
            case .company(let c): if let uid = c.uid { companyUIDs.insert(key(uid)) }
            case .event(let e):
                if let uid = e.uid, e.email == nil, e.profileID == nil {
                    if learnedProfiles[key(uid)] == nil && caches.profile(key(uid)) == nil { eventUIDs.insert(key(uid)) }
                } else {
                    if let uid = e.uid { uids.insert(key(uid)) }
                    if let email = e.email { emails.insert(key(email)) }
                }
            }
        }
        uids = uids.filter { memo.uids[$0] == nil && !memo.freeUIDs.contains($0) }
        emails = emails.filter { memo.emails[$0] == nil && !memo.freeEmails.contains($0) }
        if !uids.isEmpty || !emails.isEmpty {
            for row in try connection.query(
                """
                SELECT \(unescaped: Self.profileColumns) FROM profiles
                WHERE account_id = \(account) AND (uid = ANY(\(uids.map(\.key))::text[]) OR email = ANY(\(emails.map(\.key))::text[]))
                ORDER BY id FOR UPDATE
                """) {
                memo.remember(try Self.storedProfile(row), account: account)
            }
            for uid in uids where memo.uids[uid] == nil { memo.freeUIDs.insert(uid) }
            for email in emails where memo.emails[email] == nil { memo.freeEmails.insert(email) }
        }
        if !keys.isEmpty {
            let found = try ids(of: keys, in: "events", column: "dedupe_key", account: account)
            for key in keys { dedupeKeys[key] = .some(found[key]) }
        }
        try internEventNames(of: items, account: account)
        eventUIDs.subtract(uids)
        if !eventUIDs.isEmpty {
            // With the account's newest profile deletion as the same statement saw it (`checkProfiles`).
            let (found, newest) = try lookup(eventUIDs, in: "profiles", column: "uid", account: account, withNewestProfileDeletion: true)
            for (uid, id) in found {
                learnedProfiles[uid] = id
                profilesReadAt[AccountRow(account: account, id: id)] = newest
                eventUIDs.remove(uid)
            }
            for uid in eventUIDs { memo.freeUIDs.insert(uid) }
        }
        companyUIDs = companyUIDs.filter { memo.companyUIDs[$0] == nil && !memo.freeCompanyUIDs.contains($0) }
        if !companyUIDs.isEmpty {
            for row in try connection.query(
                """
                SELECT id, uid, created_at, properties::text FROM companies WHERE account_id = \(account) AND uid = ANY(\(companyUIDs.map(\.key))::text[])
                ORDER BY id FOR UPDATE
                """) {
                memo.remember(try Self.storedCompany(row), account: account)
            }
            for uid in companyUIDs where memo.companyUIDs[uid] == nil { memo.freeCompanyUIDs.insert(uid) }
        }
    }

    /// The ids of the rows of `table` (of the account) whose unique `column` holds one of `keys`, unlocked: one
    /// index probe per key (see `prepare`).
    private func ids(of keys: Set<Key>, in table: String, column: String, account: Int64) throws -> [Key: Int64] {
        try lookup(keys, in: table, column: column, account: account, withNewestProfileDeletion: false).ids
    }

    /// `ids(of:…)`, and when asked the account's newest profile deletion id as the same statement saw it.
    private func lookup(_ keys: Set<Key>, in table: String, column: String, account: Int64,
                        withNewestProfileDeletion: Bool) throws -> (ids: [Key: Int64], newest: Int64?) {
        var binds = PostgresBindings(capacity: 2)
        binds.append(keys.map(\.key))
        binds.append(account)
        let newest = withNewestProfileDeletion ? "(\(Self.newestProfileDeletion(account: "$2")))" : "NULL::bigint"
        var found: [Key: Int64] = [:]
        var seen: Int64?
        for row in try connection.query(PostgresQuery(unsafeSQL: """
            SELECT k.key, t.id, \(newest) FROM unnest($1::text[]) AS k(key),
                LATERAL (SELECT id FROM \(table) WHERE account_id = $2 AND \(column) = k.key LIMIT 1) t
            """, binds: binds)) {
            let (key, id, newest) = try row.decode((String, Int64, Int64?).self)
            found[Key(account: account, key: key)] = id
            seen = newest
        }
        return (found, seen)
    }

    /// The names of the chunk's events that will be stored (no dedupe key, or a free one), interned at once
    /// in uid order, and committed at once on a connection of their own (`outside`): interned inside the
    /// write's transaction, a name stayed locked until its commit, and two transactions that had interned
    /// names in different chunks deadlocked on each other's (PostgreSQL breaks that after `deadlock_timeout`,
    /// 1 s: a p99 of 1.1 s in `http-batch` over three nodes). An event that fails or is skipped later leaves
    /// its name with no count, as retention leaves a name whose events all went.
    private func internEventNames(of items: [Ingestor.Item], account: Int64) throws {
        var unknown: [String: String] = [:]
        for case .event(let e) in items where unknown[e.nameUID] == nil {
            if let key = e.dedupeKey, dedupeKeys[Key(account: account, key: key)] != .some(nil) { continue }
            let key = Key(account: account, key: e.nameUID)
            if learnedNames[key] == nil && caches.eventName(key) == nil { unknown[e.nameUID] = e.name }
        }
        guard !unknown.isEmpty else { return }
        let sorted = unknown.sorted { $0.key < $1.key }
        var inserted: [PostgresRow] = []
        try outside { connection in
            inserted = try connection.query(
                """
                INSERT INTO event_names (account_id, uid, name)
                SELECT \(account), u.uid, u.name FROM unnest(\(sorted.map(\.key))::text[], \(sorted.map(\.value))::text[]) WITH ORDINALITY AS u(uid, name, n)
                ORDER BY u.n
                ON CONFLICT (account_id, uid) DO NOTHING RETURNING uid, id, name
                """)
        }
        for row in inserted {
            let (uid, id, name) = try row.decode((String, Int64, String).self)
            learnedNames[Key(account: account, key: uid)] = EventNameRow(id: id, name: name)
            unknown[uid] = nil
        }
        guard !unknown.isEmpty else { return }
        // Taken by another writer, committed by the time the insert waited for it: read in a new snapshot.
        for row in try connection.query(
            "SELECT uid, id, name FROM event_names WHERE account_id = \(account) AND uid = ANY(\(Array(unknown.keys))::text[])") {
            let (uid, id, name) = try row.decode((String, Int64, String).self)
            learnedNames[Key(account: account, key: uid)] = EventNameRow(id: id, name: name)
        }
    }

    // MARK: Profiles

    // The rows the rules read to merge into are locked (FOR UPDATE) until commit: another writer's upsert of
    // the same profile waits, then reads what this one wrote, so no merge is lost. Two transactions that
    // lock in opposite orders deadlock; PostgreSQL ends one, and the store runs it again.

    func profile(account: Int64, uid: String) throws -> StoredProfile? {
        let key = Key(account: account, key: uid)
        if let found = memo.profile(memo.uids, key) { return found }
        if memo.freeUIDs.contains(key) { return nil }
        let found = try lockedProfile(account, "SELECT \(unescaped: Self.profileColumns) FROM profiles WHERE account_id = \(account) AND uid = \(uid) FOR UPDATE")
        if found == nil { memo.freeUIDs.insert(key) }
        return found
    }

    func profile(account: Int64, email: String) throws -> StoredProfile? {
        let key = Key(account: account, key: email)
        if let found = memo.profile(memo.emails, key) { return found }
        if memo.freeEmails.contains(key) { return nil }
        let found = try lockedProfile(
            account, "SELECT \(unescaped: Self.profileColumns) FROM profiles WHERE account_id = \(account) AND email = \(email) FOR UPDATE")
        if found == nil { memo.freeEmails.insert(key) }
        return found
    }

    func profile(account: Int64, id: Int64) throws -> StoredProfile? {
        if let found = memo.profiles[AccountRow(account: account, id: id)] { return found }
        return try lockedProfile(account, "SELECT \(unescaped: Self.profileColumns) FROM profiles WHERE account_id = \(account) AND id = \(id) FOR UPDATE")
    }

    private func lockedProfile(_ account: Int64, _ query: PostgresQuery) throws -> StoredProfile? {
        guard let found = try connection.query(query).first.map(Self.storedProfile) else { return nil }
        memo.remember(found, account: account)
        return found
    }

    func profileID(account: Int64, uid: String) throws -> Int64? {
        let key = Key(account: account, key: uid)
        if let id = learnedProfiles[key] ?? cachedProfile(key) ?? memo.uids[key] { return id }
        if memo.freeUIDs.contains(key) { return nil }
        guard let id = try connection.query("SELECT id FROM profiles WHERE account_id = \(account) AND uid = \(uid)").first?.decode(Int64.self)
        else { return nil }
        learnedProfiles[key] = id
        return id
    }

    /// PostgreSQL hands out no `ProfileDirectory` (its writers' caches are per process and chunk lookups
    /// batched already), so it vouches for no hint.
    func profileID(hinted hint: ProfileHint) -> Int64? { nil }

    /// Written with the others before commit; its id comes from the sequence in blocks. A profile created at
    /// the same moment by another transaction fails this one on the uid's unique index; the store runs the
    /// work again, and then the rules find that profile.
    func insertProfile(_ p: ProfileRow, account: Int64) throws -> Int64 {
        let id = try caches.profileIDs.next(connection)
        let key = AccountRow(account: account, id: id)
        memo.remember(stored(id, p), account: account)
        memo.rows[key] = p
        memo.inserts.append(key)
        createdProfiles.insert(key)
        if let uid = p.uid { learnedProfiles[Key(account: account, key: uid)] = id }
        changedProfiles[id] = account
        return id
    }

    func updateProfile(id: Int64, account: Int64, _ p: ProfileRow) throws {
        let key = AccountRow(account: account, id: id)
        let before = memo.profiles[key]
        if let before, before.uid == p.uid, before.email == p.email {
            memo.remember(stored(id, p), account: account)
            if memo.rows.updateValue(p, forKey: key) == nil { memo.updates.append(key) }
            return
        }
        // A new uid or email: written now, after what waits, so the unique indexes see every step in order.
        try flushProfiles()
        if let email = before?.email, email != p.email {
            memo.emails[Key(account: account, key: email)] = nil
            memo.freeEmails.insert(Key(account: account, key: email))
        }
        memo.remember(stored(id, p), account: account)
        try connection.query(
            """
            UPDATE profiles SET uid = \(p.uid), email = \(p.email), company_id = \(p.companyID), disabled = \(p.disabled), admin = \(p.admin),
                created_at = \(p.createdAt), updated_at = \(now.milliseconds), properties = \(p.properties)::jsonb
            WHERE account_id = \(account) AND id = \(id)
            """)
    }

    private func stored(_ id: Int64, _ p: ProfileRow) -> StoredProfile {
        StoredProfile(id: id, uid: p.uid, email: p.email, companyID: p.companyID, disabled: p.disabled, admin: p.admin, createdAt: p.createdAt,
                      properties: p.properties)
    }

    /// The buffered profiles, new ones loaded with one `COPY` and updated ones in multi-row updates.
    func flushProfiles() throws {
        let rows = memo.rows
        let now = now.milliseconds
        if !memo.inserts.isEmpty {
            var copy = CopyText(capacity: memo.inserts.count * 200)
            for key in memo.inserts {
                Self.values(key, rows[key]!, updatedAt: now, into: &copy)
                copy.endRow()
            }
            try connection.copy(into: "profiles", columns: Self.profileValueColumns, rows: copy)
        }
        try MultiRowValues(columns: [
            .bound("::bigint"), .bound("::bigint"), .bound("::text"), .bound("::text"), .bound("::bigint"),
            .bound("::boolean"), .bound("::boolean"), .bound("::bigint"), .bound("::bigint"), .bound("::jsonb"),
        ]).run(memo.updates, on: connection, { values in
            """
            UPDATE profiles p SET company_id = v.company_id, disabled = v.disabled, admin = v.admin, created_at = v.created_at,
                updated_at = v.updated_at, properties = v.properties
            FROM (VALUES \(values)) AS v(\(Self.profileValueColumns.joined(separator: ", ")))
            WHERE p.account_id = v.account_id AND p.id = v.id
            """
        }) { key, binds in Self.values(key, rows[key]!, updatedAt: now, into: &binds) }
        memo.inserts = []
        memo.updates = []
        memo.rows = [:]
    }

    /// A profile row's columns, in the order `values` writes them.
    static let profileValueColumns = ["account_id", "id", "uid", "email", "company_id", "disabled", "admin", "created_at", "updated_at", "properties"]

    /// One row's values, for a `COPY` or as a statement's parameters.
    private static func values<Row: RowValues>(_ key: AccountRow, _ p: ProfileRow, updatedAt: Int64, into row: inout Row) {
        row.put(key.account)
        row.put(key.id)
        row.put(p.uid)
        row.put(p.email)
        row.put(p.companyID)
        row.put(p.disabled)
        row.put(p.admin)
        row.put(p.createdAt)
        row.put(updatedAt)
        row.put(p.properties)
    }

    /// After an erasure: what the memo holds may be gone.
    func forgetMemo() {
        memo = Memo()
    }

    func markForMembership(_ kind: MembershipDirtyKind, _ id: Int64, account: Int64) throws {
        dirty.insert(DirtyKey(account: account, kind: kind.rawValue, id: id))
    }

    func profileStored(_ id: Int64, account: Int64) {
        changedProfiles[id] = account
        stored.profiles += 1
    }

    func companyStored(_ id: Int64, account: Int64) {
        stored.companies += 1
    }

    // MARK: Companies (written at once: profiles name them)

    func company(account: Int64, uid: String) throws -> StoredCompany? {
        let key = Key(account: account, key: uid)
        if let id = memo.companyUIDs[key] { return memo.companies[AccountRow(account: account, id: id)] }
        if memo.freeCompanyUIDs.contains(key) { return nil }
        guard let found = try connection.query(
            "SELECT id, uid, created_at, properties::text FROM companies WHERE account_id = \(account) AND uid = \(uid) FOR UPDATE"
        ).first.map(Self.storedCompany) else {
            memo.freeCompanyUIDs.insert(key)
            return nil
        }
        memo.remember(found, account: account)
        return found
    }

    func company(account: Int64, id: Int64) throws -> StoredCompany? {
        if let found = memo.companies[AccountRow(account: account, id: id)] { return found }
        guard let found = try connection.query(
            "SELECT id, uid, created_at, properties::text FROM companies WHERE account_id = \(account) AND id = \(id) FOR UPDATE"
        ).first.map(Self.storedCompany) else { return nil }
        memo.remember(found, account: account)
        return found
    }

    func insertCompany(account: Int64, uid: String, createdAt: Int64, properties: String) throws -> Int64 {
        let id = try connection.query(
            """
            INSERT INTO companies (account_id, uid, created_at, updated_at, properties)
            VALUES (\(account), \(uid), \(createdAt), \(now.milliseconds), \(properties)::jsonb) RETURNING id
            """
        ).first!.decode(Int64.self)
        memo.remember(StoredCompany(id: id, uid: uid, createdAt: createdAt, properties: properties), account: account)
        return id
    }

    func updateCompany(id: Int64, account: Int64, createdAt: Int64, properties: String) throws {
        try connection.query(
            """
            UPDATE companies SET created_at = \(createdAt), updated_at = \(now.milliseconds), properties = \(properties)::jsonb
            WHERE account_id = \(account) AND id = \(id)
            """)
        if let before = memo.companies[AccountRow(account: account, id: id)] {
            memo.remember(StoredCompany(id: id, uid: before.uid, createdAt: createdAt, properties: properties), account: account)
        }
    }
}
