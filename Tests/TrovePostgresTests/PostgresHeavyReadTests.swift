import PostgresNIO
import Testing
import TroveCore
import TrovePostgres
import TroveTestEngines

/// Heavy reads on PostgreSQL, bounded as on SQLite (`HeavyReadLimitTests`): a read past its budget is
/// stopped by the server (`statement_timeout` on the heavy pool) and becomes `overBudget` (a 422 that says
/// what to do); one more than the slots and the queue hold is refused at once with `busy` (a 429); the
/// ordinary pool, which serves `/health`-near reads and ingest, carries no such limit and is never held up.
@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"), .timeLimit(.minutes(2)))
struct PostgresHeavyReadTests {
    /// Some hundreds of millions of rows to count: far past a 1 s budget on any machine. (A budget of 200 ms
    /// once stopped the short read after it too, on a machine stalled by the whole suite at once.)
    static let endless: PostgresQuery = "SELECT count(*) FROM generate_series(1, 2000000000)"

    @Test func aReadPastItsBudgetIsStoppedByTheServer() async throws {
        try await TestPostgres.withDatabase(readLimits: ReadLimits(concurrent: 1, queued: 1, budget: .seconds(1))) { db in
            await #expect(throws: ReadLimitError.overBudget(.seconds(1))) { _ = try await db.heavyQuery(Self.endless) }
            // The slot is free again and a short heavy read runs; the ordinary pool has no budget.
            let answer = try await db.heavyQuery("SELECT 6 * 7").first?.decode(Int.self)
            #expect(answer == 42)
            let ordinaryTimeout = try await db.query("SELECT current_setting('statement_timeout')").first?.decode(String.self)
            #expect(ordinaryTimeout == "0")
            #expect(db.heavyLoad.running == 0 && db.heavyLoad.waiting == 0)
        }
    }

    @Test func aHeavyReadPastTheSlotsAndTheQueueIsRefusedAtOnce() async throws {
        try await TestPostgres.withDatabase(readLimits: ReadLimits(concurrent: 1, queued: 0, budget: .seconds(5))) { db in
            let running = Task { try await db.heavyQuery(Self.endless) }
            while db.heavyLoad.running != 1 { await Task.yield() }
            await #expect(throws: ReadLimitError.busy(retryAfter: 2)) { _ = try await db.heavyQuery("SELECT 1") }
            // Meanwhile ordinary statements go on.
            let one = try await db.query("SELECT 1").first?.decode(Int.self)
            #expect(one == 1)
            await #expect(throws: ReadLimitError.self) { _ = try await running.value }
        }
    }
}
