import PostgresNIO
import Testing
import TroveCore
import TrovePostgres
import TroveTestEngines

/// What PostgreSQL's ingest store does beyond the rules both engines share.
@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"))
struct PostgresIngestStoreTests {
    /// A catch-up after many rows (an import's end) leaves the planner statistics of what was loaded, so the
    /// next reads are planned for the table as it is; after fewer it leaves them to autovacuum, and counts on.
    @Test func aCatchUpAfterABulkLoadAnalyzesTheTables() async throws {
        try await TestPostgres.withDatabase { db in
            let account = try await TestPostgres.account(in: db)
            let store = PostgresIngestStore(location: db.location, writers: 1, analyzeAfterRows: 3)
            func tuples() async throws -> Double {
                try await db.query("SELECT reltuples::float8 FROM pg_class WHERE oid = 'events'::regclass")[0].decode(Double.self)
            }
            do {
                let ingestor = Ingestor(store: store)
                _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"a","name":"Clicked"}"#.utf8))
                try await store.catchUp()
                #expect(try await tuples() == -1, "one event written: not analyzed")
                for uid in ["b", "c"] {
                    _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"\#(uid)","name":"Clicked"}"#.utf8))
                }
                try await store.catchUp()
                #expect(try await tuples() == 3)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }

    /// Hourly counts leave each transaction as one row of deltas; every `foldCountsAfter` rows a writer folds
    /// them into `event_counts`; a deletion's row takes counts back; counted and pending always add up to the
    /// events stored, and a catch-up folds what is left.
    @Test func countsAreRowsOfDeltasFoldedEveryFewTransactions() async throws {
        try await TestPostgres.withDatabase { db in
            let account = try await TestPostgres.account(in: db)
            // One writer: a write submitted after a fold runs after it.
            let store = PostgresIngestStore(location: db.location, writers: 1, foldCountsAfter: 3)
            func number(_ sql: String) async throws -> Int64 {
                try await db.query(PostgresQuery(unsafeSQL: sql))[0].decode(Int64.self)
            }
            func tables() async throws -> (folded: Int64, pending: Int64, rows: Int64) {
                (try await number("SELECT coalesce(sum(count), 0)::bigint FROM event_counts WHERE account_id = \(account)"),
                 try await number("SELECT coalesce(sum(n), 0)::bigint FROM event_count_deltas, unnest(counts) AS n WHERE account_id = \(account)"),
                 try await number("SELECT count(*) FROM event_count_deltas WHERE account_id = \(account)"))
            }
            do {
                let ingestor = Ingestor(store: store)
                func send(_ uid: String, _ at: String) async throws {
                    _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"\#(uid)","name":"Clicked","timestamp":"\#(at)"}"#.utf8))
                }
                try await send("a", "2026-11-01T10:15:00Z")
                #expect(try await tables() == (0, 1, 1), "a row of its own, not folded yet")
                try await send("b", "2026-11-01T10:45:00Z")
                try await send("c", "2026-11-01T11:05:00Z")
                try await send("d", "2026-11-02T09:00:00Z")
                #expect(try await tables() == (3, 1, 1), "the third row made the writer fold the three")
                #expect(try await number("SELECT count(*) FROM event_counts WHERE account_id = \(account)") == 2, "two hours")

                let deleted = try await EventRetention.prune(store, before: Timestamp.parseISO8601("2026-11-01T11:00:00Z")!)
                #expect(deleted == 2)
                #expect(try await tables() == (3, -1, 2), "the deletion's row takes two back")
                try await store.catchUp()
                #expect(try await tables() == (2, 0, 0))
                #expect(try await number("SELECT count(*) FROM event_counts WHERE account_id = \(account) AND count > 0") == 2)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }
}
