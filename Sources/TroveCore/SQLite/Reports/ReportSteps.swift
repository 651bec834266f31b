import Foundation
import GRDB

/// A funnel step's list: the events of one name in profile and time order, with the grouping property's
/// value when the funnel groups — a row of `report_step_profiles` per profile (its events packed,
/// `StepEvents`) and the values numbered in `report_step_values`, under one `report_steps` row.
///
/// Built on first use, but never in one go and never holding the writer long. A new list is built from
/// the log up to its `through_event_id` (the log's top when it was registered) in passes over profile
/// ranges: a pass reads the log in short rowid-range reads at the lowest priority, keeps the rows of the
/// lowest profiles past `build_profile` (at most about `Limits.passRows`), sorts them and adds them in the
/// list's key order, so every write transaction appends a few thousand rows at the list's end. (Slices of
/// event ids written as they were read scattered each transaction over the whole list: its pages were
/// written again by every slice, a write cost that grew with the square of the list — 100 ms per slice
/// and 20 s of writer time for one list of the reference set.) Until a list is built the funnel answers
/// `building`. Afterwards slices of event ids keep it current, and a funnel reads it plus the tail of the
/// log past its watermark. Deleting events takes them out of the lists (`WriteSession.deleteEvents`); a
/// list no funnel read for 30 days is dropped, and at most `most` are kept.
public struct ReportStep: Hashable, Sendable {
    public let nameID: Int64
    /// The grouping property's JSON path (`$."tour_id"`), "" when the funnel does not group.
    public let path: String
}

public enum ReportSteps {
    static let keepUnused: Int64 = 30 * 86_400_000
    static let most = 32

    /// How work is cut up.
    public struct Limits: Sendable {
        /// Event ids one read of the log covers (a rowid range).
        var sliceEvents: Int64 = 50_000
        /// Rows a build pass keeps (32 bytes each, twice as many held before a trim; each grouping value
        /// once): a list of more rows takes more passes, each a scan of the whole log, so the passes are
        /// sized to the machine — 1/64 of its memory, at least 2M rows (12.6M with 24 GiB: at 10× the
        /// reference set a tour's list of 12M rows is one scan, not six).
        var passRows = Limits.machinePassRows
        /// Rows one write transaction adds.
        var chunkRows = 1_000
        /// After each read of the log and each write, a rest this many times as long as it took, so a
        /// build takes at most half of the writer and of the spare core — background work paced like
        /// PostgreSQL's vacuum — and the group commits find the writer free. None where nothing else runs
        /// (the CLI, tests).
        var rest = 0.0

        static let machinePassRows = max(2_000_000, Int(ProcessInfo.processInfo.physicalMemory / 64 / UInt64(MemoryLayout<ListRow>.stride)))

        public static let standard = Limits()
        /// In the server: the writer is shared with ingest.
        public static let server = Limits(rest: 1)
    }

    /// Where a funnel's lists stand.
    public enum Readiness: Sendable, Equatable {
        case ready([Int64])
        /// Not all built; `progress` from 0 to 1 over the lists still building.
        case building(progress: Double)
    }

    /// Registers the lists (new ones start empty, to be built up to the log's top now), marks them read
    /// now (at most hourly, to spare the writer), and says whether all are built. `steps` in funnel order;
    /// ids come back in it.
    static func prepare(_ steps: [ReportStep], _ database: AppDatabase, now: Timestamp) async throws -> Readiness {
        struct List: Sendable {
            var id: Int64
            var built: Bool
            var buildProfile: Int64
            var lastUsed: Int64
        }
        let unique = Array(Set(steps))
        let known: @Sendable (Database) throws -> [ReportStep: List] = { db in
            var lists: [ReportStep: List] = [:]
            for step in unique {
                lists[step] = try Row.fetchOne(
                    db, sql: "SELECT id, built_at, build_profile, last_used_at FROM report_steps WHERE name_id = ? AND path = ? AND dropped = 0",
                    arguments: [step.nameID, step.path]
                ).map { List(id: $0[0], built: $0[1] as Int64? != nil, buildProfile: $0[2], lastUsed: $0[3]) }
            }
            return lists
        }
        var lists = try await database.read(known)
        if lists.count < unique.count || lists.values.contains(where: { now.milliseconds - $0.lastUsed >= 3_600_000 }) {
            lists = try await database.write { db in
                for step in unique {
                    try db.execute(
                        sql: """
                            INSERT INTO report_steps (name_id, path, through_event_id, created_at, last_used_at)
                            VALUES (?, ?, (SELECT coalesce(max(id), 0) FROM events), ?, ?)
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
            // Passes go up the profile ids: how far they are is the share of profiles done.
            let top = try await database.read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM profiles") ?? 0 }
            let done = building.reduce(0.0) { $0 + min(1, Double($1.buildProfile) / Double(max(top, 1))) }
            return .building(progress: done / Double(building.count))
        }
        return .ready(steps.map { lists[$0]!.id })
    }

    /// One piece of work: a batch of a dropped list's rows, else a build pass of the oldest list not yet
    /// built, else a slice of the built list furthest behind the log. True if there was something to do,
    /// false when every list is current.
    ///
    /// Reads of the log run on a thread of the lowest priority, off the writer; the writer only adds what
    /// they found, a few thousand rows per transaction, so ingest waits little and the scans take only the
    /// CPU nobody else wants.
    @discardableResult
    public static func step(_ database: AppDatabase, now: Timestamp, limits: Limits = .standard) async throws -> Bool {
        let next = try await database.read { db in try nextWork(db, limits) }
        switch next {
        case .idle: return false
        case .dropped: return try await database.write { db in try deleteDropped(db) }
        case .build(let build): try await run(build, database, now: now, limits: limits)
        case .slice(let slice): try await run(slice, database, limits: limits)
        }
        return true
    }

    enum Work: Sendable {
        case idle, dropped
        case build(Build)
        case slice(Slice)
    }

    /// A list being built: every event of the name up to `through` of the profiles up to `after` is in it.
    struct Build: Sendable {
        var list: Int64
        var nameID: Int64
        var path: String
        var through: Int64
        var after: Int64
        /// The list's count of deletions when the work was chosen (see `insert`).
        var deletions: Int64
    }

    /// A range of event ids to add to a built list.
    struct Slice: Sendable {
        var list: Int64
        var nameID: Int64
        var path: String
        var from: Int64
        var through: Int64
        var deletions: Int64
    }

    static func nextWork(_ db: Database, _ limits: Limits) throws -> Work {
        if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM report_steps WHERE dropped = 1)") == true { return .dropped }
        if let row = try Row.fetchOne(
            db, sql: """
                SELECT id, name_id, path, through_event_id, build_profile, deletions FROM report_steps
                WHERE dropped = 0 AND built_at IS NULL ORDER BY id LIMIT 1
                """)
        {
            return .build(Build(list: row[0], nameID: row[1], path: row[2], through: row[3], after: row[4], deletions: row[5]))
        }
        let top = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0
        guard let row = try Row.fetchOne(
            db, sql: """
                SELECT id, name_id, path, through_event_id, deletions FROM report_steps
                WHERE dropped = 0 AND through_event_id < ? ORDER BY through_event_id LIMIT 1
                """, arguments: [top])
        else { return .idle }
        let from: Int64 = row[3]
        return .slice(Slice(list: row[0], nameID: row[1], path: row[2], from: from, through: min(top, from + limits.sliceEvents), deletions: row[4]))
    }

    /// A batch of a dropped list's rows deleted (its profiles', then its values'), or the list itself once empty.
    static func deleteDropped(_ db: Database) throws -> Bool {
        guard let dropped = try Int64.fetchOne(db, sql: "SELECT id FROM report_steps WHERE dropped = 1 LIMIT 1") else { return true }
        try db.execute(
            sql: """
                DELETE FROM report_step_profiles WHERE step_id = ?1 AND profile_id <= (
                    SELECT max(profile_id) FROM (SELECT profile_id FROM report_step_profiles WHERE step_id = ?1 ORDER BY profile_id LIMIT 20000))
                """, arguments: [dropped])
        guard db.changesCount == 0 else { return true }
        try db.execute(
            sql: """
                DELETE FROM report_step_values WHERE step_id = ?1 AND id <= (
                    SELECT max(id) FROM (SELECT id FROM report_step_values WHERE step_id = ?1 ORDER BY id LIMIT 20000))
                """, arguments: [dropped])
        if db.changesCount == 0 { try db.execute(sql: "DELETE FROM report_steps WHERE id = ?", arguments: [dropped]) }
        return true
    }

    /// A rowid range of the log (`NOT INDEXED`: a segment's index of the name would otherwise be walked
    /// whole for every slice).
    static func readSQL(grouped: Bool) -> String {
        """
        SELECT profile_id, timestamp, id, \(grouped ? "json_extract(properties, ?6)" : "NULL")
        FROM events NOT INDEXED WHERE id >= ?1 AND id <= ?2 AND name_id = ?3 AND profile_id >= ?4 AND profile_id <= ?5
        """
    }

    /// One event, as a list holds it; its grouping value is numbered by the `ListRows` that read it.
    struct ListRow: Sendable {
        var profile: Int64
        var timestamp: Int64
        var event: Int64
        var group: Int32

        /// The list's key order.
        static func precedes(_ a: ListRow, _ b: ListRow) -> Bool {
            (a.profile, a.timestamp, a.event) < (b.profile, b.timestamp, b.event)
        }
    }

    /// Rows read for a list, kept to those of the lowest profiles, about `limit` of them (a profile's rows
    /// are never split). The rows are plain numbers, the grouping values numbered apart, so a million of
    /// them sort without reference counting. Used by one thread at a time (the background reads, then the
    /// writer).
    final class ListRows: @unchecked Sendable {
        let limit: Int
        private(set) var rows: [ListRow] = []
        private(set) var values = FunnelReport.GroupInterner()
        /// Rows of profiles above it are left to a later pass; nil while all read fit.
        private(set) var cutoff: Int64?

        init(limit: Int = .max) { self.limit = max(1, limit) }

        /// The events of a name in a range of event ids, of the profiles past `after` (and up to the cutoff),
        /// read by rowid (no index over the log is needed or built).
        func read(nameID: Int64, path: String, events: ClosedRange<Int64>, after: Int64, _ db: Database) throws {
            let statement = try RawStatement(db, sql: ReportSteps.readSQL(grouped: !path.isEmpty))
            try statement.bind(1, events.lowerBound)
            try statement.bind(2, events.upperBound)
            try statement.bind(3, nameID)
            try statement.bind(4, after + 1)
            try statement.bind(5, cutoff ?? .max)
            if !path.isEmpty { try statement.bind(6, path) }
            while try statement.step(db) {
                rows.append(ListRow(profile: statement.int64(0), timestamp: statement.int64(1), event: statement.int64(2), group: values.id(statement.scalar(3))))
            }
            if rows.count / 2 > limit { trim() }
        }

        /// The rows in key order; true if they are all the pass had left to read (the list's last pass).
        func finish() -> Bool {
            rows.sort(by: ListRow.precedes)
            if rows.count > limit { trim() }
            return cutoff == nil
        }

        private func trim() {
            rows.sort(by: ListRow.precedes)
            let cut = rows[limit - 1].profile
            rows.removeSubrange((rows.firstIndex { $0.profile > cut } ?? rows.count)...)
            cutoff = cut
        }

        /// Ranges of the rows of about `size` rows each, a profile's rows never split; one empty range when
        /// there are no rows.
        func chunks(size: Int) -> [Range<Int>] { ReportSteps.chunks(rows, size: size) }

        /// Rows into a list, a profile's at a time (`StepListRows.add`). With `checked`, each only if its event
        /// is still in the log: the list saw deletions since the rows were read, which took their events out
        /// before these were added (a lookup per row, at random in the log once the rows are in profile order
        /// — so only then). An event already listed is left as it is.
        /// `fresh`: the rows' profiles are new to the list (a build pass's).
        func insert(_ range: Range<Int>, into list: Int64, checked: Bool, fresh: Bool = false, _ db: Database) throws {
            let exists = checked ? try RawStatement(db, sql: "SELECT 1 FROM events WHERE id = ?") : nil
            var lists = StepListRows(db, list: list)
            var events: [StepEvents.Event] = []
            var i = range.lowerBound
            while i < range.upperBound {
                let profile = rows[i].profile
                events.removeAll(keepingCapacity: true)
                while i < range.upperBound, rows[i].profile == profile {
                    let row = rows[i]
                    i += 1
                    if let exists {
                        try exists.bind(1, row.event)
                        if try exists.fetchInt64(db) == nil { continue }
                    }
                    let value = try lists.number(of: values.values[Int(row.group)], key: row.group)
                    events.append(StepEvents.Event(timestamp: row.timestamp, event: row.event, value: value))
                }
                try lists.add(events, profile: profile, fresh: fresh)
            }
            try lists.flush()
        }
    }

    static func chunks(_ rows: [ListRow], size: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        while start < rows.count {
            var end = min(rows.count, start + max(1, size))
            while end < rows.count, rows[end].profile == rows[end - 1].profile { end += 1 }
            ranges.append(start..<end)
            start = end
        }
        return ranges.isEmpty ? [0..<0] : ranges
    }

    // MARK: Building

    /// A build pass: the log up to the list's `through` read a slice at a time, the rows of the lowest
    /// profiles kept, then added in key order a chunk per transaction. The last pass marks the list built.
    static func run(_ build: Build, _ database: AppDatabase, now: Timestamp, limits: Limits) async throws {
        let pass = ListRows(limit: limits.passRows)
        var from: Int64 = 1
        while from <= build.through {
            try Task.checkCancellation()
            let through = min(build.through, from + limits.sliceEvents - 1)
            try await paced(limits) {
                try await database.backgroundRead { [from] db in
                    try pass.read(nameID: build.nameID, path: build.path, events: from...through, after: build.after, db)
                }
            }
            from = through + 1
        }
        let complete = try await paced(limits) { try await database.backgroundWork { pass.finish() } }
        var after = build.after
        for chunk in pass.chunks(size: limits.chunkRows) {
            let finishing = complete && chunk.upperBound == pass.rows.count
            guard try await write(database, limits, { [after] db in try add(chunk, of: pass, to: build, after: after, finishing: finishing, now: now, db) })
            else { return }
            after = pass.rows[chunk].last?.profile ?? after
        }
    }

    /// Rows of a build pass into the list, past `after`'s profile, which moves to the last of them; with
    /// `finishing` the list is built. False if the list moved or was dropped meanwhile (the pass is let go).
    static func add(_ chunk: Range<Int>, of pass: ListRows, to build: Build, after: Int64, finishing: Bool, now: Timestamp, _ db: Database) throws -> Bool {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT build_profile, deletions FROM report_steps WHERE id = ? AND dropped = 0 AND built_at IS NULL", arguments: [build.list]),
            row[0] == after
        else { return false }
        try pass.insert(chunk, into: build.list, checked: row[1] != build.deletions, fresh: true, db)
        try db.execute(
            sql: "UPDATE report_steps SET build_profile = ?, built_at = CASE WHEN ? THEN ? END WHERE id = ?",
            arguments: [pass.rows[chunk].last?.profile ?? after, finishing, now.milliseconds, build.list])
        return true
    }

    /// A write of a chunk, then the rest `limits` ask for (as long as the writer was held, not counting
    /// the wait for it).
    static func write(_ database: AppDatabase, _ limits: Limits, _ work: @escaping @Sendable (Database) throws -> Bool) async throws -> Bool {
        let (done, held) = try await database.write { db in
            let start = ContinuousClock.now
            return (try work(db), ContinuousClock.now - start)
        }
        if limits.rest > 0 { try await Task.sleep(for: held * limits.rest) }
        return done
    }

    /// Background work, then the rest `limits` ask for.
    static func paced<T: Sendable>(_ limits: Limits, _ work: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        let result = try await work()
        if limits.rest > 0 { try await Task.sleep(for: (ContinuousClock.now - start) * limits.rest) }
        return result
    }

    // MARK: Keeping current

    /// A slice of the log into a built list, a chunk per transaction; the last moves the list's watermark
    /// past the slice. If the list moved or was dropped meanwhile, the slice is let go.
    static func run(_ slice: Slice, _ database: AppDatabase, limits: Limits) async throws {
        let rows = ListRows()
        try await paced(limits) {
            try await database.backgroundRead { db in
                try rows.read(nameID: slice.nameID, path: slice.path, events: (slice.from + 1)...slice.through, after: 0, db)
            }
        }
        for chunk in rows.chunks(size: limits.chunkRows) {
            let moving = chunk.upperBound == rows.rows.count
            guard try await write(database, limits, { db in try add(chunk, of: rows, to: slice, moving: moving, db) }) else { return }
        }
    }

    /// Rows of a slice into its list; `moving`: the last of the slice, the watermark moves past it.
    static func add(_ chunk: Range<Int>, of rows: ListRows, to slice: Slice, moving: Bool, _ db: Database) throws -> Bool {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT through_event_id, deletions FROM report_steps WHERE id = ? AND dropped = 0 AND built_at IS NOT NULL", arguments: [slice.list]),
            row[0] == slice.from
        else { return false }
        try rows.insert(chunk, into: slice.list, checked: row[1] != slice.deletions, db)
        if moving {
            try db.execute(sql: "UPDATE report_steps SET through_event_id = ? WHERE id = ?", arguments: [slice.through, slice.list])
        }
        return true
    }

    /// Builds and catches up every list now (the CLI's funnel, tests).
    public static func catchUp(_ database: AppDatabase, now: Timestamp) async throws {
        while try await step(database, now: now) {}
    }

    /// Before events matching `condition` are deleted: they come out of every list of their name — also
    /// out of rows a pass or slice added above the list's watermark and has not finished — a profile's row
    /// at a time.
    static func forget(eventsWhere condition: String, arguments: StatementArguments, _ db: Database) throws {
        let listed = try Row.fetchAll(
            db, sql: """
                SELECT s.id, e.profile_id, e.id
                FROM (SELECT id, name_id, profile_id FROM events WHERE \(condition)) AS e
                JOIN report_steps s ON s.name_id = e.name_id
                ORDER BY s.id, e.profile_id
                """, arguments: arguments
        ).map { (list: $0[0] as Int64, profile: $0[1] as Int64, event: $0[2] as Int64) }
        var i = 0
        while i < listed.count {
            let (list, profile) = (listed[i].list, listed[i].profile)
            var ids = Set<Int64>()
            while i < listed.count, listed[i].list == list, listed[i].profile == profile {
                ids.insert(listed[i].event)
                i += 1
            }
            var rows = StepListRows(db, list: list)
            try rows.remove(ids, profile: profile)
            try rows.flush()
        }
        // Work that read the log before this and adds rows after it checks each row's event (`ListRows.insert`).
        try db.execute(sql: "UPDATE report_steps SET deletions = deletions + 1")
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
