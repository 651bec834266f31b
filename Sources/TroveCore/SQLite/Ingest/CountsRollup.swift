import GRDB

/// Keeps `event_counts` (events per name and UTC hour, contract §11) up to date from the event log, after the
/// fact, under a watermark of its own ('counts'): every event at or below it is counted, readers add the
/// tail above it.
///
/// The writer sums its commits' counts in memory (`CountsMemory`) and applies the sum rarely — past
/// `WriteQueue.countsEvery` events (3M), every `countsInterval` (30 s), or once ingest has paused for
/// `countsIdle` (500 ms) —
/// so a (name, hour) is upserted once per application however many events it got. Applying with every
/// activity rollup (once a second under load) upserted tens of thousands of rows each time when events
/// arrive spread over months, which cost `trove bench http-batch` 2.4× its p99 and 15% of its rate.
/// When the writer's sum does not cover everything past the watermark (at start, after a delete, when
/// another process wrote), the counts are read from the log instead, a slice of ids at a time.
public enum CountsRollup {
    static let name = "counts"

    static func watermark(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT through_event_id FROM event_rollups WHERE name = ?", arguments: [name]) ?? 0
    }

    /// Adds `counts` (in key order), the events in (from, through], if the watermark is exactly `from`:
    /// counts are not idempotent, so they are added once, with the move. Returns whether they were.
    static func apply(from: Int64, through: Int64, counts: [(EventCounts.Key, Int64)], _ db: Database) throws -> Bool {
        try db.execute(
            sql: "UPDATE event_rollups SET through_event_id = ?1 WHERE name = ?3 AND through_event_id = ?2 AND ?2 < ?1",
            arguments: [through, from, name])
        guard db.changesCount == 1 else { return false }
        try EventCounts.add(counts, db)
        return true
    }

    /// Counts from the log, a slice per write transaction, until caught up (`WriteQueue.catchUp`).
    public static func catchUp(_ database: AppDatabase) async throws {
        while try await database.write({ db in try catchUp(db) }) {}
    }

    /// Counts up to `limit` event ids past the watermark straight from the log; false when caught up.
    static func catchUp(_ db: Database, limit: Int64 = 200_000) throws -> Bool {
        let from = try watermark(db)
        guard let top = try Int64.fetchOne(db, sql: "SELECT max(id) FROM events"), top > from else { return false }
        let through = min(top, from + limit)
        try db.execute(
            sql: """
                INSERT INTO event_counts (name_id, hour, count)
                SELECT name_id, \(EventCounts.hourSQL("timestamp")), count(*) FROM events WHERE id > ? AND id <= ? GROUP BY 1, 2
                ON CONFLICT (name_id, hour) DO UPDATE SET count = count + excluded.count
                """, arguments: [from, through])
        try db.execute(sql: "UPDATE event_rollups SET through_event_id = ? WHERE name = ?", arguments: [through, name])
        return true
    }
}

/// What the writer's commits added to the counts since they were last applied. Touched only by the task
/// holding the writer's `draining` token.
struct CountsMemory {
    var covered: CommittedRun?
    /// Events per name and hour over `covered`.
    var total = CountTable()
    var events = 0
    /// On the queue clock's `elapsed`.
    var lastApplied: Duration
    var lastCommit: Duration
    /// The watermark as this writer last left it; nil when unknown (at start, after a delete or a failure).
    var watermark: Int64?
    /// When the last attempt failed (on `elapsed`): the next waits `WriteQueue.countsRetryDelay`, so a
    /// database that keeps failing is not retried in a tight loop.
    var failedAt: Duration?

    init(watermark: Int64? = nil, now: Duration) {
        self.watermark = watermark
        lastApplied = now
        lastCommit = now
    }

    mutating func record(_ written: WriteSession.EventsWritten, now: Duration) {
        guard written.count > 0 else { return }
        if CommittedRun.extend(&covered, with: written) {
            total.merge(written.counts)
        } else {
            total = written.counts
        }
        events += written.count
        lastCommit = now
    }
}

extension WriteQueue {
    /// Whether the counts should be brought up to date now (see `CountsRollup`).
    func countsDue() -> Bool {
        let c = counts.value
        if let failed = c.failedAt, clock.elapsed() - failed < Self.countsRetryDelay { return false }
        if c.watermark == nil { return true }
        guard c.events > 0 else { return false }
        let now = clock.elapsed()
        return c.events >= countsEvery || now - c.lastApplied >= countsInterval || now - c.lastCommit >= countsIdle
    }

    /// Applies the writer's sum when it starts at the watermark; otherwise counts a slice from the log.
    func countsStep() async {
        let c = counts.value
        do {
            if let watermark = c.watermark, let covered = c.covered, covered.from == watermark {
                let sorted = c.total.sorted()  // off the writer
                let applied = try await database.write { db in
                    try CountsRollup.apply(from: watermark, through: covered.through, counts: sorted, db)
                }
                counts.value = CountsMemory(watermark: applied ? covered.through : nil, now: clock.elapsed())
            } else if c.watermark != nil && c.covered == nil {
                counts.value.events = 0
            } else {
                // From the log, one slice per step so group commits interleave; once caught up, what the
                // writer summed meanwhile is in the counts already.
                if try await !database.write({ db in try CountsRollup.catchUp(db) }) {
                    counts.value = CountsMemory(watermark: try await database.read { db in try CountsRollup.watermark(db) }, now: clock.elapsed())
                }
            }
        } catch {
            logger.error("event counts rollup failed, will count from the log in \(Self.countsRetryDelay): \(error)")
            counts.value = CountsMemory(now: clock.elapsed())
            counts.value.failedAt = clock.elapsed()
        }
    }

    /// With counts not yet applied, wakes the writer once ingest has paused for `countsIdle`.
    func armCountsTimer() {
        guard counts.value.events > 0 || counts.value.watermark == nil else { return }
        let delay = counts.value.failedAt == nil ? countsIdle : Self.countsRetryDelay
        let arm = rollups.withLock { r in
            guard r.countsTimer == nil else { return false }
            r.countsTimer = clock.elapsed() + delay
            return true
        }
        if arm { wake(after: delay, disarming: \.countsTimer) }
    }

    /// After a failed attempt, how long the counts rollup waits before the next.
    static let countsRetryDelay = Duration.seconds(5)
}
