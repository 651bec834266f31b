import GRDB
import Logging
import Testing
@testable import TroveCore
import TroveTestEngines

/// `event_counts` follows the log under its own watermark: the writer's summed counts are applied once
/// each, a start or a delete makes it count from the log, and what is applied always equals the log.
/// The limit guards against a hang: amid the full parallel suite on two cores the first test took 90 s.
@Suite(.timeLimit(.minutes(5))) struct CountsRollupTests {
    static func state(_ db: AppDatabase) async throws -> (watermark: Int64, top: Int64, applied: [String], truth: [String]) {
        try await db.read { db in
            let watermark = try CountsRollup.watermark(db)
            return (
                watermark,
                try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events")!,
                try String.fetchAll(db, sql: "SELECT name_id || ':' || hour || ':' || count FROM event_counts WHERE count > 0 ORDER BY name_id, hour"),
                try String.fetchAll(
                    db, sql: """
                        SELECT name_id || ':' || \(EventCounts.hourSQL("timestamp")) || ':' || count(*) FROM events WHERE id <= ?
                        GROUP BY name_id, \(EventCounts.hourSQL("timestamp")) ORDER BY name_id, \(EventCounts.hourSQL("timestamp"))
                        """, arguments: [watermark]))
        }
    }

    /// Once the writers have nothing left to do (no spinning: a busy loop starved the writer on a loaded
    /// two-core machine), everything is applied.
    static func settled(_ db: AppDatabase, _ queues: WriteQueue...) async throws -> (applied: [String], truth: [String]) {
        for queue in queues { await queue.settled() }
        let s = try await state(db)
        #expect(s.watermark == s.top)
        // The daily counts (kept by triggers on the hourly ones) are the hourly ones summed per UTC day.
        let daily = try await db.read { db in
            (try String.fetchAll(db, sql: "SELECT name_id || ':' || day || ':' || count FROM event_counts_daily WHERE count > 0 ORDER BY name_id, day"),
             try String.fetchAll(db, sql: """
                SELECT name_id || ':' || day || ':' || sum(count) FROM (SELECT name_id, (hour - ((hour % 24) + 24) % 24) / 24 AS day, count FROM event_counts)
                GROUP BY name_id, day HAVING sum(count) > 0 ORDER BY name_id, day
                """))
        }
        #expect(!daily.0.isEmpty && daily.0 == daily.1)
        return (s.applied, s.truth)
    }

    @Test func theWritersSumsAreAppliedOnceEachAndDeletesSendItBackToTheLog() async throws {
        let db = try await temporaryDatabase()
        let accounts = Accounts(database: db, clock: .fixed(fixedNow))
        _ = try await accounts.ensureDefaultAccount()
        let account = try await accounts.accountID(named: Accounts.defaultName)
        // Applied after every commit (countsEvery 1); no activity rollup, no timers during the test.
        let queue = WriteQueue(
            database: db, clock: .fixed(fixedNow), rollupEvery: .max, rollupInterval: .seconds(3600),
            countsEvery: 1, countsInterval: .seconds(3600), countsIdle: .seconds(3600))
        let ingestor = Ingestor(store: queue)
        func send(_ i: Int) async throws {
            let body = #"{"uid":"u\#(i % 4)","name":"N\#(i % 3)","timestamp":"2026-02-0\#(i % 5 + 1)T0\#(i % 7):00:00Z"}"#
            _ = try await ingestor.ingest(.event, account: account, body: Array(body.utf8))
        }
        for i in 0..<40 { try await send(i) }
        var s = try await Self.settled(db, queue)
        #expect(!s.applied.isEmpty && s.applied == s.truth)

        // A delete takes its events out of the counts and leaves the writer's sums unknown: the next
        // application reads the log, and none is counted twice.
        let profile = try await db.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM profiles WHERE uid = 'u1'")! }
        try await queue.perform { session in try session.deleteEvents(where: "profile_id = ?", arguments: [profile]) }
        for i in 40..<60 { try await send(i) }
        s = try await Self.settled(db, queue)
        #expect(s.applied == s.truth)

        // Another writer (a second queue, as `trove import` beside a server) appends: each counts its own
        // or reads the log, never both.
        let otherQueue = WriteQueue(
            database: db, clock: .fixed(fixedNow), rollupEvery: .max, rollupInterval: .seconds(3600),
            countsEvery: 1, countsInterval: .seconds(3600), countsIdle: .seconds(3600))
        let other = Ingestor(store: otherQueue)
        for i in 60..<80 {
            let body = #"{"uid":"v\#(i % 4)","name":"N\#(i % 3)","timestamp":"2026-02-10T00:00:00Z"}"#
            _ = try await (i % 2 == 0 ? ingestor : other).ingest(.event, account: account, body: Array(body.utf8))
        }
        s = try await Self.settled(db, queue, otherQueue)
        #expect(s.applied == s.truth)
    }

    /// The writer's table sums like a dictionary, through growth, colliding keys, hours before 1970, and
    /// merges; `sorted` gives key order.
    @Test func theWritersCountTableSumsLikeADictionary() {
        var state: UInt64 = 42  // seeded: the same keys every run
        func next(_ n: Int64) -> Int64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int64(state >> 33) % n
        }
        var table = CountTable(capacity: 4), other = CountTable()
        var truth: [EventCounts.Key: Int64] = [:]
        for i in 0..<20_000 {
            let key = EventCounts.Key(name: next(40), hour: next(3000) - 1500)
            if i % 3 == 0 { other.add(name: key.name, hour: key.hour) } else { table.add(name: key.name, hour: key.hour) }
            truth[key, default: 0] += 1
        }
        table.merge(other)
        #expect(table.count == truth.count)
        let sorted = table.sorted()
        #expect(sorted.map(\.0) == truth.keys.sorted())
        #expect(sorted.allSatisfy { truth[$0.0] == $0.1 })
        #expect(CountTable().isEmpty && CountTable().sorted().isEmpty)
    }

    /// A counts rollup that keeps failing (here: the database closed under a queue nobody closed) waits
    /// `countsRetryDelay` between attempts instead of retrying in a tight loop; a closed queue refuses new
    /// work and stops touching the database at all.
    @Test func aFailingRollupBacksOffAndAClosedQueueStops() async throws {
        let time = ManualClock(fixedNow)
        let logs = CapturedLogs()
        let logger = logs.logger(level: .trace)
        func attempts() -> Int { logs.all.filter { $0.contains("event counts rollup failed") }.count }

        let db = try await temporaryDatabase()
        let accounts = Accounts(database: db, clock: .fixed(fixedNow))
        _ = try await accounts.ensureDefaultAccount()
        let account = try await accounts.accountID(named: Accounts.defaultName)
        let queue = WriteQueue(database: db, clock: time.clock, rollupEvery: .max, rollupInterval: .seconds(3600), logger: logger)
        let ingestor = Ingestor(store: queue)
        _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"a","name":"N","timestamp":"2026-02-01T00:00:00Z"}"#.utf8))
        await queue.settled()
        _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"a","name":"N","timestamp":"2026-02-01T01:00:00Z"}"#.utf8))
        await queue.settled()

        try db.close()
        time.advance(by: queue.countsIdle)
        await queue.settled()  // a tight loop never settles (the suite's time limit fails it)
        #expect(attempts() == 1)
        time.advance(by: WriteQueue.countsRetryDelay - .milliseconds(1))
        await queue.settled()
        #expect(attempts() == 1, "not retried before the delay")
        time.advance(by: .milliseconds(1))
        await queue.settled()
        #expect(attempts() == 2)

        await queue.close()
        time.advance(by: .seconds(3600))
        await queue.settled()
        #expect(attempts() == 2, "a closed queue leaves the database alone")
        await #expect(throws: IngestError.self) {
            _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"a","name":"N"}"#.utf8))
        }
    }
}
