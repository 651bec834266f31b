import GRDB

/// Keeps `profile_activity` (`last_seen_at`, and `head_event_id` / `late_head_id`: the newest event of each of
/// the profile's chains, `PersonChain`) up to date from the event log, after the fact (`event_counts` has a rollup of its own, `CountsRollup`).
///
/// Ingest transactions only append events. Doing this upsert inside each of them cost more than half of
/// the import throughput on the reference data set (see 0002_event_rollups.sql). Here a plan — the latest
/// time per profile over a range of event ids, sorted by profile — is built from what the writer saw
/// itself, or read from the log on a reader, and applied by the writer in slices between group commits
/// (when and how: WriteQueue+Rollup.swift). Applying is idempotent (a time only moves forward), so a plan
/// may be applied twice or alongside another process's.
public enum ActivityRollup {
    static let name = "activity"

    /// A profile's latest event time and the newest event of each of its chains (0: none) over some events.
    struct Latest: Sendable, Equatable {
        var time: Int64 = .min
        var head: Int64 = 0
        var late: Int64 = 0

        mutating func add(id: Int64, at t: Int64, prev: Int64?) {
            time = max(time, t)
            switch prev {
            case let p? where p >= 0: head = max(head, id)
            case _?: late = max(late, id)
            case nil: break
            }
        }

        func merged(_ other: Latest) -> Latest {
            Latest(time: max(time, other.time), head: max(head, other.head), late: max(late, other.late))
        }
    }

    /// The rows that bring `profile_activity` up to `through`, applied from `next` on.
    public struct Plan: Sendable {
        let from: Int64
        let through: Int64
        let profiles: [Int64]
        let times: [Int64]
        let heads: [Int64]
        let lates: [Int64]
        /// The writer's deletion count when the plan was made; a plan from before a deletion is dropped.
        var generation = 0
        var next = 0

        public var isComplete: Bool { next >= profiles.count }
        public var remaining: Int { profiles.count - next }
    }

    /// A plan from what the writer saw itself: `activity` must hold every event in (from, through].
    static func plan(from: Int64, through: Int64, activity: ProfileTable<Latest>) -> Plan {
        var entries: [(profile: Int64, latest: Latest)] = []
        entries.reserveCapacity(activity.count)
        activity.forEach { entries.append(($0, $1)) }
        entries.sort { $0.profile < $1.profile }
        return Plan(from: from, through: through, profiles: entries.map(\.profile), times: entries.map(\.latest.time),
                    heads: entries.map(\.latest.head), lates: entries.map(\.latest.late))
    }

    /// Plans a rollup of at most `limit` event ids past the watermark from the event log; nil when caught up.
    public static func plan(_ db: Database, limit: Int = 500_000) throws -> Plan? {
        let from = try watermark(db)
        guard let top = try Int64.fetchOne(db, sql: "SELECT max(id) FROM events"), top > from else { return nil }
        let through = min(top, from + Int64(limit))
        var profiles: [Int64] = []
        var times: [Int64] = []
        var heads: [Int64] = []
        var lates: [Int64] = []
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT profile_id, max(timestamp), max(CASE WHEN prev_id >= 0 THEN id ELSE 0 END),
                    max(CASE WHEN prev_id < 0 THEN id ELSE 0 END)
                FROM events WHERE id > ? AND id <= ? GROUP BY profile_id ORDER BY profile_id
                """,
            arguments: [from, through])
        while let row = try rows.next() {
            profiles.append(row[0])
            times.append(row[1])
            heads.append(row[2])
            lates.append(row[3])
        }
        return Plan(from: from, through: through, profiles: profiles, times: times, heads: heads, lates: lates)
    }

    /// Applies up to `rows` more rows of `plan`; once all are applied, moves the watermark to its end and
    /// returns the watermark as it then stands (nil before the end).
    @discardableResult
    public static func apply(_ plan: inout Plan, rows: Int, _ db: Database) throws -> Int64? {
        let end = plan.next + min(rows, plan.remaining)
        if end > plan.next {
            let upsert = try RawStatement(
                db,
                sql: """
                    INSERT INTO profile_activity (profile_id, last_seen_at, head_event_id, late_head_id) VALUES (?1, ?2, ?3, ?4)
                    ON CONFLICT (profile_id) DO UPDATE
                    SET last_seen_at = max(last_seen_at, excluded.last_seen_at), head_event_id = max(head_event_id, excluded.head_event_id),
                        late_head_id = max(late_head_id, excluded.late_head_id)
                    WHERE excluded.last_seen_at > last_seen_at OR excluded.head_event_id > head_event_id OR excluded.late_head_id > late_head_id
                    """)
            for i in plan.next..<end {
                try upsert.bind(1, plan.profiles[i])
                try upsert.bind(2, plan.times[i])
                try upsert.bind(3, plan.heads[i])
                try upsert.bind(4, plan.lates[i])
                try upsert.execute(db)
            }
            plan.next = end
        }
        if plan.isComplete {
            // Valid only if nothing between the watermark and the plan's start is missing.
            try db.execute(
                sql: """
                    UPDATE event_rollups SET through_event_id = ?1
                    WHERE name = ?3 AND through_event_id >= ?2 AND through_event_id < ?1
                    """, arguments: [plan.through, plan.from, name])
            return try watermark(db)
        }
        return nil
    }

    /// Plans and applies until caught up (`WriteQueue.catchUp`; tests).
    public static func catchUp(_ database: AppDatabase) async throws {
        while let plan = try await database.pool.read({ db in try ActivityRollup.plan(db) }) {
            try await database.pool.write { db in
                var p = plan
                try apply(&p, rows: .max, db)
            }
        }
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
