import GRDB
import Logging
import Synchronization

/// Keeps materialized membership current (contract §6): builds new segment versions, re-checks the profiles
/// ingest touched, and re-evaluates time-window segments on a timer. Every step is one write
/// transaction through the one writer, so a step sees a consistent database and a crash leaves either
/// all of a step or none of it; what is still to do stays in SQLite (`membership_dirty`, the event log
/// past the 'membership' watermark, segments whose `built_version` trails `version`).
public final class MembershipEvaluator: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    /// How often segments with time windows are fully re-evaluated (contract §6: 60 s by default).
    public let windowRefresh: Duration
    /// Events and dirty rows one incremental step takes on.
    public let eventsPerStep: Int64
    public let dirtyPerStep: Int
    /// Past this many events or dirty rows behind, a full re-evaluation is cheaper than touched ones.
    public let fullRefreshThreshold: Int64
    let logger: Logger
    /// No index of an earlier shape is left (`SegmentIndex.outdated`): only an earlier version made them, so
    /// once they are gone a step no longer looks for them.
    private let outdatedGone = Atomic<Bool>(false)

    static let watermarkName = "membership"

    public init(database: AppDatabase, clock: TroveClock = .system, windowRefresh: Duration = .seconds(60), eventsPerStep: Int64 = 50_000,
                dirtyPerStep: Int = 10_000, fullRefreshThreshold: Int64 = 250_000, logger: Logger = Logger(label: "trove.membership")) {
        self.database = database
        self.clock = clock
        self.windowRefresh = windowRefresh
        self.eventsPerStep = eventsPerStep
        self.dirtyPerStep = dirtyPerStep
        self.fullRefreshThreshold = fullRefreshThreshold
        self.logger = logger
    }

    /// What one step did.
    public struct StepResult: Sendable, Equatable {
        /// An index a pending build needs, or one to make again in the current shape, made in a step of its own
        /// (`MembershipEvaluator.makeMissingIndex`).
        public var indexed: [String] = []
        public var built: [Int64] = []
        public var refreshed: [Int64] = []
        public var touchedProfiles = 0
        public var entered = 0
        public var exited = 0
        /// Work was left for the next step (a batch limit was reached, or a build is done and others may wait).
        public var more = false
        public var didWork: Bool { !indexed.isEmpty || !built.isEmpty || !refreshed.isEmpty || touchedProfiles > 0 }
        /// What the step did, for a log line.
        public var summary: String {
            var parts: [String] = []
            if !indexed.isEmpty { parts.append("made index \(indexed.joined(separator: ", "))") }
            if !built.isEmpty { parts.append("built segments \(built.map(String.init).joined(separator: ", "))") }
            if !refreshed.isEmpty { parts.append("refreshed segments \(refreshed.map(String.init).joined(separator: ", "))") }
            if touchedProfiles > 0 { parts.append("re-checked \(touchedProfiles) touched profiles") }
            parts.append("\(entered) entered, \(exited) exited")
            return parts.joined(separator: "; ")
        }

        public init() {}
    }

    /// One unit of work: a pending build, else a batch of touched profiles, else due timer refreshes.
    /// Looks on a reader first, so an idle evaluator never takes the writer.
    @discardableResult
    public func step() async throws -> StepResult {
        let now = clock.now()
        let refreshBefore = now.milliseconds - Int64(windowRefresh.components.seconds * 1000)
        let looksForOutdated = !outdatedGone.load(ordering: .relaxed)
        let (hasWork, building, outdated, unbuilt) = try await database.pool.read { db in
            (try Self.hasWork(db, refreshBefore: refreshBefore), try Row.fetchOne(db, sql: Self.pendingBuildSQL) != nil,
             try looksForOutdated && !SegmentIndex.outdated(db).isEmpty, try EventRecency.unbuilt(db).first)
        }
        if looksForOutdated && !outdated { outdatedGone.store(true, ordering: .relaxed) }
        guard hasWork || outdated || unbuilt != nil else { return StepResult() }
        let started = TroveMetrics.now()
        if building || outdated, let index = try await makeMissingIndex(now: now) {
            TroveMetrics.segmentEvaluation(kind: "index", nanoseconds: TroveMetrics.now() - started)
            var result = StepResult()
            result.indexed = [index]
            result.more = true
            return result
        }
        if !building, let name = unbuilt, let built = try await buildLatestTimes(name: name) {
            TroveMetrics.segmentEvaluation(kind: "index", nanoseconds: TroveMetrics.now() - started)
            var result = StepResult()
            result.indexed = [built]
            result.more = true
            return result
        }
        let result = try await database.pool.write { db in
            let ledgerID = try SegmentChangeOutbox.lastLedgerID(db)
            let result = try self.work(now: now, refreshBefore: refreshBefore, db: db)
            if result.entered + result.exited > 0 { try SegmentChangeOutbox.enqueue(db, after: ledgerID, now: now) }
            return result
        }
        if result.didWork {
            let kind = !result.built.isEmpty ? "build" : !result.refreshed.isEmpty ? "refresh" : "touched"
            TroveMetrics.segmentEvaluation(kind: kind, nanoseconds: TroveMetrics.now() - started)
        }
        return result
    }

    /// The step's work, in the caller's write transaction.
    func work(now: Timestamp, refreshBefore: Int64, db: Database) throws -> StepResult {
        var result = StepResult()
        try Self.prepareTemporaryTables(db)
        if let pending = try Row.fetchOne(db, sql: Self.pendingBuildSQL) {
            let change = try Self.evaluateFully(segment: pending[0], account: pending[1], now: now, db: db, build: true)
            try SegmentIndex.reconcile(db, now: now)  // the indexes of the version it replaced
            result.built = [pending[0]]
            result.more = true
            result.entered = change.entered
            result.exited = change.exited
            return result
        }
        if try self.evaluateTouched(now: now, db: db, result: &result) { return result }
        let due = try Row.fetchAll(
            db, sql: """
                SELECT id, account_id FROM segments WHERE kind = 'dynamic' AND windowed = 1 AND built_version >= version
                AND (refreshed_at IS NULL OR refreshed_at <= ?) ORDER BY id
                """, arguments: [refreshBefore])
        for row in due {
            let change = try Self.evaluateFully(segment: row[0], account: row[1], now: now, db: db, build: false)
            result.refreshed.append(row[0])
            result.entered += change.entered
            result.exited += change.exited
        }
        return result
    }

    /// Nothing is due while no dynamic segment exists: marks and the event log simply wait, and the first
    /// build reads everything anyway (so ingest without segments pays nothing for the evaluator).
    static func hasWork(_ db: Database, refreshBefore: Int64) throws -> Bool {
        try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM segments WHERE kind = 'dynamic') AND ((SELECT through_event_id FROM event_rollups WHERE name = 'membership') <> (SELECT coalesce(max(id), 0) FROM events)
                OR EXISTS (SELECT 1 FROM membership_dirty)
                OR EXISTS (SELECT 1 FROM segments WHERE kind = 'dynamic' AND (built_version < version
                           OR (windowed = 1 AND (refreshed_at IS NULL OR refreshed_at <= ?)))))
            """, arguments: [refreshBefore]) ?? false
    }

    /// Drops segment indexes no dynamic segment needs (at start: left by an earlier version, or by a
    /// segment deleted while the index was in use). Builds and deletes do the same as they go.
    public func dropUnusedIndexes() async throws -> [String] {
        let now = clock.now()
        return try await database.pool.write { db in try SegmentIndex.reconcile(db, now: now) }
    }

    /// Steps until nothing is left (tests, the CLI, benchmarks).

    // MARK: Touched profiles

    /// Re-checks profiles touched by events past the watermark and by dirty profile/company rows.
    /// Returns false when there was nothing to look at.
    func evaluateTouched(now: Timestamp, db: Database, result: inout StepResult) throws -> Bool {
        let watermark = try Int64.fetchOne(db, sql: "SELECT through_event_id FROM event_rollups WHERE name = ?", arguments: [Self.watermarkName]) ?? 0
        let lastEvent = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0
        let dirtyBacklog = try Int64.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM membership_dirty LIMIT ?)", arguments: [fullRefreshThreshold + 1]) ?? 0
        if lastEvent <= watermark && dirtyBacklog == 0 {
            if lastEvent < watermark { try setWatermark(lastEvent, db) }  // events were erased
            return false
        }
        let segments = try Row.fetchAll(db, sql: "SELECT id, account_id FROM segments WHERE kind = 'dynamic' AND built_version >= version ORDER BY id")
            .map { (id: $0[0] as Int64, account: $0[1] as Int64) }

        if segments.isEmpty {
            // Nothing to keep current: a later build reads everything anyway.
            try db.execute(sql: "DELETE FROM membership_dirty")
            try moveWatermark(to: lastEvent, db)
            result.touchedProfiles = max(1, Int(lastEvent - watermark))
            return true
        }
        if lastEvent - watermark > fullRefreshThreshold || dirtyBacklog > fullRefreshThreshold {
            // A bulk import landed: one full pass per segment beats re-checking most profiles piecemeal.
            try moveWatermark(to: lastEvent, db)
            for s in segments {
                let change = try Self.evaluateFully(segment: s.id, account: s.account, now: now, db: db, build: false)
                result.refreshed.append(s.id)
                result.entered += change.entered
                result.exited += change.exited
            }
            try db.execute(sql: "DELETE FROM membership_dirty")
            result.touchedProfiles = max(1, Int(lastEvent - watermark))
            return true
        }

        let upTo = min(lastEvent, watermark + eventsPerStep)
        result.more = upTo < lastEvent
        try db.execute(sql: "DELETE FROM temp.membership_touched")
        try db.execute(
            sql: "INSERT OR IGNORE INTO temp.membership_touched (profile_id) SELECT profile_id FROM events WHERE id > ? AND id <= ?",
            arguments: [watermark, upTo])
        // The marks this step takes, then set-based: their profiles, every profile of their companies.
        try db.execute(sql: "DELETE FROM temp.membership_taken")
        try db.execute(sql: "INSERT INTO temp.membership_taken (kind, object_id) SELECT kind, object_id FROM membership_dirty LIMIT ?", arguments: [dirtyPerStep])
        if db.changesCount == dirtyPerStep { result.more = true }
        try db.execute(sql: """
            INSERT OR IGNORE INTO temp.membership_touched (profile_id) SELECT object_id FROM temp.membership_taken WHERE kind = 0;
            INSERT OR IGNORE INTO temp.membership_touched (profile_id)
                SELECT p.id FROM profiles p WHERE p.company_id IN (SELECT object_id FROM temp.membership_taken WHERE kind = 1);
            DELETE FROM membership_dirty WHERE (kind, object_id) IN (SELECT kind, object_id FROM temp.membership_taken);
            """)
        try moveWatermark(to: upTo, db)
        result.touchedProfiles = try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.membership_touched") ?? 0
        if result.touchedProfiles == 0 { return true }
        for s in segments {
            let change = try Self.evaluateTouched(segment: s.id, account: s.account, now: now, db: db)
            result.entered += change.entered
            result.exited += change.exited
        }
        return true
    }

    /// Moves the watermark forward to event `to`, and the latest times of the names kept with it.
    func moveWatermark(to: Int64, _ db: Database) throws {
        try EventRecency.catchUp(through: to, db)
        try setWatermark(to, db)
    }

    func setWatermark(_ id: Int64, _ db: Database) throws {
        try db.execute(sql: "UPDATE event_rollups SET through_event_id = ? WHERE name = ?", arguments: [id, Self.watermarkName])
    }

    // MARK: Evaluation

    struct Change { var entered = 0; var exited = 0 }

    static func prepareTemporaryTables(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TEMP TABLE IF NOT EXISTS membership_touched (profile_id INTEGER PRIMARY KEY);
            CREATE TEMP TABLE IF NOT EXISTS membership_matched (profile_id INTEGER PRIMARY KEY);
            CREATE TEMP TABLE IF NOT EXISTS membership_taken (kind INTEGER NOT NULL, object_id INTEGER NOT NULL, PRIMARY KEY (kind, object_id));
            """)
    }

    /// The condition for re-checking single profiles: every event condition counted per profile.
    static func compiledPerProfile(segment id: Int64, account: Int64, now: Timestamp, db: Database) throws -> (Segment, SegmentCompiler.Output)? {
        guard let segment = try Segment.fetch(db, account: account, id: id), let filter = try segment.filter() else { return nil }
        return (segment, try SegmentCompiler.over(db, account: account, now: now, perProfile: true, createsIndexes: true).compile(filter, segment: id))
    }

    /// The statement selecting `columns` from a dynamic segment's members as of `now` (nil: manual or gone).
    /// `createsIndexes`: the caller ensures the output's indexes before running it.
    static func membersQuery(segment id: Int64, account: Int64, now: Timestamp, db: Database, columns: String, createsIndexes: Bool = false,
                             registersNames: Bool = false) throws -> (Segment, SegmentCompiler.MembersQuery)?
    {
        guard let segment = try Segment.fetch(db, account: account, id: id), let filter = try segment.filter() else { return nil }
        let compiler = SegmentCompiler.over(db, account: account, now: now, createsIndexes: createsIndexes, registersNames: registersNames)
        return (segment, try compiler.membersQuery(filter, segment: id, columns: columns))
    }

    /// Makes the first index (by name) the first pending build needs and does not have yet, else the first
    /// index of an earlier shape (`SegmentIndex.outdated`, left by an earlier version) in the current one;
    /// returns its name (nil: none). A build makes them one per step, each in a write transaction of its own
    /// with the sort in helper threads (`SegmentIndex.sortingInThreads`), before the step that evaluates: at
    /// 10× the reference set its two indexes held the writer ~50 s together, and ingest now commits between
    /// them.
    func makeMissingIndex(now: Timestamp) async throws -> String? {
        try await database.pool.writeWithoutTransaction { db in
            try SegmentIndex.sortingInThreads(db) {
                var made: String?
                try db.inTransaction(.immediate) {
                    let pending = try Row.fetchOne(db, sql: Self.pendingBuildSQL)
                    if let index = try pending.flatMap({ try Self.missingIndex(segment: $0[0], account: $0[1], now: now, db: db) })
                        ?? SegmentIndex.outdated(db).first {
                        try SegmentIndex.ensure([index], db)
                        made = index.name
                    }
                    return .commit
                }
                return made
            }
        }
    }

    /// Builds name `name`'s latest times (`EventRecency.build`) in a write transaction of its own, with the
    /// sort of their indexes in helper threads, once no build is pending: the membership is there first, and
    /// evaluations use them from then on. At 10× the reference set, ~11 s for "Completed Tour"'s 3.6M
    /// profiles. Returns what it built (nil: the name's index went, or its rows were built meanwhile).
    func buildLatestTimes(name: Int64) async throws -> String? {
        try await database.pool.writeWithoutTransaction { db in
            try SegmentIndex.sortingInThreads(db) {
                var built: String?
                try db.inTransaction(.immediate) {
                    if try EventRecency.unbuilt(db).contains(name) {
                        try EventRecency.build(name: name, db)
                        built = "event_recency of name \(name)"
                    }
                    return .commit
                }
                return built
            }
        }
    }

    static let pendingBuildSQL = "SELECT id, account_id FROM segments WHERE kind = 'dynamic' AND built_version < version ORDER BY id LIMIT 1"

    /// The first index (by name) the build of segment `id` needs that is not there yet.
    static func missingIndex(segment id: Int64, account: Int64, now: Timestamp, db: Database) throws -> SegmentIndex? {
        guard let (_, members) = try membersQuery(segment: id, account: account, now: now, db: db, columns: "p.id", createsIndexes: true,
                                                  registersNames: true) else { return nil }
        let existing = try SegmentIndex.currentNames(db)
        return members.output.indexes.sorted { $0.name < $1.name }.first { !existing.contains($0.name) }
    }

    /// Evaluates the whole segment, diffs it against the stored membership, and records the changes;
    /// a build also makes the new version current, in the same transaction (the atomic swap).
    static func evaluateFully(segment id: Int64, account: Int64, now: Timestamp, db: Database, build: Bool) throws -> Change {
        guard var (segment, members) = try membersQuery(segment: id, account: account, now: now, db: db, columns: "p.id", createsIndexes: true,
                                                        registersNames: build) else {
            return Change()
        }
        if try SegmentIndex.ensure(members.output.indexes, db) > 0 {
            // Compiled again now that its indexes exist: the compiler counts candidates through them.
            (segment, members) = try membersQuery(segment: id, account: account, now: now, db: db, columns: "p.id", createsIndexes: true)!
        }
        let output = members.output
        try db.execute(sql: "DELETE FROM temp.membership_matched")
        let insert = try members.resolved(db).statement(insertingInto: "temp.membership_matched")
        try db.cachedStatement(sql: insert.sql).execute(arguments: insert.statementArguments)
        let version = build ? segment.version : segment.builtVersion
        var change = Change()
        change.entered = try recordEntries(segment: id, at: now, version: version, db)
        try db.execute(
            sql: """
                INSERT INTO segment_changes (segment_id, profile_id, entered, at, version)
                SELECT ?1, s.profile_id, 0, ?2, ?3 FROM segment_members s
                WHERE s.segment_id = ?1 AND s.profile_id NOT IN (SELECT profile_id FROM temp.membership_matched)
                """, arguments: [id, now.milliseconds, version])
        change.exited = db.changesCount
        try db.execute(
            sql: "DELETE FROM segment_members WHERE segment_id = ?1 AND profile_id NOT IN (SELECT profile_id FROM temp.membership_matched)",
            arguments: [id])
        try db.execute(
            sql: """
                UPDATE segments SET member_count = (SELECT count(*) FROM temp.membership_matched), computed_at = ?2, refreshed_at = ?2,
                    windowed = ?3, built_version = CASE WHEN ?4 THEN ?5 ELSE built_version END
                WHERE id = ?1
                """, arguments: [id, now.milliseconds, output.windowed, build, segment.version])
        return change
    }

    /// Ledger rows and membership for the profiles in `temp.membership_matched` that were not members.
    static func recordEntries(segment id: Int64, at now: Timestamp, version: Int64, _ db: Database) throws -> Int {
        try db.execute(
            sql: """
                INSERT INTO segment_changes (segment_id, profile_id, entered, at, version)
                SELECT ?1, m.profile_id, 1, ?2, ?3 FROM temp.membership_matched m
                WHERE NOT EXISTS (SELECT 1 FROM segment_members s WHERE s.segment_id = ?1 AND s.profile_id = m.profile_id)
                ORDER BY m.profile_id
                """, arguments: [id, now.milliseconds, version])
        let entered = db.changesCount
        try db.execute(
            sql: "INSERT INTO segment_members (segment_id, profile_id) SELECT ?, profile_id FROM temp.membership_matched WHERE true ON CONFLICT DO NOTHING",
            arguments: [id])
        return entered
    }

    /// Re-checks only the profiles in `temp.membership_touched`.
    static func evaluateTouched(segment id: Int64, account: Int64, now: Timestamp, db: Database) throws -> Change {
        guard let (segment, output) = try compiledPerProfile(segment: id, account: account, now: now, db: db) else { return Change() }
        try SegmentIndex.ensure(output.indexes, db)  // an event name first seen since the build
        try db.execute(sql: "DELETE FROM temp.membership_matched")
        // Profiles by rowid only (NOT INDEXED still allows rowid lookups). A `CROSS JOIN` from the touched
        // table let SQLite 3.40.1 pick a property index plus a Bloom filter and return no rows for a
        // matching profile (see PeoplePageTests.aTouchedProfileStaysInItsSegment).
        let select = SQLFragment("""
            INSERT INTO temp.membership_matched (profile_id) SELECT p.id FROM profiles p NOT INDEXED
            WHERE p.id IN (SELECT profile_id FROM temp.membership_touched) AND p.account_id = ? AND p.disabled = 0 AND (
            """, [account.sqlValue]) + output.condition + SQLFragment(")")
        try db.cachedStatement(sql: select.sql).execute(arguments: select.statementArguments)
        var change = Change()
        change.entered = try recordEntries(segment: id, at: now, version: segment.builtVersion, db)
        try db.execute(
            sql: """
                INSERT INTO segment_changes (segment_id, profile_id, entered, at, version)
                SELECT ?1, t.profile_id, 0, ?2, ?3 FROM temp.membership_touched t
                WHERE EXISTS (SELECT 1 FROM segment_members s WHERE s.segment_id = ?1 AND s.profile_id = t.profile_id)
                  AND t.profile_id NOT IN (SELECT profile_id FROM temp.membership_matched)
                ORDER BY t.profile_id
                """, arguments: [id, now.milliseconds, segment.builtVersion])
        change.exited = db.changesCount
        if change.exited > 0 {
            try db.execute(
                sql: """
                    DELETE FROM segment_members WHERE segment_id = ?1 AND profile_id IN (SELECT profile_id FROM temp.membership_touched)
                      AND profile_id NOT IN (SELECT profile_id FROM temp.membership_matched)
                    """, arguments: [id])
        }
        try db.execute(
            sql: "UPDATE segments SET member_count = member_count + ?2, computed_at = ?3 WHERE id = ?1",
            arguments: [id, change.entered - change.exited, now.milliseconds])
        return change
    }
}
