import GRDB

/// A funnel step's list: the events of one name in profile and time order, with the grouping property's
/// value when the funnel groups — the rows of `report_step_events` under one `report_steps` row.
///
/// Built on first use, but never in one go: a list is filled from the event log in slices of
/// `sliceEvents` event ids, each its own short write transaction, so ingest waits a few milliseconds at
/// most while a list is built (one CREATE INDEX over the log held the writer for seconds). Until a list has
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
    /// Event ids one slice reads from the log (a rowid range: ~5-10 ms on the reference set).
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
    @discardableResult
    public static func step(_ database: AppDatabase, now: Timestamp) async throws -> Bool {
        try await database.write { db in try step(db, now: now) }
    }

    static func step(_ db: Database, now: Timestamp) throws -> Bool {
        if let dropped = try Int64.fetchOne(db, sql: "SELECT id FROM report_steps WHERE dropped = 1 LIMIT 1") {
            try db.execute(
                sql: """
                    DELETE FROM report_step_events WHERE step_id = ?1 AND profile_id <= (
                        SELECT max(profile_id) FROM (SELECT profile_id FROM report_step_events WHERE step_id = ?1 ORDER BY profile_id LIMIT 20000))
                    """, arguments: [dropped])
            if db.changesCount == 0 { try db.execute(sql: "DELETE FROM report_steps WHERE id = ?", arguments: [dropped]) }
            return true
        }
        let top = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0
        guard let row = try Row.fetchOne(
            db, sql: """
                SELECT id, name_id, path, through_event_id FROM report_steps WHERE dropped = 0 AND through_event_id < ?
                ORDER BY built_at IS NOT NULL, through_event_id LIMIT 1
                """, arguments: [top])
        else { return false }
        let (id, nameID, path, from): (Int64, Int64, String, Int64) = (row[0], row[1], row[2], row[3])
        let through = min(top, from + sliceEvents)
        try db.execute(sql: sliceSQL(grouped: !path.isEmpty), arguments: path.isEmpty ? [id, from, through, nameID] : [id, path, from, through, nameID])
        try db.execute(
            sql: "UPDATE report_steps SET through_event_id = ?, built_at = coalesce(built_at, CASE WHEN ? >= ? THEN ? END) WHERE id = ?",
            arguments: [through, through, top, now.milliseconds, id])
        return true
    }

    /// One slice: a range of event ids, read by rowid (no index over the log is needed or built).
    static func sliceSQL(grouped: Bool) -> String {
        """
        INSERT INTO report_step_events (step_id, profile_id, timestamp, event_id, value)
        SELECT ?, profile_id, timestamp, id, \(grouped ? "json_extract(properties, ?)" : "NULL")
        FROM events WHERE id > ? AND id <= ? AND name_id = ?
        """
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
