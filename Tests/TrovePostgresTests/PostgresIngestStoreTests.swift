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
            let accounts = Accounts(store: PostgresAccountStore(database: db))
            _ = try await accounts.create(name: "acme")
            let account = try #require(try await accounts.accountID(named: "acme"))
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
}
