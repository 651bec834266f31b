import GRDB
import GRDBSQLite

/// Keeps `event_recency` (0022): for each event name a segment counts, every profile's two latest times of
/// it. A staged members query reads the profiles that can pass "did X at least k times in the last D days"
/// as one range of a partial index of it (`SegmentCompiler.CandidatesFirst.required`) and keeps only the
/// candidates among them; where that range says exactly who passes (`EventName.profilesDoing`), their events
/// are not counted at all, but for the tail's.
///
/// The rows of a name kept (`event_recency_names`) reflect exactly every event of it at or below the name's
/// watermark: built from the name's index by the evaluator in a step after the index's (`build`), moved
/// forward as the evaluator moves its own watermark (`catchUp`), and recomputed for the profiles whose events
/// are deleted (`affected`, `afterDeleting`). A reader adds the profiles with events of the name above it
/// (`tailSQL`). Measured at 10× the reference set: the reference segment's full evaluation 410 → 270 ms
/// cold, 270 → 96 ms warm; building "Completed Tour"'s 3.6M rows ~11 s (README, 2026-12-06 evening).
enum EventRecency {
    /// Past this many events above the watermark, a reader counts every candidate instead (reading the
    /// tail's events would cost more than the seeks saved). The evaluator normally trails by a step or two.
    static let readableTail: Int64 = 250_000

    /// Where the rows are read: the profiles whose `k`-th latest event of name `id` is later than `after`
    /// (k 1, or 2 for any count of 2 and more), and those with an event of the name the rows do not reflect
    /// yet (`tailSQL`). Profile ids, in no order, possibly repeated.
    static func profilesSQL(name id: Int64, atLeast k: Int64, after: Int64) -> SQLFragment {
        let column = k >= 2 ? "second" : "latest"
        return SQLFragment(
            "SELECT profile_id FROM event_recency INDEXED BY \(indexName(id, column)) WHERE name_id = \(id) AND \(column) > ? UNION ALL ",
            [after.sqlValue]) + tailSQL(name: id)
    }

    /// The profiles with events of name `id` its rows do not reflect yet (ids in no order, repeated).
    static func tailSQL(name id: Int64) -> SQLFragment {
        SQLFragment("SELECT profile_id FROM events WHERE id > (SELECT through_event_id FROM event_recency_names WHERE name_id = \(id)) AND name_id = \(id)")
    }

    /// The partial index of name `id`'s rows by `column` (`latest` or `second`).
    static func indexName(_ id: Int64, _ column: String) -> String { "event_recency_\(column)_\(id)" }

    /// Whether name `id`'s rows are kept and the events past them few enough for a reader to add (`tailSQL`).
    static func isReadable(name id: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: "SELECT (SELECT coalesce(max(id), 0) FROM events) - through_event_id <= ? FROM event_recency_names WHERE name_id = ?",
            arguments: [readableTail, id]) ?? false
    }

    /// The names whose index is there (`SegmentIndex.eventName`) but whose rows are not kept yet: the
    /// evaluator builds them, one name per step (`MembershipEvaluator.buildLatestTimes`).
    static func unbuilt(_ db: Database) throws -> [Int64] {
        try Int64.fetchAll(db, sql: """
            SELECT id FROM (SELECT CAST(substr(name, \(prefix.count + 1)) AS INTEGER) AS id FROM sqlite_master
                            WHERE type = 'index' AND name GLOB '\(prefix)*')
            WHERE id NOT IN (SELECT name_id FROM event_recency_names) ORDER BY id
            """)
    }

    private static let prefix = "events_of_name_"

    /// (Re)builds name `id`'s rows from every event of it, through its index (`SegmentIndex.eventName`, which
    /// must exist): one pass in profile and time order appending rows in key order, then the two partial
    /// indexes sorted in one go each (kept as rows arrive, their pages lay scattered: at 10× the reference
    /// set, reading the reference segment's range cold took ~250 ms that way, ~50 ms from a sorted build).
    /// From now on the name's rows are kept.
    static func build(name id: Int64, _ db: Database) throws {
        try dropIndexes(name: id, db)
        try db.execute(sql: "DELETE FROM event_recency WHERE name_id = ?", arguments: [id])
        let insert = try RawStatement(db, sql: "INSERT INTO event_recency (name_id, profile_id, latest, second) VALUES (?1, ?2, ?3, ?4)")
        try insert.bind(1, id)
        var profile: Int64?
        var latest = Int64.min
        var second: Int64?
        func flush() throws {
            guard let profile else { return }
            try insert.bind(2, profile)
            try insert.bind(3, latest)
            try insert.bind(4, second)
            try insert.execute(db)
        }
        let index = SegmentIndex.eventName(id).name
        try CandidateList.rows(SQLFragment("SELECT profile_id, timestamp FROM events INDEXED BY \"\(index)\" WHERE name_id = \(id) ORDER BY profile_id, timestamp"), db) { row in
            let (p, t) = (sqlite3_column_int64(row, 0), sqlite3_column_int64(row, 1))
            if p != profile {
                try flush()
                (profile, latest, second) = (p, t, nil)
            } else {
                (latest, second) = (t, latest)  // in time order: the newest so far, and the one before it
            }
            return true
        }
        try flush()
        try db.execute(sql: "CREATE INDEX \(indexName(id, "latest")) ON event_recency(latest, profile_id) WHERE name_id = \(id)")
        try db.execute(sql: "CREATE INDEX \(indexName(id, "second")) ON event_recency(second, profile_id) WHERE name_id = \(id) AND second IS NOT NULL")
        try db.execute(
            sql: """
                INSERT INTO event_recency_names (name_id, through_event_id) VALUES (?, (SELECT coalesce(max(id), 0) FROM events))
                ON CONFLICT (name_id) DO UPDATE SET through_event_id = excluded.through_event_id
                """, arguments: [id])
    }

    static func dropIndexes(name id: Int64, _ db: Database) throws {
        for column in ["latest", "second"] { try db.execute(sql: "DROP INDEX IF EXISTS \(indexName(id, column))") }
    }

    /// Before events matching `condition` are deleted: the rows of the (kept name, profile) pairs they
    /// belong to, recomputed from the events left (`afterDeleting`), so the rows stay exact.
    static func affected(eventsWhere condition: String, arguments: StatementArguments, _ db: Database) throws -> [(name: Int64, profile: Int64)] {
        try Row.fetchAll(
            db, sql: """
                SELECT DISTINCT e.name_id, e.profile_id FROM (SELECT name_id, profile_id FROM events WHERE \(condition)) AS e
                JOIN event_recency_names n ON n.name_id = e.name_id
                """, arguments: arguments
        ).map { ($0[0], $0[1]) }
    }

    /// After the events were deleted: each affected pair's two latest times from its name's index, or no row.
    static func afterDeleting(_ pairs: [(name: Int64, profile: Int64)], _ db: Database) throws {
        for (name, profile) in pairs {
            // Only the events the rows reflect: those past the watermark are the tail's.
            let times = try Int64.fetchAll(
                db.cachedStatement(sql: """
                    SELECT timestamp FROM events INDEXED BY "\(SegmentIndex.eventName(name).name)" WHERE name_id = \(name) AND profile_id = ?
                    AND id <= (SELECT through_event_id FROM event_recency_names WHERE name_id = \(name)) ORDER BY timestamp DESC LIMIT 2
                    """), arguments: [profile])
            if let latest = times.first {
                try db.cachedStatement(sql: "UPDATE event_recency SET latest = ?, second = ? WHERE name_id = ? AND profile_id = ?")
                    .execute(arguments: [latest, times.count > 1 ? times[1] : nil, name, profile])
            } else {
                try db.cachedStatement(sql: "DELETE FROM event_recency WHERE name_id = ? AND profile_id = ?").execute(arguments: [name, profile])
            }
        }
    }

    /// After events were deleted: a watermark above the log's new top comes down to it (SQLite may hand a
    /// deleted top id out again, `EventCounts.lowerWatermarks`).
    static func lowerWatermarks(_ db: Database) throws {
        try db.execute(sql: "UPDATE event_recency_names SET through_event_id = min(through_event_id, (SELECT coalesce(max(id), 0) FROM events))")
    }

    /// Stops keeping name `id`'s rows (its index was dropped).
    static func forget(name id: Int64, _ db: Database) throws {
        try dropIndexes(name: id, db)
        try db.execute(sql: "DELETE FROM event_recency WHERE name_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM event_recency_names WHERE name_id = ?", arguments: [id])
    }

    /// Brings the kept names' rows to `through` (an event id: the 'membership' watermark is about to move
    /// there), each from where its own watermark stands. A name more than `readableTail` events behind is
    /// built again from its index instead: one pass in order beats reading a bulk load's events by id. (A
    /// name built since the load, as the first segment after it is, is not behind at all.)
    static func catchUp(through: Int64, _ db: Database, readableTail: Int64 = readableTail) throws {
        let behind = try Row.fetchAll(db, sql: "SELECT name_id, through_event_id FROM event_recency_names WHERE through_event_id < ?", arguments: [through])
            .map { (name: $0[0] as Int64, through: $0[1] as Int64) }
        for name in behind where through - name.through > readableTail { try build(name: name.name, db) }
        guard let from = behind.filter({ through - $0.through <= readableTail }).map(\.through).min() else { return }
        // The slice's two latest times per (name, profile), then one upsert each.
        struct Key: Hashable { var name: Int64; var profile: Int64 }
        var latest: [Key: (Int64, Int64?)] = [:]
        let query = SQLFragment(
            """
            SELECT e.name_id, e.profile_id, e.timestamp FROM events e JOIN event_recency_names n ON n.name_id = e.name_id
            WHERE e.id > ? AND e.id <= ? AND e.id > n.through_event_id
            """, [from.sqlValue, through.sqlValue])
        try CandidateList.rows(query, db) { row in
            let key = Key(name: sqlite3_column_int64(row, 0), profile: sqlite3_column_int64(row, 1))
            let t = sqlite3_column_int64(row, 2)
            if let (a, b) = latest[key] {
                latest[key] = t > a ? (t, a) : (a, max(b ?? .min, t))
            } else {
                latest[key] = (t, nil)
            }
            return true
        }
        // The second latest of both: the earlier of the two latest, or either second, whichever is later.
        let upsert = try RawStatement(
            db,
            sql: """
                INSERT INTO event_recency (name_id, profile_id, latest, second) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (name_id, profile_id) DO UPDATE SET latest = max(latest, excluded.latest),
                    second = nullif(max(min(latest, excluded.latest), coalesce(second, ?5), coalesce(excluded.second, ?5)), ?5)
                """)
        try upsert.bind(5, Int64.min)
        for (key, times) in latest.sorted(by: { ($0.key.name, $0.key.profile) < ($1.key.name, $1.key.profile) }) {
            try upsert.bind(1, key.name)
            try upsert.bind(2, key.profile)
            try upsert.bind(3, times.0)
            try upsert.bind(4, times.1)
            try upsert.execute(db)
        }
        try db.execute(sql: "UPDATE event_recency_names SET through_event_id = ? WHERE through_event_id < ?", arguments: [through, through])
    }
}
