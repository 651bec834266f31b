import GRDB

/// A funnel step's list: the events of one name in profile and time order, with the grouping property's
/// value when the funnel groups — the rows of `report_step_events` under one `report_steps` row.
///
/// Built on first use, but never in one go: a list is filled from the event log in slices of
/// `sliceEvents` event ids, each read off the writer at the lowest priority and written in its own short
/// transaction, so ingest waits a few milliseconds at most while a list is built (one CREATE INDEX over
/// the log held the writer for seconds). Until a list has
/// caught up the funnel answers `building`. Afterwards the same slices keep it current, and a funnel reads
/// it plus the tail of the log past its watermark. Deleting events takes them out of the lists
/// (`WriteSession.deleteEvents`); a list no funnel read for 30 days is dropped, and at most `most` are kept.
public struct ReportStep: Hashable, Sendable {
    public let nameID: Int64
    /// The grouping property's JSON path (`$."tour_id"`), "" when the funnel does not group.
    public let path: String
}

public enum ReportSteps {
    static let keepUnused: Int64 = 30 * 86_400_000
    static let most = 32
    /// Event ids one slice reads from the log (a rowid range).
    static let sliceEvents: Int64 = 50_000

    /// Where a funnel's lists stand.
    public enum Readiness: Sendable, Equatable {
        case ready([Int64])
        /// Not all caught up; `progress` from 0 to 1 over the lists still building.
        case building(progress: Double)
    }

    /// Registers the lists (new ones start empty, to be built), marks them read now (at most hourly, to
    /// spare the writer), and says whether all are built. `steps` in funnel order; ids come back in it.
    static func prepare(_ steps: [ReportStep], _ database: AppDatabase, now: Timestamp) async throws -> Readiness {
        struct List: Sendable {
            var id: Int64
            var through: Int64
            var built: Bool
            var lastUsed: Int64
        }
        let unique = Array(Set(steps))
        let known: @Sendable (Database) throws -> [ReportStep: List] = { db in
            var lists: [ReportStep: List] = [:]
            for step in unique {
                lists[step] = try Row.fetchOne(
                    db, sql: "SELECT id, through_event_id, built_at, last_used_at FROM report_steps WHERE name_id = ? AND path = ? AND dropped = 0",
                    arguments: [step.nameID, step.path]
                ).map { List(id: $0[0], through: $0[1], built: $0[2] as Int64? != nil, lastUsed: $0[3]) }
            }
            return lists
        }
        var lists = try await database.read(known)
        if lists.count < unique.count || lists.values.contains(where: { now.milliseconds - $0.lastUsed >= 3_600_000 }) {
            lists = try await database.write { db in
                for step in unique {
                    try db.execute(
                        sql: """
                            INSERT INTO report_steps (name_id, path, created_at, last_used_at) VALUES (?, ?, ?, ?)
                            ON CONFLICT (name_id, path) WHERE dropped = 0 DO UPDATE SET last_used_at = excluded.last_used_at
                            """, arguments: [step.nameID, step.path, now.milliseconds, now.milliseconds])
                }
                // Past the bound the least recently read go (their rows in the background).
                try db.execute(
                    sql: """
                        UPDATE report_steps SET dropped = 1 WHERE id IN (
                            SELECT id FROM report_steps WHERE dropped = 0 ORDER BY last_used_at DESC, id DESC LIMIT -1 OFFSET ?)
                        """, arguments: [max(most, unique.count)])
                return try known(db)
            }
        }
        let building = lists.values.filter { !$0.built }
        guard building.isEmpty else {
            let top = try await database.read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0 }
            let done = building.reduce(0.0) { $0 + min(1, Double($1.through) / Double(max(top, 1))) }
            return .building(progress: done / Double(building.count))
        }
        return .ready(steps.map { lists[$0]!.id })
    }

    /// One slice of work: a batch of a dropped list's rows, else the list furthest behind the log (unbuilt
    /// ones first). True if there was something to do, false when every list is current.
    ///
    /// A slice's scan of the log (tens of milliseconds) runs on a thread of the lowest priority, off the
    /// writer; the writer only inserts what it found, in a short transaction, so ingest waits little and
    /// the scan takes only the CPU nobody else wants.
    @discardableResult
    public static func step(_ database: AppDatabase, now: Timestamp) async throws -> Bool {
        let next = try await database.read { db in try nextSlice(db) }
        switch next {
        case .idle: return false
        case .dropped: return try await database.write { db in try deleteDropped(db) }
        case .slice(let slice):
            let rows = try await database.backgroundRead { db in try read(slice, db) }
            try await database.write { db in try write(slice, rows, now: now, db) }
            return true
        }
    }

    enum Work: Sendable {
        case idle, dropped
        case slice(Slice)
    }

    /// A range of event ids to add to one list.
    struct Slice: Sendable {
        var list: Int64
        var nameID: Int64
        var path: String
        var from: Int64
        var through: Int64
        /// The log's top when the slice was chosen: the list is built once it reaches it.
        var top: Int64
    }

    /// One event of a slice, as its list holds it.
    struct SliceRow: Sendable {
        var profile: Int64
        var timestamp: Int64
        var event: Int64
        var value: DatabaseValue
    }

    static func nextSlice(_ db: Database) throws -> Work {
        if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM report_steps WHERE dropped = 1)") == true { return .dropped }
        let top = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0
        guard let row = try Row.fetchOne(
            db, sql: """
                SELECT id, name_id, path, through_event_id FROM report_steps WHERE dropped = 0 AND through_event_id < ?
                ORDER BY built_at IS NOT NULL, through_event_id LIMIT 1
                """, arguments: [top])
        else { return .idle }
        let from: Int64 = row[3]
        return .slice(Slice(list: row[0], nameID: row[1], path: row[2], from: from, through: min(top, from + sliceEvents), top: top))
    }

    /// A batch of a dropped list's rows deleted, or the list itself once empty.
    static func deleteDropped(_ db: Database) throws -> Bool {
        guard let dropped = try Int64.fetchOne(db, sql: "SELECT id FROM report_steps WHERE dropped = 1 LIMIT 1") else { return true }
        try db.execute(
            sql: """
                DELETE FROM report_step_events WHERE step_id = ?1 AND profile_id <= (
                    SELECT max(profile_id) FROM (SELECT profile_id FROM report_step_events WHERE step_id = ?1 ORDER BY profile_id LIMIT 20000))
                """, arguments: [dropped])
        if db.changesCount == 0 { try db.execute(sql: "DELETE FROM report_steps WHERE id = ?", arguments: [dropped]) }
        return true
    }

    /// The slice's events: a range of event ids, read by rowid (no index over the log is needed or built).
    static func read(_ slice: Slice, _ db: Database) throws -> [SliceRow] {
        let grouped = !slice.path.isEmpty
        let arguments: StatementArguments = grouped ? [slice.path, slice.from, slice.through, slice.nameID] : [slice.from, slice.through, slice.nameID]
        return try Row.fetchAll(db, sql: sliceSQL(grouped: grouped), arguments: arguments).map { row in
            SliceRow(profile: row[0], timestamp: row[1], event: row[2], value: row[3])
        }
    }

    static func sliceSQL(grouped: Bool) -> String {
        """
        SELECT profile_id, timestamp, id, \(grouped ? "json_extract(properties, ?)" : "NULL")
        FROM events WHERE id > ? AND id <= ? AND name_id = ?
        """
    }

    /// The slice's rows into its list, and the list's watermark moved past them — unless the list moved
    /// or was dropped meanwhile (then the slice is let go). An event deleted since the read is left out:
    /// the deletion took its rows out of the lists only up to their watermarks.
    static func write(_ slice: Slice, _ rows: [SliceRow], now: Timestamp, _ db: Database) throws {
        guard try Int64.fetchOne(db, sql: "SELECT through_event_id FROM report_steps WHERE id = ? AND dropped = 0", arguments: [slice.list]) == slice.from
        else { return }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO report_step_events (step_id, profile_id, timestamp, event_id, value)
            SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM events WHERE id = ?)
            """)
        for row in rows {
            try insert.execute(arguments: [slice.list, row.profile, row.timestamp, row.event, row.value, row.event])
        }
        try db.execute(
            sql: "UPDATE report_steps SET through_event_id = ?, built_at = coalesce(built_at, CASE WHEN ? >= ? THEN ? END) WHERE id = ?",
            arguments: [slice.through, slice.through, slice.top, now.milliseconds, slice.list])
    }

    /// Builds and catches up every list now (the CLI's funnel, tests).
    public static func catchUp(_ database: AppDatabase, now: Timestamp) async throws {
        while try await step(database, now: now) {}
    }

    /// Before events matching `condition` are deleted: their rows come out of the lists that hold them.
    static func forget(eventsWhere condition: String, arguments: StatementArguments, _ db: Database) throws {
        try db.execute(
            sql: """
                DELETE FROM report_step_events WHERE (step_id, profile_id, timestamp, event_id) IN (
                    SELECT s.id, e.profile_id, e.timestamp, e.id
                    FROM (SELECT id, name_id, profile_id, timestamp FROM events WHERE \(condition)) AS e
                    JOIN report_steps s ON s.name_id = e.name_id AND e.id <= s.through_event_id)
                """, arguments: arguments)
    }

    /// After events were deleted: watermarks above the log's new top come down to it (SQLite may hand a
    /// deleted top id out again).
    static func lowerWatermarks(_ db: Database) throws {
        try db.execute(sql: "UPDATE report_steps SET through_event_id = min(through_event_id, (SELECT coalesce(max(id), 0) FROM events))")
    }

    /// Drops the lists no funnel has read for 30 days (their rows go in the background, a batch per
    /// slice); returns how many.
    @discardableResult
    public static func pruneUnused(_ database: AppDatabase, now: Timestamp) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: "UPDATE report_steps SET dropped = 1 WHERE dropped = 0 AND last_used_at < ?", arguments: [now.milliseconds - keepUnused])
            return db.changesCount
        }
    }

    /// The per-name partial indexes of the first funnel design (0011), dropped once, by migration 0013.
    public static func dropLegacyIndexes(_ db: Database) throws {
        let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name GLOB 'funnel_of_name_*'")
        for name in names { try db.execute(sql: "DROP INDEX \"\(name)\"") }
    }
}
