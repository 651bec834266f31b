import PostgresNIO
import TroveCore

/// What a transaction writes once, just before it commits: the buffered events and everything derived from
/// them, the membership marks, the catalog and the warnings, each as one statement (or a few, for many rows),
/// and the rows shared with other writers together last (`flushDerived`).
extension PostgresWriteSession {
    func flush() throws {
        try flushProfiles()
        try checkProfiles()
        try insertPending()
        try enqueueEventsCreated()
        try enqueueCustomerIO()
        try flushWarnings()
        try flushMarks()
        try flushCounts()
        try flushDerived()
    }

    /// The profiles and companies to re-check, as one row per account and kind (`membership_marks`): a new
    /// row conflicts with no other writer's, so it is written outside the turns of `flushDerived`.
    private func flushMarks() throws {
        guard !dirty.isEmpty else { return }
        let rows = Array(dirty)
        try connection.query(
            """
            INSERT INTO membership_marks (account_id, kind, object_ids, marked_at)
            SELECT u.a, u.k::smallint, array_agg(u.o ORDER BY u.o), \(now.milliseconds)
            FROM unnest(\(rows.map(\.account))::bigint[], \(rows.map(\.kind))::bigint[], \(rows.map(\.id))::bigint[]) AS u(a, k, o)
            GROUP BY u.a, u.k
            """)
    }

    /// The hourly counts this transaction changed, as one row per account (`PostgresCountDeltas`): like the
    /// marks, a row no other writer touches, written outside the turns.
    private func flushCounts() throws {
        let byAccount = Dictionary(grouping: counts.filter { $0.value != 0 }, by: \.key.account)
        for (account, unsorted) in byAccount.sorted(by: { $0.key < $1.key }) {
            let rows = unsorted.sorted { ($0.key.name, $0.key.hour) < ($1.key.name, $1.key.hour) }
            try connection.query(PostgresCountDeltas.insert(
                account: account, names: rows.map(\.key.name), hours: rows.map(\.key.hour), counts: rows.map(\.value)))
            countRows += 1
        }
    }

    /// The advisory lock class of `flushDerived` ("td"; the ledger's is "tr").
    static let derivedLockClass: Int32 = 0x7464

    /// The rows many writers share — the names' totals and the property catalog — last, in one statement: a
    /// writer holds their row locks from here to its commit, and another writer touching the same rows waits
    /// that long. (Each as a statement of its own, with the
    /// catalog and warnings after them, held them ~40 ms and made writers queue on each other.) Every part's
    /// rows are sorted, and the writers of one account take turns (an advisory lock) — so no two deadlock.
    private func flushDerived() throws {
        // Turns per account: the statement's parts lock rows in an order PostgreSQL chooses (an UPDATE … FROM
        // follows its join), and two writers at once deadlocked on it.
        let accounts = Set(withEvents.map(\.account)).union(nameUsage.keys.map(\.account)).union(catalog.entries.keys.map(\.account)).sorted()
        for account in accounts { try connection.query("SELECT pg_advisory_xact_lock(\(Self.derivedLockClass), \(Int32(truncatingIfNeeded: account)))") }
        var parts: [String] = []
        var binds = PostgresBindings()
        func bind(_ values: [Int64]) -> String {
            binds.append(values)
            return "$\(binds.count)::bigint[]"
        }
        func bind(_ values: [String]) -> String {
            binds.append(values)
            return "$\(binds.count)::text[]"
        }
        if let c = try catalogRows() {
            // Types seen are a set: the stored ones (as of commit) join this write's, so writers at the same
            // moment lose none. Examples are the newest few, as this write read them.
            parts.append("""
                INSERT INTO properties (account_id, model, prop, name, types, examples, last_seen_at)
                SELECT a, m, p, n, t::jsonb, e::jsonb, \(now.milliseconds)
                FROM unnest(\(bind(c.accounts)), \(bind(c.models)), \(bind(c.props)), \(bind(c.names)), \(bind(c.types)), \(bind(c.examples)))
                    AS u(a, m, p, n, t, e)
                ON CONFLICT (account_id, model, prop) DO UPDATE SET
                    types = (SELECT jsonb_agg(t ORDER BY t) FROM (SELECT jsonb_array_elements_text(properties.types)
                                                                  UNION SELECT jsonb_array_elements_text(excluded.types)) AS x(t)),
                    examples = excluded.examples, last_seen_at = excluded.last_seen_at
                """)
        }
        if !nameUsage.isEmpty {
            let rows = nameUsage.sorted { ($0.key.account, $0.key.id) < ($1.key.account, $1.key.id) }
            parts.append("""
                UPDATE event_names n SET count = n.count + u.n, last_seen_at = greatest(coalesce(n.last_seen_at, u.last), u.last)
                FROM unnest(\(bind(rows.map(\.key.account))), \(bind(rows.map(\.key.id))), \(bind(rows.map(\.value.count))),
                            \(bind(rows.map(\.value.last)))) AS u(account_id, id, n, last)
                WHERE n.account_id = u.account_id AND n.id = u.id
                """)
        }
        guard let last = parts.popLast() else { return }
        let with = parts.enumerated().map { "d\($0.offset) AS (\($0.element))" }.joined(separator: ",\n")
        try connection.query(PostgresQuery(unsafeSQL: (with.isEmpty ? "" : "WITH " + with + "\n") + last, binds: binds))
    }

    /// The advisory lock class that orders erasures and event writes per account ("te"): a transaction that
    /// stores events holds it shared from `checkProfiles` to its commit, an erasure exclusive
    /// (`eraseProfiles`) from before it deletes a person's last events to its commit.
    static let erasureLockClass: Int32 = 0x7465

    /// The profiles this transaction's events belong to, still there once the accounts' erasure locks are held
    /// (shared): an erasure then either committed before this check, which sees it, or waits for this
    /// transaction and deletes its events too. A profile erased since its id was cached fails the transaction:
    /// it runs again with the caches cleared, and the events then go to whoever the rules find (contract §5:
    /// an erased person's uid starts afresh). (Each profile's row key-share locked instead wrote a lock to
    /// every row: ~4 µs a profile, a fifth of PostgreSQL's time in `trove bench import`.)
    ///
    /// Most need no reading: an erasure records a `profile` deletion, with an id from a sequence taken under
    /// its exclusive lock, in the transaction that deletes the profile, so such ids commit in the order they
    /// were taken, and the account's newest one grows with every erasure committed since any earlier read of
    /// it. (Only those: a company's deletion takes its id without the lock, and one committed while an erasure
    /// was under way would hide that erasure's smaller id.) A profile created here,
    /// read here by a statement that saw the same newest deletion id (the event uids' lookup), or cached as
    /// seen by a check at that id, is still there; the rest are counted (that count was 3.6 ms of a ~25 ms
    /// transaction in `trove bench http-batch`), and all of them are cached as seen at this id once the
    /// transaction commits.
    ///
    /// A profile created here can only be erased after this commits, so its erasure's id will be above any
    /// newest deletion id read here: the accounts that created profiles without events read theirs too, and
    /// the profiles are cached as seen at it.
    private func checkProfiles() throws {
        let byAccount = Dictionary(grouping: withEvents, by: \.account).sorted { $0.key < $1.key }
        // Statements of their own: what they read must be read after the locks are granted.
        for (account, _) in byAccount {
            try connection.query("SELECT pg_advisory_xact_lock_shared(\(Self.erasureLockClass), \(Int32(truncatingIfNeeded: account)))")
        }
        let cachedAt = Dictionary(cachedProfiles.map { (AccountRow(account: $0.key.account, id: $0.value.id), $0.value.existedAt) }) { a, b in a == b ? a : nil }
        for (account, rows) in byAccount {
            let newest = try newestProfileDeletion(account)
            // The ids as one array the index walks in order (`id = ANY`): joined to an unnested list of
            // (account, id) pairs instead, 9,500 ids took 37 ms, not 9.5.
            // (A transaction that erased someone itself proves nothing: it counts them all.)
            let unproven = rows.filter { row in
                forgetProfiles || !createdProfiles.contains(row) && cachedAt[row].flatMap { $0 } != newest && profilesReadAt[row] != newest
            }.map(\.id).sorted()
            if !unproven.isEmpty {
                let found = try connection.query("SELECT count(*) FROM profiles WHERE account_id = \(account) AND id = ANY(\(unproven)::bigint[])")
                    .first!.decode(Int64.self)
                guard found == unproven.count else {
                    caches.reset()
                    throw PostgresStoreError.server("a profile was erased while events were written for it", sqlState: "40001")
                }
            }
            profilesExistedAt[account] = newest
        }
        for account in Set(createdProfiles.map(\.account)) where profilesExistedAt[account] == nil {
            profilesExistedAt[account] = try newestProfileDeletion(account)
        }
    }

    private func newestProfileDeletion(_ account: Int64) throws -> Int64 {
        try connection.query(PostgresQuery(unsafeSQL: Self.newestProfileDeletion(account: "\(account)"))).first!.decode(Int64.self)
    }

    /// The statement reading an account's newest profile deletion id (`account`: a number or a parameter).
    static func newestProfileDeletion(account: String) -> String {
        "SELECT coalesce(max(id), 0) FROM deletions WHERE account_id = \(account) AND kind = 'profile'"
    }

    /// The buffered profiles and events written before a statement that moves or deletes events; the dedupe
    /// keys looked up so far may be freed or taken by it, so they are forgotten.
    func flushBuffered() throws {
        try flushProfiles()
        try insertPending()
        dedupeKeys.removeAll()
    }

    /// The buffered events, loaded with one `COPY` (before commit, or before a statement that reads events).
    func insertPending() throws {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll() }
        let received = now.milliseconds
        var rows = CopyText(capacity: pending.count * 160)
        for e in pending {
            rows.put(e.account)
            rows.put(e.id)
            rows.put(e.profile)
            rows.put(e.name)
            rows.put(e.timestamp)
            rows.put(received)
            rows.put(e.source)
            rows.put(e.dedupeKey)
            rows.put(e.displayName)
            rows.put(e.properties)
            rows.endRow()
        }
        try connection.copy(into: "events", columns: Self.eventColumns, rows: rows)
    }

    static let eventColumns = ["account_id", "id", "profile_id", "name_id", "timestamp", "received_at", "source", "dedupe_key", "display_name",
                               "properties"]

    struct CatalogRows {
        var accounts: [Int64] = [], models: [String] = [], props: [String] = [], names: [String] = [], types: [String] = [], examples: [String] = []
    }

    /// What the catalog learned, merged with what it holds (read unlocked), as columns for one upsert.
    private func catalogRows() throws -> CatalogRows? {
        let entries = catalog.entries
        guard !entries.isEmpty else { return nil }
        let keys = entries.keys.sorted { ($0.account, $0.model.rawValue, $0.prop) < ($1.account, $1.model.rawValue, $1.prop) }
        struct Found: Hashable { var account: Int64; var model: String; var prop: String }
        var stored: [Found: (types: String, examples: String)] = [:]
        for account in Set(keys.map(\.account)).sorted() {
            let props = Array(Set(keys.filter { $0.account == account }.map(\.prop)))
            for row in try connection.query(
                """
                SELECT model, prop, types::text, examples::text FROM properties WHERE account_id = \(account) AND prop = ANY(\(props)::text[])
                """)
            {
                let (model, prop, types, examples) = try row.decode((String, String, String, String).self)
                stored[Found(account: account, model: model, prop: prop)] = (types, examples)
            }
        }
        var c = CatalogRows()
        for key in keys {
            let old = stored[Found(account: key.account, model: key.model.rawValue, prop: key.prop)]
            let (t, e) = CatalogAccumulator.merged(entries[key]!, storedTypes: old?.types, storedExamples: old?.examples)
            c.accounts.append(key.account)
            c.models.append(key.model.rawValue)
            c.props.append(key.prop)
            c.names.append(CatalogAccumulator.displayName(key.prop))
            c.types.append(JSONWriter.string(.array(t.map(JSON.string))))
            c.examples.append(JSONWriter.string(.array(e)))
        }
        return c
    }
    private func flushWarnings() throws {
        let entries = warnings.entries.sorted {
            ($0.key.account, $0.key.model.rawValue, $0.key.prop, $0.key.kind.rawValue) < ($1.key.account, $1.key.model.rawValue, $1.key.prop, $1.key.kind.rawValue)
        }
        for (key, e) in entries {
            try connection.query(
                """
                INSERT INTO warnings (account_id, model, prop, kind, count, first_at, last_at, example_uid, detail)
                VALUES (\(key.account), \(key.model.rawValue), \(key.prop), \(key.kind.rawValue), \(Int64(e.count)), \(now.milliseconds),
                        \(now.milliseconds), \(e.exampleUID), \(e.detail))
                ON CONFLICT (account_id, model, prop, kind) DO UPDATE SET
                    count = warnings.count + excluded.count, last_at = excluded.last_at,
                    example_uid = coalesce(excluded.example_uid, warnings.example_uid), detail = coalesce(excluded.detail, warnings.detail)
                """)
        }
    }

    /// `event.created` (contract §10) for each event written, to each enabled endpoint of its account that
    /// takes the topic (and the event's name, when it lists names), in the order the events were written. An
    /// endpoint whose stored lists do not parse stops the write, as on SQLite.
    func enqueueEventsCreated() throws {
        guard !written.isEmpty else { return }
        let accounts = Set(written.map(\.account)).sorted()
        var taking: Set<Int64> = []
        for row in try connection.query(
            "SELECT account_id, id, topics::text, event_names::text FROM webhook_endpoints WHERE account_id = ANY(\(accounts)) AND enabled") {
            let (account, id, topics, names) = try row.decode((Int64, Int64, String, String?).self)
            if let names { _ = try StoredJSON.strings(names, "webhook_endpoints", "event_names", id: id) }
            if try StoredJSON.strings(topics, "webhook_endpoints", "topics", id: id).contains("event.created") { taking.insert(account) }
        }
        let events = written.filter { taking.contains($0.account) }
        guard !events.isEmpty else { return }
        try connection.query(
            """
            INSERT INTO webhook_deliveries (account_id, endpoint_id, envelope_id, kind, data, next_attempt_at, created_at)
            SELECT e.account_id, w.id, 'whd_' || left(replace(gen_random_uuid()::text, '-', ''), 24), 'event.created',
                jsonb_build_object(
                    'event', jsonb_build_object(
                        'id', lpad(to_hex(e.id), 24, '0'), 'name', coalesce(e.display_name, n.name), 'name_uid', n.uid,
                        'timestamp', \(unescaped: PostgresDialect.iso8601("e.timestamp")), 'received_at', \(unescaped: PostgresDialect.iso8601("e.received_at")),
                        'source', \(unescaped: WebhookOutbox.sourceName("e.source")), 'properties', coalesce(e.properties, '{}'::jsonb)),
                    'profile', jsonb_build_object('id', lpad(to_hex(p.id), 24, '0'), 'uid', p.uid, 'email', p.email)),
                \(now.milliseconds), \(now.milliseconds)
            FROM unnest(\(events.map(\.account))::bigint[], \(events.map(\.id))::bigint[]) WITH ORDINALITY AS x(account_id, id, n)
            JOIN events e ON e.account_id = x.account_id AND e.id = x.id
            JOIN event_names n ON n.account_id = e.account_id AND n.id = e.name_id
            JOIN profiles p ON p.account_id = e.account_id AND p.id = e.profile_id
            JOIN webhook_endpoints w ON w.account_id = e.account_id AND w.enabled AND w.topics @> '["event.created"]'::jsonb
                AND (w.event_names IS NULL OR w.event_names @> jsonb_build_array(n.uid))
            ORDER BY x.n, w.id
            """)
    }

    /// What this transaction did, as rows for Customer.io (contract §10), for each account with a usable
    /// destination: an identify per changed profile (its state at commit), then the events that fire
    /// (`CustomerIODestination.fires`), each a Track event with a ULID made from the event so a retry
    /// dedupes. A destination whose settings do not parse stops the write, as on SQLite.
    func enqueueCustomerIO() throws {
        let accounts = Set(changedProfiles.values).union(written.map(\.account)).sorted()
        guard !accounts.isEmpty else { return }
        let rows = try connection.query(
            "SELECT account_id, config::text FROM integrations WHERE account_id = ANY(\(accounts)) AND name = 'customerio-destination' ORDER BY account_id")
        for row in rows {
            let (account, config) = try row.decode((Int64, String).self)
            let destination = try CustomerIODestination.fromStored(config, account: account)
            let c = destination.identified(PostgresDialect())
            if destination.syncProfiles {
                let profiles = changedProfiles.filter { $0.value == account }.keys.sorted()
                if !profiles.isEmpty {
                    try connection.query(
                        """
                        INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, body, state, last_error, next_attempt_at, created_at)
                        SELECT p.account_id, p.id, 'identify', \(unescaped: c.identifier),
                            (p.properties - 'email') || jsonb_strip_nulls(jsonb_build_object('email', p.email, 'created_at', p.created_at / 1000)),
                            \(unescaped: c.state), \(unescaped: c.error), \(now.milliseconds), \(now.milliseconds)
                        FROM profiles p WHERE p.account_id = \(account) AND p.id = ANY(\(profiles))
                        ORDER BY p.id
                        """)
                }
            }
            try enqueueCustomerIOEvents(account: account, destination: destination, identified: c)
        }
    }

    private func enqueueCustomerIOEvents(account: Int64, destination: CustomerIODestination,
                                         identified c: (identifier: String, state: String, error: String)) throws {
        let ids = written.filter { $0.account == account }.map(\.id)
        guard !ids.isEmpty else { return }
        let names = destination.namesThatCanFire
        if names?.isEmpty == true { return }
        let needsProperties = !destination.triggerPaths.isEmpty
        var fired: (ids: [Int64], ulids: [String]) = ([], [])
        for row in try connection.query(
            """
            SELECT e.id, n.uid, e.timestamp, p.admin, \(unescaped: needsProperties ? "e.properties::text" : "NULL::text")
            FROM unnest(\(ids)::bigint[]) WITH ORDINALITY AS x(id, n)
            JOIN events e ON e.account_id = \(account) AND e.id = x.id
            JOIN event_names n ON n.account_id = e.account_id AND n.id = e.name_id
            JOIN profiles p ON p.account_id = e.account_id AND p.id = e.profile_id
            WHERE \(names == nil) OR n.uid = ANY(\(names ?? []))
            ORDER BY x.n
            """) {
            let (id, uid, timestamp, admin, text) = try row.decode((Int64, String, Int64, Bool, String?).self)
            var properties: [JSONMember] = []
            if let text, case .object(let members) = try StoredJSON.parse(text, "events", "properties", id: id) { properties = members }
            guard destination.fires(nameUID: uid, properties: properties, admin: admin) else { continue }
            fired.ids.append(id)
            fired.ulids.append(ULID.make(milliseconds: timestamp, high: UInt16(truncatingIfNeeded: account), low: UInt64(bitPattern: id)))
        }
        guard !fired.ids.isEmpty else { return }
        try connection.query(
            """
            INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, body, state, last_error, next_attempt_at, created_at)
            SELECT e.account_id, e.profile_id, 'event', \(unescaped: c.identifier),
                jsonb_build_object('name', coalesce(e.display_name, n.name), 'data', coalesce(e.properties, '{}'::jsonb),
                                   'timestamp', e.timestamp / 1000, 'id', f.ulid),
                \(unescaped: c.state), \(unescaped: c.error), \(now.milliseconds), \(now.milliseconds)
            FROM unnest(\(fired.ids)::bigint[], \(fired.ulids)::text[]) WITH ORDINALITY AS f(id, ulid, n)
            JOIN events e ON e.account_id = \(account) AND e.id = f.id
            JOIN event_names n ON n.account_id = e.account_id AND n.id = e.name_id
            JOIN profiles p ON p.account_id = e.account_id AND p.id = e.profile_id
            ORDER BY f.n
            """)
    }
}
