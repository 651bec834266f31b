import PostgresNIO
import TroveCore

/// Events leaving the log (retention, erasure) and the Track API's anonymous events, on PostgreSQL. What
/// derives from events commits with them here, so a deletion takes its rows out of the hourly counts (a row
/// of negative deltas) and their names' totals in the same statement.
extension PostgresWriteSession {
    enum EventTable: String {
        case events, anonymousEvents = "anonymous_events"
    }

    /// Deletes the rows of `table` that `condition` selects (SQL naming `account_id`, built from numbers
    /// only), uncounted from `event_counts` and `event_names`; with `markProfiles` their profiles are marked
    /// for membership. Returns each deleted row's profile (nil for anonymous events) and properties as text
    /// (nil for none).
    @discardableResult
    func deleteEvents(from table: EventTable = .events, where condition: String, markProfiles: Bool) throws
        -> [(profile: Int64?, properties: String?)]
    {
        try flushBuffered()
        let mark = markProfiles && table == .events
            ? """
              , marked AS (INSERT INTO membership_dirty (account_id, kind, object_id, marked_at)
                           SELECT DISTINCT account_id, \(MembershipDirtyKind.profile.rawValue)::smallint, profile_id, \(now.milliseconds) FROM gone
                           ON CONFLICT DO NOTHING)
              """
            : ""
        let rows = try connection.query(PostgresQuery(unsafeSQL: """
            WITH gone AS (DELETE FROM \(table.rawValue) WHERE \(condition) RETURNING *),
            \(PostgresCountDeltas.uncount(hourOf: EventCounts.hourSQL("timestamp"))),
            named AS (
                UPDATE event_names n SET count = n.count - t.n
                FROM (SELECT account_id, name_id, count(*) AS n FROM gone GROUP BY 1, 2) t
                WHERE n.account_id = t.account_id AND n.id = t.name_id)\(mark)
            SELECT \(table == .events ? "profile_id" : "NULL::bigint"), properties::text FROM gone
            """))
        if !rows.isEmpty { countRows += 1 }
        return try rows.map { try $0.decode((Int64?, String?).self) }
    }

    // MARK: Retention

    func deleteEvents(before cutoff: Timestamp, limit: Int) throws -> Int {
        try flushProfiles()
        try deleteEvents(from: .anonymousEvents, where: "account_id IS NOT NULL AND timestamp < \(cutoff.milliseconds)", markProfiles: false)
        return try deleteOldest(from: .events, before: cutoff, limit: limit, markProfiles: true)
    }

    func deleteAnonymousEvents(before cutoff: Timestamp, limit: Int) throws -> Int {
        try flushProfiles()
        return try deleteOldest(from: .anonymousEvents, before: cutoff, limit: limit, markProfiles: false)
    }

    /// Up to `limit` rows older than `cutoff`, account by account, each account's oldest ids first (as on
    /// SQLite), found through the primary key `(account_id, id)`, whose scan stops at the limit. One statement
    /// over every account ordered by id alone could not use that key: it read and sorted the whole table for
    /// each batch (92 ms a batch at 1M events against 9 ms now; linear in the table, so a backlog in a table of
    /// a hundred million events would have taken hours of scans). When fewer rows are that old, an account's
    /// scan reads to its end, once per pass, as SQLite's does.
    private func deleteOldest(from table: EventTable, before cutoff: Timestamp, limit: Int, markProfiles: Bool) throws -> Int {
        var left = limit
        for row in try connection.query("SELECT id FROM accounts ORDER BY id") {
            let account = try row.decode(Int64.self)
            let ids = try connection.query(PostgresQuery(unsafeSQL: """
                SELECT id FROM \(table.rawValue) WHERE account_id = \(account) AND timestamp < \(cutoff.milliseconds) ORDER BY id LIMIT \(left)
                """)).map { try $0.decode(Int64.self) }
            guard !ids.isEmpty else { continue }
            left -= try deleteEvents(from: table, where: "account_id = \(account) AND id = ANY(\(BigintArray.literal(ids)))", markProfiles: markProfiles).count
            if left <= 0 { break }
        }
        return limit - left
    }

    // MARK: Anonymous events

    /// Stored under the anonymous id, counted in the reports at once (as on SQLite); a key already taken by
    /// an anonymous or a profile's event stores nothing.
    func insertAnonymousEvent(_ e: EventInput, anonymousID: String, account: Int64) throws -> ItemOutcome {
        try flushProfiles()
        if let key = e.dedupeKey, let id = try anonymousEventID(account: account, dedupeKey: key) ?? eventID(account: account, dedupeKey: key) {
            return .duplicate(id)
        }
        let name = try internEventName(account: account, uid: e.nameUID, name: e.name)
        let time = e.timestamp.milliseconds
        guard let row = try connection.query(
            """
            INSERT INTO anonymous_events (account_id, anonymous_id, name_id, timestamp, received_at, dedupe_key, display_name, properties)
            VALUES (\(account), \(anonymousID), \(name.id), \(time), \(now.milliseconds), \(e.dedupeKey), \(name.name == e.name ? nil : e.name),
                    \(e.propertiesJSON.map { String(decoding: $0, as: UTF8.self) })::jsonb)
            ON CONFLICT DO NOTHING RETURNING id
            """
        ).first else {
            // The same key stored by another transaction a moment ago.
            return .duplicate(try e.dedupeKey.flatMap { try anonymousEventID(account: account, dedupeKey: $0) } ?? 0)
        }
        countName(name.id, account: account, at: time)
        counts[CountKey(account: account, name: name.id, hour: Self.hour(time)), default: 0] += 1
        if !e.properties.isEmpty { catalog.record(account: account, model: .event, properties: e.properties) }
        return .stored(try row.decode(Int64.self))
    }

    private func anonymousEventID(account: Int64, dedupeKey: String) throws -> Int64? {
        try connection.query("SELECT id FROM anonymous_events WHERE account_id = \(account) AND dedupe_key = \(dedupeKey)").first?.decode(Int64.self)
    }

    /// Moves the anonymous events of the last `days` into the profile's log in time order; one whose key the
    /// log already has is dropped (and uncounted), not doubled. The moved ones stay counted (they were
    /// counted when stored) and are announced as the profile's new events.
    func mergeAnonymousEvents(_ anonymousID: String, into profile: Int64, account: Int64, days: Int64) throws -> Int {
        try flushBuffered()
        let since = now.milliseconds - days * 86_400_000
        let rows = try connection.query(
            """
            WITH moved AS (
                DELETE FROM anonymous_events WHERE account_id = \(account) AND anonymous_id = \(anonymousID) AND timestamp >= \(since)
                RETURNING *),
            inserted AS (
                INSERT INTO events (account_id, profile_id, name_id, timestamp, received_at, source, dedupe_key, display_name, properties)
                SELECT account_id, \(profile), name_id, timestamp, received_at, \(Int16(EventSource.track.rawValue)), dedupe_key, display_name, properties
                FROM moved ORDER BY timestamp, id
                ON CONFLICT DO NOTHING RETURNING id, name_id, timestamp, dedupe_key)
            SELECT true, id, name_id, timestamp FROM inserted
            UNION ALL
            SELECT false, m.id, m.name_id, m.timestamp FROM moved m
            WHERE m.dedupe_key IS NOT NULL AND m.dedupe_key NOT IN (SELECT dedupe_key FROM inserted WHERE dedupe_key IS NOT NULL)
            """)
        var moved: [(id: Int64, time: Int64)] = []
        for row in rows {
            let (kept, id, name, time) = try row.decode((Bool, Int64, Int64, Int64).self)
            if kept {
                moved.append((id, time))
            } else {
                let usage = nameUsage[AccountRow(account: account, id: name)] ?? (0, .min)
                nameUsage[AccountRow(account: account, id: name)] = (usage.count - 1, usage.last)
                counts[CountKey(account: account, name: name, hour: Self.hour(time)), default: 0] -= 1
            }
        }
        guard !moved.isEmpty else { return 0 }
        for event in moved.sorted(by: { $0.id < $1.id }) { written.append(AccountRow(account: account, id: event.id)) }
        dirty.insert(DirtyKey(account: account, kind: MembershipDirtyKind.profile.rawValue, id: profile))
        withEvents.insert(AccountRow(account: account, id: profile))
        stored.events += moved.count
        return moved.count
    }
}
