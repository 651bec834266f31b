import GRDB
import Testing
@testable import TroveCore

/// The funnel's step lists never need an index over the event log: a slice and a funnel's tail read the
/// log by rowid range, and a list is read in its primary key's order (no sort over its rows).
@Suite struct ReportStepPlanTests {
    static func plan(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> String {
        try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }.joined(separator: " | ")
    }

    @Test func slicesAndTailsReadTheLogByRowidAndListsInOrder() async throws {
        let database = try temporaryDatabase()
        try await database.read { db in
            for grouped in [false, true] {
                let slice = try Self.plan(db, ReportSteps.sliceSQL(grouped: grouped), grouped ? ["$.\"a\"", 0, 10, 1] : [0, 10, 1])
                #expect(slice.contains("SEARCH events USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), "\(slice)")
                let tail = try Self.plan(db, FunnelReport.tailSQL(grouped: grouped), [0, 10, "$.\"a\"", 5, 1])
                #expect(tail.contains("SEARCH events USING INTEGER PRIMARY KEY (rowid>?)"), "\(tail)")
            }
            let list = try Self.plan(db, FunnelReport.listSQL, [0, 10, 1])
            #expect(list.contains("SEARCH report_step_events USING PRIMARY KEY (step_id=?)"), "\(list)")
            #expect(!list.contains("TEMP B-TREE"), "\(list)")
        }
    }
}

/// A slice is read off the writer and written afterwards: what changed in between must not leave wrong
/// rows behind.
@Suite struct ReportStepSliceTests {
    @Test func aSliceSkipsEventsDeletedSinceItsReadAndIsDroppedIfItsListMoved() async throws {
        let db = try temporaryDatabase()
        let accounts = AccountStore(database: db, clock: .fixed(fixedNow))
        _ = try await accounts.ensureDefaultAccount()
        let account = try await accounts.accountID(named: AccountStore.defaultName)
        let ingestor = Ingestor(queue: WriteQueue(database: db, clock: .fixed(fixedNow)))
        for i in 0..<6 {
            _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"u\#(i % 3)","name":"Step","timestamp":"2026-02-10T00:00:1\#(i)Z"}"#.utf8))
        }
        let nameID = try #require(try await db.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM event_names WHERE uid = 'step'") })
        _ = try await ReportSteps.prepare([ReportStep(nameID: nameID, path: "")], db, now: fixedNow)
        guard case .slice(let slice) = try await db.read({ db in try ReportSteps.nextSlice(db) }) else {
            Issue.record("no slice to build")
            return
        }
        let rows = try await db.backgroundRead { db in try ReportSteps.read(slice, db) }
        #expect(rows.count == 6)
        // An event deleted between the read and the write: its row is left out.
        let deleted = rows[2].event
        try await db.write { db in try db.execute(sql: "DELETE FROM events WHERE id = ?", arguments: [deleted]) }
        try await db.write { db in try ReportSteps.write(slice, rows, now: fixedNow, db) }
        let listed = try await db.read { db in try Int64.fetchAll(db, sql: "SELECT event_id FROM report_step_events ORDER BY event_id") }
        #expect(listed == rows.map(\.event).filter { $0 != deleted }.sorted())
        // The same slice again (the list has moved past it): nothing is added twice.
        try await db.write { db in try ReportSteps.write(slice, rows, now: fixedNow, db) }
        #expect(try await db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM report_step_events") } == 5)
        #expect(try await ReportSteps.step(db, now: fixedNow) == false, "the list is current")
    }
}
