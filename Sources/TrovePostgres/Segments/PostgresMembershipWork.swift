import Logging
import PostgresNIO
import TroveCore

/// Keeps materialized membership current on PostgreSQL (contract §6), as `MembershipEvaluator` does on
/// SQLite: builds new segment versions, re-checks the profiles ingest marked (`membership_marks`, written
/// in the ingest transaction: no event watermark; folded into `membership_dirty` here), and re-evaluates
/// time-window segments on a timer.
///
/// Work goes account by account, each account's claimed by one node at a time (`PostgresNode`). Each unit
/// is one transaction holding the account's ledger lock (`PostgresLedger.lock`), so ledger ids of one
/// account are handed out in commit order — a reader following `changes?since=` never skips a row that
/// commits later with a smaller id. Each evaluation is one statement: the members selected, membership
/// inserted and deleted, and the ledger written, by data-modifying CTEs over one snapshot.
public final class PostgresMembershipWork: MembershipWork {
    public let database: PostgresAppDatabase
    public let clock: TroveClock
    public let windowRefresh: Duration
    public let dirtyPerStep: Int
    /// Past this many marks behind, one full pass per segment beats re-checking most profiles piecemeal.
    public let fullRefreshThreshold: Int
    let logger: Logger

    public init(database: PostgresAppDatabase, clock: TroveClock = .system, windowRefresh: Duration = .seconds(60), dirtyPerStep: Int = 10_000,
                fullRefreshThreshold: Int = 250_000, logger: Logger = Logger(label: "trove.membership")) {
        self.database = database
        self.clock = clock
        self.windowRefresh = windowRefresh
        self.dirtyPerStep = dirtyPerStep
        self.fullRefreshThreshold = fullRefreshThreshold
        self.logger = logger
    }

    var indexes: PostgresSegmentIndexes { PostgresSegmentIndexes(database: database) }

    /// The claim (`work_claims.kind`) an account's membership work is done under.
    static let claimKind = "membership"

    @discardableResult
    public func step() async throws -> MembershipEvaluator.StepResult {
        let now = clock.now()
        let refreshBefore = now.milliseconds - Int64(windowRefresh.components.seconds * 1000)
        // Accounts with marks to take or segments to build or refresh (the reference table drives; every
        // subquery reaches a distributed table through its account).
        let accounts = try await database.query(
            """
            SELECT a.id, EXISTS (SELECT 1 FROM segments s WHERE s.account_id = a.id AND s.kind = 'dynamic') FROM accounts a
            WHERE EXISTS (SELECT 1 FROM membership_dirty d WHERE d.account_id = a.id)
               OR EXISTS (SELECT 1 FROM membership_marks k WHERE k.account_id = a.id)
               OR EXISTS (SELECT 1 FROM segments s WHERE s.account_id = a.id AND s.kind = 'dynamic' AND (s.built_version < s.version
                          OR (s.windowed AND (s.refreshed_at IS NULL OR s.refreshed_at <= \(refreshBefore)))))
            ORDER BY a.id
            """)
        let pending = try accounts.map { try $0.decode((Int64, Bool).self) }
        // An account's work is one node's at a time (several Trove nodes on this database): the others skip it.
        let mine = try await database.claim(Self.claimKind, pending.map(\.0))
        var result = MembershipEvaluator.StepResult()
        for (account, dynamic) in pending where mine.contains(account) {
            let started = TroveMetrics.now()
            let done = try await step(account: account, dynamic: dynamic, now: now, refreshBefore: refreshBefore)
            if done.didWork {
                let kind = !done.built.isEmpty ? "build" : !done.refreshed.isEmpty ? "refresh" : "touched"
                TroveMetrics.segmentEvaluation(kind: kind, nanoseconds: TroveMetrics.now() - started)
            }
            result.built += done.built
            result.refreshed += done.refreshed
            result.touchedProfiles += done.touchedProfiles
            result.entered += done.entered
            result.exited += done.exited
            result.more = result.more || done.more
        }
        return result
    }

    /// One account's unit: a pending build, else a batch of marks, else due timer refreshes.
    func step(account: Int64, dynamic: Bool, now: Timestamp, refreshBefore: Int64) async throws -> MembershipEvaluator.StepResult {
        var result = MembershipEvaluator.StepResult()
        guard dynamic else {
            // Nothing to keep current: a later build reads everything anyway.
            try await database.query("DELETE FROM membership_marks WHERE account_id = \(account)")
            try await database.query("DELETE FROM membership_dirty WHERE account_id = \(account)")
            return result
        }
        try await Self.foldMarks(account: account, database)
        let segments = try await database.query(
            """
            SELECT id, built_version < version FROM segments
            WHERE account_id = \(account) AND kind = 'dynamic' AND (built_version < version
                OR (windowed AND (refreshed_at IS NULL OR refreshed_at <= \(refreshBefore))))
            ORDER BY built_version < version DESC, id
            """
        ).map { try $0.decode((Int64, Bool).self) }
        if let pending = segments.first(where: \.1) {
            let change = try await evaluateFully(account: account, segment: pending.0, now: now, build: true)
            try await indexes.reconcile(now: now)  // the indexes of the version it replaced
            result.built = [pending.0]
            result.more = true
            result.entered = change.entered
            result.exited = change.exited
            return result
        }
        if try await evaluateMarked(account: account, now: now, result: &result) { return result }
        for (id, _) in segments {
            let change = try await evaluateFully(account: account, segment: id, now: now, build: false)
            result.refreshed.append(id)
            result.entered += change.entered
            result.exited += change.exited
        }
        return result
    }

    /// Ingest's mark rows (`membership_marks`, one per transaction) into `membership_dirty`, one row per
    /// profile or company however often it was marked, keeping the earliest time: in one statement, so a
    /// mark is in one table or the other.
    private static func foldMarks(account: Int64, _ database: PostgresAppDatabase) async throws {
        try await database.query(
            """
            WITH taken AS (DELETE FROM membership_marks WHERE account_id = \(account) RETURNING kind, object_ids, marked_at)
            INSERT INTO membership_dirty (account_id, kind, object_id, marked_at)
            SELECT \(account), t.kind, o, min(t.marked_at) FROM taken t, unnest(t.object_ids) AS o
            GROUP BY t.kind, o ORDER BY t.kind, o
            ON CONFLICT DO NOTHING
            """)
    }

    public func dropUnusedIndexes() async throws -> [String] {
        try await indexes.reconcile(now: clock.now())
    }

    // MARK: Evaluation

    struct Change { var entered = 0; var exited = 0 }

    /// The whole segment evaluated, diffed against its membership, the changes recorded; a build also makes
    /// the new version current, in the same transaction (the atomic swap). Its indexes are built first,
    /// outside the transaction.
    func evaluateFully(account: Int64, segment id: Int64, now: Timestamp, build: Bool) async throws -> Change {
        let run: PostgresCompiling.Run = { try await self.database.query($0) }
        let segments = try await PostgresCompiling.segments(account: account, run)
        guard let segment = segments.first(where: { $0.id == id }), let filter = try segment.filter() else { return Change() }
        let compiler = try await PostgresCompiling.compiler(for: filter, segment: id, account: account, now: now, segments: segments,
                                                            createsIndexes: true, run)
        try await indexes.ensure(try compiler.compile(filter, segment: id).indexes)
        return try await database.transaction { connection in
            let run = connection.collecting(self.logger)
            let ledgerID = try await PostgresLedger.lock(account: account, run)
            // As it stands now, locked: a definition changed meanwhile is built as changed.
            let segments = try await run(
                "SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) ORDER BY s.id FOR SHARE"
            ).map(PostgresRows.segment)
            guard let segment = segments.first(where: { $0.id == id }), let filter = try segment.filter() else { return Change() }
            let compiler = try await PostgresCompiling.compiler(for: filter, segment: id, account: account, now: now, segments: segments, run)
            let members = try compiler.membersQuery(filter, segment: id, columns: "p.id")
            let version = build ? segment.version : segment.builtVersion
            let (change, count) = try await Self.apply(account: account, segment: id, matched: members.select, within: nil, at: now,
                                                       version: version, run)
            _ = try await run(
                """
                UPDATE segments SET member_count = \(count), computed_at = \(now.milliseconds), refreshed_at = \(now.milliseconds),
                    windowed = \(members.output.windowed), built_version = \(build ? segment.version : segment.builtVersion)
                WHERE account_id = \(account) AND id = \(id)
                """)
            if change.entered + change.exited > 0 { try await PostgresSegmentChangeOutbox.enqueue(account: account, after: ledgerID, now: now, run) }
            return change
        }
    }

    /// Takes a batch of the account's marks and re-checks their profiles (and every profile of a marked
    /// company) in each built segment. False when there were no marks.
    func evaluateMarked(account: Int64, now: Timestamp, result: inout MembershipEvaluator.StepResult) async throws -> Bool {
        let backlog = try await database.query(
            "SELECT count(*) FROM (SELECT 1 FROM membership_dirty WHERE account_id = \(account) LIMIT \(fullRefreshThreshold + 1)) d"
        )[0].decode(Int.self)
        if backlog == 0 { return false }
        let built = try await database.query(
            "SELECT id FROM segments WHERE account_id = \(account) AND kind = 'dynamic' AND built_version >= version ORDER BY id"
        ).map { try $0.decode(Int64.self) }
        if backlog > fullRefreshThreshold {
            // A bulk import landed: one full pass per segment, each seeing every mark taken here.
            try await database.query("DELETE FROM membership_dirty WHERE account_id = \(account)")
            for id in built {
                let change = try await evaluateFully(account: account, segment: id, now: now, build: false)
                result.refreshed.append(id)
                result.entered += change.entered
                result.exited += change.exited
            }
            result.touchedProfiles = backlog
            return true
        }
        let perStep = dirtyPerStep
        let (change, touched, more) = try await database.transaction { connection in
            let run = connection.collecting(self.logger)
            let ledgerID = try await PostgresLedger.lock(account: account, run)
            // Taken (locked), then deleted by their keys as arrays: one statement that deleted `IN (SELECT …
            // LIMIT … FOR UPDATE SKIP LOCKED)` was planned, while the table's statistics still said it was
            // nearly empty, to run the subquery again for each row — 96k marks kept the evaluator in one
            // statement for minutes (`trove bench segments`, freshness phase).
            let taken = try await run(
                """
                SELECT kind, object_id FROM membership_dirty WHERE account_id = \(account) ORDER BY kind, object_id LIMIT \(perStep)
                FOR UPDATE SKIP LOCKED
                """
            ).map { try $0.decode((Int16, Int64).self) }
            var profiles = Set(taken.filter { $0.0 == 0 }.map(\.1))
            let companies = taken.filter { $0.0 == 1 }.map(\.1)
            for (kind, ids) in [(MembershipDirtyKind.profile, profiles.sorted()), (MembershipDirtyKind.company, companies)] where !ids.isEmpty {
                _ = try await run(
                    """
                    DELETE FROM membership_dirty WHERE account_id = \(account) AND kind = \(Int16(kind.rawValue)) AND object_id = ANY(\(ids)::bigint[])
                    """)
            }
            if !companies.isEmpty {
                for row in try await run("SELECT id FROM profiles WHERE account_id = \(account) AND company_id = ANY(\(companies))") {
                    profiles.insert(try row.decode(Int64.self))
                }
            }
            var change = Change()
            guard !profiles.isEmpty else { return (change, 0, taken.count == perStep) }
            let touched = BigintArray.literal(profiles.sorted())
            let segments = try await run(
                "SELECT \(unescaped: PostgresRows.segmentColumns) FROM segments s WHERE s.account_id = \(account) ORDER BY s.id FOR SHARE"
            ).map(PostgresRows.segment)
            for segment in segments where segment.kind == .dynamic && segment.builtVersion >= segment.version {
                guard let filter = try segment.filter() else { continue }
                let compiler = try await PostgresCompiling.compiler(for: filter, segment: segment.id, account: account, now: now, segments: segments,
                                                                    perProfile: true, run)
                let output = try compiler.compile(filter, segment: segment.id)
                let matched = SQLFragment("SELECT p.id FROM profiles p WHERE p.account_id = ? AND p.id = ANY(\(touched)) AND p.disabled = false AND (",
                                          [.integer(account)]) + output.condition + SQLFragment(")")
                let (one, _) = try await Self.apply(account: account, segment: segment.id, matched: matched, within: touched, at: now,
                                                    version: segment.builtVersion, run)
                _ = try await run(
                    """
                    UPDATE segments SET member_count = member_count + \(Int64(one.entered - one.exited)), computed_at = \(now.milliseconds)
                    WHERE account_id = \(account) AND id = \(segment.id)
                    """)
                change.entered += one.entered
                change.exited += one.exited
            }
            if change.entered + change.exited > 0 { try await PostgresSegmentChangeOutbox.enqueue(account: account, after: ledgerID, now: now, run) }
            return (change, profiles.count, taken.count == perStep)
        }
        result.touchedProfiles = max(1, touched)
        result.entered += change.entered
        result.exited += change.exited
        result.more = result.more || more
        return true
    }

    /// Makes the segment's members among `within` (nil: all of them) exactly the rows `matched` selects
    /// (`SELECT p.id …`), writing a ledger row per change — entries first, each kind in profile order —
    /// in one statement. Returns the changes and how many `matched` selected.
    static func apply(account: Int64, segment: Int64, matched: SQLFragment, within: String?, at now: Timestamp, version: Int64,
                      _ run: PostgresCompiling.Run) async throws -> (Change, Int64) {
        let scope = within.map { " AND m.profile_id = ANY(\($0))" } ?? ""
        let statement = SQLFragment("WITH matched(id) AS MATERIALIZED (") + matched + SQLFragment(
            """
            ),
            entered AS (
                INSERT INTO segment_members (account_id, segment_id, profile_id) SELECT ?, ?, id FROM matched
                ON CONFLICT DO NOTHING RETURNING profile_id),
            exited AS (
                DELETE FROM segment_members m WHERE m.account_id = ? AND m.segment_id = ?\(scope)
                AND NOT EXISTS (SELECT 1 FROM matched x WHERE x.id = m.profile_id) RETURNING m.profile_id),
            ledger AS (
                INSERT INTO segment_changes (account_id, segment_id, profile_id, entered, at, version)
                SELECT ?, ?, c.profile_id, c.entered, ?, ? FROM (
                    SELECT profile_id, true AS entered FROM entered UNION ALL SELECT profile_id, false FROM exited) c
                ORDER BY c.entered DESC, c.profile_id
                RETURNING entered)
            SELECT (SELECT count(*) FROM ledger WHERE entered), (SELECT count(*) FROM ledger WHERE NOT entered), (SELECT count(*) FROM matched)
            """, [.integer(account), .integer(segment), .integer(account), .integer(segment), .integer(account), .integer(segment),
                  .integer(now.milliseconds), .integer(version)])
        let (entered, exited, count) = try await run(statement.postgresQuery)[0].decode((Int64, Int64, Int64).self)
        return (Change(entered: Int(entered), exited: Int(exited)), count)
    }
}

/// The order of an account's ledger: every transaction writing `segment_changes` for an account first takes
/// its lock, so the account's ledger ids are handed out in commit order.
enum PostgresLedger {
    /// Takes the lock; returns the account's last ledger id, after which this transaction's rows come.
    @discardableResult
    static func lock(account: Int64, _ run: PostgresCompiling.Run) async throws -> Int64 {
        _ = try await run("SELECT pg_advisory_xact_lock(\(Int32(0x7472)), \(Int32(truncatingIfNeeded: account)))")
        return try await PostgresSegmentChangeOutbox.lastLedgerID(account: account, run)
    }
}
