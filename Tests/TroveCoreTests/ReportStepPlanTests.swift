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
                let slice = try Self.plan(db, ReportSteps.sliceSQL(grouped: grouped), grouped ? [1, "$.\"a\"", 0, 10, 1] : [1, 0, 10, 1])
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
