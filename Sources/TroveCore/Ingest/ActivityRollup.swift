import GRDB

/// Keeps `profile_activity.last_seen_at` up to date from the event log, after the fact and set-based.
///
/// Ingest transactions only append events. Doing this upsert inside each of them cost more than half of
/// the import throughput on the reference data set (see 0002_event_rollups.sql); done here, one statement
/// covers a whole range of event ids, grouped and sorted by profile, and each page of profile_activity is
/// written once per rollup instead of once per commit. The writer runs it between group commits
/// (`WriteQueue`), so it never races an ingest transaction.
public enum ActivityRollup {
    static let name = "activity"

    /// Rolls up at most `limit` event ids past the watermark, inside `db`'s write transaction.
    /// Returns the number of ids covered (0 when caught up).
    @discardableResult
    public static func advance(_ db: Database, limit: Int = 1_000_000) throws -> Int {
        let from = try watermark(db)
        guard let top = try Int64.fetchOne(db, sql: "SELECT max(id) FROM events"), top > from else { return 0 }
        let through = min(top, from + Int64(limit))
        try db.execute(
            sql: """
                INSERT INTO profile_activity (profile_id, last_seen_at)
                SELECT profile_id, max(timestamp) FROM events WHERE id > ?1 AND id <= ?2 GROUP BY profile_id
                ON CONFLICT (profile_id) DO UPDATE SET last_seen_at = excluded.last_seen_at
                WHERE excluded.last_seen_at > last_seen_at
                """, arguments: [from, through])
        try db.execute(sql: "UPDATE event_rollups SET through_event_id = ? WHERE name = ?", arguments: [through, name])
        return Int(through - from)
    }

    static func watermark(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT through_event_id FROM event_rollups WHERE name = ?", arguments: [name]) ?? 0
    }

    /// SQL for a profile's `last_seen_at` as of now: the rolled-up value or the latest event in the tail,
    /// whichever is later. `profile` is the SQL expression naming the profile id.
    static func lastSeenSQL(profile: String) -> String {
        """
        (SELECT max(t) FROM (
            SELECT last_seen_at AS t FROM profile_activity WHERE profile_id = \(profile)
            UNION ALL
            SELECT max(timestamp) FROM events
            WHERE id > (SELECT through_event_id FROM event_rollups WHERE name = '\(name)') AND profile_id = \(profile)))
        """
    }
}
