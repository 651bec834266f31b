import GRDB
import Testing
@testable import TroveCore

/// `last_seen_at` is derived from the event log after the fact; reads must be exact before and after.
@Suite struct ActivityRollupTests {
    func setUp(rollupEvery: Int = .max, rollupInterval: Duration = .seconds(3600), clock: TroveClock = .fixed(fixedNow), cacheLimit: Int? = nil) async throws
        -> (AppDatabase, Ingestor, ObjectReader, Int64)
    {
        let db = try await temporaryDatabase()
        let accounts = Accounts(database: db, clock: .fixed(fixedNow))
        _ = try await accounts.ensureDefaultAccount()
        let account = try await accounts.accountID(named: Accounts.defaultName)
        // By default no rollup is due during a test, so the tail stays un-rolled until the test says so.
        let queue = WriteQueue(database: db, clock: clock, rollupEvery: rollupEvery, rollupInterval: rollupInterval, cacheLimit: cacheLimit)
        return (db, Ingestor(store: queue), ObjectReader(database: db), account)
    }

    func event(_ ingestor: Ingestor, _ account: Int64, uid: String, at: String) async throws {
        _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"\#(uid)","name":"Seen","timestamp":"\#(at)"}"#.utf8))
    }

    func lastSeen(_ reader: ObjectReader, _ account: Int64, _ uid: String) async throws -> String? {
        try await reader.profile(account: account, .uid(uid)).profile.lastSeenAt?.iso8601
    }

    @Test func lastSeenIsExactFromTheTailBeforeAndFromTheRollupAfter() async throws {
        let (db, ingestor, reader, account) = try await setUp()
        try await event(ingestor, account, uid: "a", at: "2026-02-01T10:00:00Z")
        try await event(ingestor, account, uid: "a", at: "2026-02-03T10:00:00Z")
        try await event(ingestor, account, uid: "a", at: "2026-02-02T10:00:00Z")  // older: must not win
        try await event(ingestor, account, uid: "b", at: "2026-01-05T00:00:00Z")

        let rolledBefore = try await db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM profile_activity")! }
        #expect(rolledBefore == 0, "nothing rolled up yet: the reads below come from the tail")
        #expect(try await lastSeen(reader, account, "a") == "2026-02-03T10:00:00.000Z")
        #expect(try await lastSeen(reader, account, "b") == "2026-01-05T00:00:00.000Z")

        try await ActivityRollup.catchUp(db)
        let (rows, watermark) = try await db.pool.read { db in
            (try Row.fetchAll(db, sql: "SELECT profile_id, last_seen_at FROM profile_activity ORDER BY profile_id").count,
             try ActivityRollup.watermark(db))
        }
        #expect(rows == 2 && watermark == 4)
        #expect(try await lastSeen(reader, account, "a") == "2026-02-03T10:00:00.000Z")

        // A later event lands in the tail again; an older one changes nothing once rolled up.
        try await event(ingestor, account, uid: "a", at: "2026-02-20T08:00:00Z")
        try await event(ingestor, account, uid: "b", at: "2025-12-01T00:00:00Z")
        #expect(try await lastSeen(reader, account, "a") == "2026-02-20T08:00:00.000Z")
        try await ActivityRollup.catchUp(db)
        #expect(try await lastSeen(reader, account, "a") == "2026-02-20T08:00:00.000Z")
        #expect(try await lastSeen(reader, account, "b") == "2026-01-05T00:00:00.000Z")
    }

    @Test func aPlanAppliedInSlicesMovesTheWatermarkOnlyAtItsEnd() async throws {
        let (db, ingestor, reader, account) = try await setUp()
        for i in 0..<10 { try await event(ingestor, account, uid: "u\(i)", at: "2026-02-0\(i % 9 + 1)T00:00:00Z") }
        var plan = try await db.pool.read { db in try ActivityRollup.plan(db)! }
        #expect(plan.remaining == 10)
        while !plan.isComplete {
            plan = try await db.pool.write { [plan] db in
                var p = plan
                try ActivityRollup.apply(&p, rows: 3, db)
                return p
            }
            let watermark = try await db.pool.read { db in try ActivityRollup.watermark(db) }
            #expect(watermark == (plan.isComplete ? 10 : 0))
        }
        // Applying the same plan again is harmless.
        try await db.pool.write { [plan] db in
            var again = plan
            again.next = 0
            try ActivityRollup.apply(&again, rows: .max, db)
        }
        #expect(try await lastSeen(reader, account, "u8") == "2026-02-09T00:00:00.000Z")
        let caughtUp = try await db.pool.read { db in try ActivityRollup.plan(db) == nil }
        #expect(caughtUp)
    }

    /// The writer's timers run on a manual clock: nothing is rolled up until the interval has passed.
    @Test func theWriterRollsUpOnItsOwnOnceIdle() async throws {
        let time = ManualClock(fixedNow)
        let (db, ingestor, _, account) = try await setUp(rollupInterval: .milliseconds(50), clock: time.clock)
        for i in 0..<20 { try await event(ingestor, account, uid: "u\(i % 5)", at: "2026-02-10T00:00:\(10 + i)Z") }
        await ingestor.store.settled()
        #expect(try await db.pool.read { db in try ActivityRollup.watermark(db) } == 0, "not due before the interval")
        time.advance(by: .milliseconds(50))
        await ingestor.store.settled()
        let rolled = try await db.pool.read { db in try ActivityRollup.watermark(db) }
        #expect(rolled == 20)
        let rows = try await db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM profile_activity")! }
        #expect(rows == 5)
    }

    /// When the next plan is due. During an import, on a table of 8,000 rows it waits for 1,000 events,
    /// unless ingest is slow (under 50 events an interval here) or has stopped for half an interval; on a
    /// small table, for `rollupEvery` events on the same terms. Outside an import, `rollupEvery` events or
    /// the interval, whatever the table.
    @Test func duringAnImportABigTableWaitsForALongerTail() {
        func due(events: Int, rows: Int64, intervals: Double, quiet: Double = 0, importing: Bool = true) -> Bool {
            var state = RollupState(last: .zero)
            state.eventsSince = events
            state.activityRows = rows
            state.importing = importing
            return state.due(rollupEvery: 100, intervals: intervals, quiet: quiet)
        }
        #expect(!due(events: 999, rows: 8_000, intervals: 5))
        #expect(due(events: 1_000, rows: 8_000, intervals: 0))
        #expect(due(events: 249, rows: 8_000, intervals: 5), "slow: under 50 an interval")
        #expect(due(events: 999, rows: 8_000, intervals: 1, quiet: 0.5), "stopped")
        #expect(!due(events: 999, rows: 8_000, intervals: 0.9, quiet: 0.9))
        #expect(due(events: 100, rows: 400, intervals: 0))
        #expect(due(events: 49, rows: 400, intervals: 1))
        #expect(!due(events: 99, rows: 400, intervals: 1), "fast: waits for `rollupEvery`")
        #expect(due(events: 99, rows: 400, intervals: 1, quiet: 0.5))
        #expect(!due(events: 0, rows: 400, intervals: 5, quiet: 5))
        // A server's ingest.
        #expect(due(events: 100, rows: 8_000, intervals: 0, importing: false))
        #expect(due(events: 1, rows: 8_000, intervals: 1, importing: false))
        #expect(!due(events: 99, rows: 8_000, intervals: 0.9, importing: false))
    }

    /// During an import, a tail left unplanned on a big table (a bar of 20 events) is rolled up once ingest
    /// has stopped for half an interval; the import's end brings back the plain rule.
    @Test func aTailLeftAtFullRateIsRolledUpOnceIngestStops() async throws {
        let time = ManualClock(fixedNow)
        let (db, ingestor, _, account) = try await setUp(rollupEvery: 10, rollupInterval: .seconds(3600), clock: time.clock)
        for i in 0..<160 { try await event(ingestor, account, uid: "u\(i)", at: "2026-02-01T00:00:00Z") }
        time.advance(by: .seconds(7200))
        await ingestor.store.settled()
        #expect(try await db.pool.read { db in try ActivityRollup.watermark(db) } == 160)
        let queue = try #require(ingestor.store as? WriteQueue)
        #expect(queue.rollups.withLock { $0.activityRows } == 160)
        try await queue.prepareForEvents(account: account, expected: 1)
        // 15 events (past `rollupEvery`, under the bar of 160 / 8) within an interval of the last plan: no plan.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<15 { group.addTask { try await event(ingestor, account, uid: "u\(i)", at: "2026-02-02T00:00:00Z") } }
            try await group.waitForAll()
        }
        await ingestor.store.settled()
        #expect(try await db.pool.read { db in try ActivityRollup.watermark(db) } == 160)
        time.advance(by: .seconds(7200))
        await ingestor.store.settled()
        #expect(try await db.pool.read { db in try ActivityRollup.watermark(db) } == 175)
        let later = Timestamp.parseISO8601("2026-02-01T12:00:00Z")!.milliseconds
        let seen = try await db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM profile_activity WHERE last_seen_at > ?", arguments: [later]) }
        #expect(seen == 15)
        // The import's end: 10 events are a plan again.
        try await queue.catchUp()
        for i in 0..<10 { try await event(ingestor, account, uid: "u\(i)", at: "2026-02-03T00:00:00Z") }
        await ingestor.store.settled()
        #expect(try await db.pool.read { db in try ActivityRollup.watermark(db) } == 185)
    }

    /// Rollups due every few events while the queue is busy: the first is read from the log, the later ones
    /// come from the writer's own record; the result must equal a GROUP BY over the events.
    @Test func rollupsFromTheWritersRecordMatchTheEventLog() async throws {
        let time = ManualClock(fixedNow)
        let (db, ingestor, _, account) = try await setUp(rollupEvery: 7, rollupInterval: .milliseconds(50), clock: time.clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<4 {
                group.addTask {
                    var random = SplitMix(seed: UInt64(42 + client))
                    for i in 0..<60 {
                        let day = 10 + random.next(15)
                        try await event(ingestor, account, uid: "u\((client * 60 + i) % 13)", at: "2026-02-\(day)T00:00:\(10 + i % 50)Z")
                    }
                }
            }
            try await group.waitForAll()
        }
        // Past the rollup interval and the counts' idle time: both catch up, and the writer settles.
        time.advance(by: .seconds(1))
        await ingestor.store.settled()
        let watermark = try await db.pool.read { db in try ActivityRollup.watermark(db) }
        #expect(watermark == 240)
        let (rolled, expected) = try await db.pool.read { db in
            (try Row.fetchAll(db, sql: "SELECT profile_id, last_seen_at FROM profile_activity ORDER BY profile_id").map { "\($0[0] as Int64)=\($0[1] as Int64)" },
             try Row.fetchAll(db, sql: "SELECT profile_id, max(timestamp) FROM events GROUP BY profile_id ORDER BY profile_id").map { "\($0[0] as Int64)=\($0[1] as Int64)" })
        }
        #expect(rolled == expected)
        #expect(rolled.count == 13)
        // The counts, added once per plan whichever way it was made, equal a count over the log.
        let (counted, grouped) = try await db.pool.read { db in
            (try Row.fetchAll(db, sql: "SELECT name_id, hour, count FROM event_counts ORDER BY 1, 2").map { "\($0[0] as Int64)/\($0[1] as Int64)=\($0[2] as Int64)" },
             try Row.fetchAll(db, sql: "SELECT name_id, timestamp / 3600000, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2").map { "\($0[0] as Int64)/\($0[1] as Int64)=\($0[2] as Int64)" })
        }
        #expect(counted == grouped)
        #expect(counted.count == 15, "one per day seen")
    }

    /// More people than the writer's caches hold (a limit of 4 here; 1/32 of the memory in a server): heads
    /// the rollup has reached are dropped and read again from `profile_activity`, those past it stay, and every
    /// person's timeline is complete and in order, late events included.
    @Test func timelinesStayWholeWhenTheWritersCachesOverflow() async throws {
        let (db, ingestor, _, account) = try await setUp(cacheLimit: 4)
        let queue = try #require(ingestor.store as? WriteQueue)
        var sent: [String: [String]] = [:]
        for round in 0..<6 {
            for person in 0..<12 {
                // Every third person's event of odd rounds is older than what they sent before.
                let day = 12 + round * 2 - (person % 3 == 0 && round % 2 == 1 ? 3 : 0)
                let at = "2026-02-\(day)T00:00:\(10 + person)Z"
                try await event(ingestor, account, uid: "p\(person)", at: at)
                sent["p\(person)", default: []].append(at.replacingOccurrences(of: "Z", with: ".000Z"))
            }
            if round % 2 == 0 { try await ActivityRollup.catchUp(db) }
            #expect(queue.cachedHeads <= 12)
        }
        // Once the rollup has reached them, the next commit drops some (it finds 12 heads over the limit).
        try await ActivityRollup.catchUp(db)
        try await event(ingestor, account, uid: "p0", at: "2026-02-25T00:00:00Z")
        sent["p0", default: []].append("2026-02-25T00:00:00.000Z")
        #expect(queue.cachedHeads < 12, "heads the rollup reached were dropped")
        let reader = TimelineReader(database: db)
        for person in 0..<12 {
            let page = try await reader.timeline(account: account, try TimelineRequest(person: .uid("p\(person)")))
            #expect(page.events.map(\.timestamp.iso8601) == sent["p\(person)"]!.sorted(by: >), "p\(person)")
        }
    }
}
