import GRDB
import Testing
@testable import TroveCore

/// `event_counts` follows the log under its own watermark: the writer's summed counts are applied once
/// each, a start or a delete makes it count from the log, and what is applied always equals the log.
@Suite(.timeLimit(.minutes(1))) struct CountsRollupTests {
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

    /// Yields (never sleeps) until the writer has applied everything.
    static func settled(_ db: AppDatabase) async throws -> (applied: [String], truth: [String]) {
        while true {
            let s = try await state(db)
            if s.watermark == s.top { return (s.applied, s.truth) }
            await Task.yield()
        }
    }

    @Test func theWritersSumsAreAppliedOnceEachAndDeletesSendItBackToTheLog() async throws {
        let db = try temporaryDatabase()
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
        var s = try await Self.settled(db)
        #expect(!s.applied.isEmpty && s.applied == s.truth)

        // A delete takes its events out of the counts and leaves the writer's sums unknown: the next
        // application reads the log, and none is counted twice.
        let profile = try await db.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM profiles WHERE uid = 'u1'")! }
        try await queue.perform { session in try session.deleteEvents(where: "profile_id = ?", arguments: [profile]) }
        for i in 40..<60 { try await send(i) }
        s = try await Self.settled(db)
        #expect(s.applied == s.truth)

        // Another writer (a second queue, as `trove import` beside a server) appends: each counts its own
        // or reads the log, never both.
        let other = Ingestor(store: WriteQueue(
            database: db, clock: .fixed(fixedNow), rollupEvery: .max, rollupInterval: .seconds(3600),
            countsEvery: 1, countsInterval: .seconds(3600), countsIdle: .seconds(3600)))
        for i in 60..<80 {
            let body = #"{"uid":"v\#(i % 4)","name":"N\#(i % 3)","timestamp":"2026-02-10T00:00:00Z"}"#
            _ = try await (i % 2 == 0 ? ingestor : other).ingest(.event, account: account, body: Array(body.utf8))
        }
        s = try await Self.settled(db)
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
}
