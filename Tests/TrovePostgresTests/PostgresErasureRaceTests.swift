import PostgresNIO
import Synchronization
import Testing
import TroveCore
@testable import TrovePostgres
import TroveTestEngines

/// How an erasure and event writers on other connections (other writer threads, other servers) are ordered
/// on PostgreSQL, where event ids are not in commit order: no event is ever left for a person who is gone.
@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"))
struct PostgresErasureRaceTests {
    /// `body` with ingest stores of its own, closed however it ends.
    func closing<T>(_ stores: [PostgresIngestStore], _ body: () async throws -> T) async throws -> T {
        let result: T
        do {
            result = try await body()
        } catch {
            for store in stores { await store.close() }
            throw error
        }
        for store in stores { await store.close() }
        return result
    }

    /// A database with one account and two ingest stores on it (two servers' writers), closed however `body` ends.
    func twoServers(_ body: (PostgresAppDatabase, Int64, PostgresIngestStore, PostgresIngestStore) async throws -> Void) async throws {
        try await TestPostgres.withDatabase { db in
            let account = try await TestPostgres.account(in: db)
            let here = PostgresIngestStore(location: db.location, writers: 1)
            let there = PostgresIngestStore(location: db.location, writers: 1)
            try await closing([here, there]) { try await body(db, account, here, there) }
        }
    }

    func orphans(_ db: PostgresAppDatabase, _ account: Int64) async throws -> Int64 {
        try await db.query(
            """
            SELECT count(*) FROM events e WHERE e.account_id = \(account)
                AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.account_id = e.account_id AND p.id = e.profile_id)
            """
        )[0].decode(Int64.self)
    }

    /// A server whose writers still have the person's id cached, after another server erased them: its
    /// next event for the uid finds the profile gone at the check before commit, runs again with the caches
    /// cleared, and goes to a new person.
    @Test func aWriterWithTheErasedIdCachedStartsANewPerson() async throws {
        try await twoServers { db, account, here, there in
            let ingestor = Ingestor(store: here)
            let first = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"ann","name":"Clicked"}"#.utf8))
            let old = try await db.query("SELECT profile_id FROM events WHERE account_id = \(account) AND id = \(first)")[0].decode(Int64.self)
            let receipts = try await Erasure(store: there, reads: PostgresErasureStore(database: db)).forget(account: account, profiles: [old], source: .api)
            #expect(receipts.map(\.profileID) == [old])

            let second = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"ann","name":"Clicked"}"#.utf8))
            let now = try await db.query("SELECT profile_id FROM events WHERE account_id = \(account) AND id = \(second)")[0].decode(Int64.self)
            #expect(now != old)
            #expect(try await db.query("SELECT uid FROM profiles WHERE account_id = \(account) AND id = \(now)")[0].decode(String.self) == "ann")
            #expect(try await orphans(db, account) == 0)
        }
    }

    /// Ids a writer read or cached as seen at the account's newest deletion are not counted again at the
    /// check (`checkProfiles`); an erasure elsewhere records a newer deletion, so the next event for the uid
    /// is checked, finds the profile gone, and goes to a new person — whether the id was read from the
    /// profiles (a person another server created) or cached by a check.
    @Test func anErasureElsewhereMakesTheCheckCountIdsItWouldHaveTrusted() async throws {
        try await twoServers { db, account, here, there in
            func profile(of event: Int64) async throws -> Int64 {
                try await db.query("SELECT profile_id FROM events WHERE account_id = \(account) AND id = \(event)")[0].decode(Int64.self)
            }
            let event = Array(#"{"uid":"bob","name":"Clicked"}"#.utf8)
            let created = try await profile(of: try await Ingestor(store: there).ingest(.event, account: account, body: event))
            // Read here (the event uids' lookup), then cached here as seen by the check.
            #expect(try await profile(of: try await Ingestor(store: here).ingest(.event, account: account, body: event)) == created)
            #expect(try await profile(of: try await Ingestor(store: here).ingest(.event, account: account, body: event)) == created)
            #expect(here.caches.profile(PostgresWriteCaches.Key(account: account, key: "bob"))?.existedAt == 0, "seen before any deletion")

            _ = try await Erasure(store: there, reads: PostgresErasureStore(database: db)).forget(account: account, profiles: [created], source: .api)
            let next = try await profile(of: try await Ingestor(store: here).ingest(.event, account: account, body: event))
            #expect(next != created)
            #expect(try await orphans(db, account) == 0)
            let newest = try await db.query("SELECT max(id) FROM deletions WHERE account_id = \(account) AND kind = 'profile'")[0].decode(Int64.self)
            #expect(here.caches.profile(PostgresWriteCaches.Key(account: account, key: "bob")) == .init(id: next, existedAt: newest))

            // Created here without events: cached as seen at the newest deletion; erased there, its next event
            // here goes to a new person too.
            let cy = try await Ingestor(store: here).ingest(.profile, account: account, body: Array(#"{"uid":"cy"}"#.utf8))
            #expect(here.caches.profile(PostgresWriteCaches.Key(account: account, key: "cy")) == .init(id: cy, existedAt: newest))
            _ = try await Erasure(store: there, reads: PostgresErasureStore(database: db)).forget(account: account, profiles: [cy], source: .api)
            let again = try await profile(of: try await Ingestor(store: here).ingest(.event, account: account, body: Array(#"{"uid":"cy","name":"Clicked"}"#.utf8)))
            #expect(again != cy)
            #expect(try await orphans(db, account) == 0)
        }
    }

    /// A writer past that check holds the account's erasure lock shared until it commits: an erasure waits
    /// for it, then deletes the events it committed. (Here the writer is a transaction of the test's own,
    /// holding the lock as `checkProfiles` leaves it; it commits only once the erasure waits for it — or once
    /// the erasure finished without waiting, which would leave its event behind and fail the test.)
    @Test func anErasureWaitsForWritersPastTheirCheckAndDeletesTheirEvents() async throws {
        try await TestPostgres.withDatabase { db in
            let account = try await TestPostgres.account(in: db)
            let store = PostgresIngestStore(location: db.location, writers: 1)
            try await closing([store]) {
            let ingestor = Ingestor(store: store)
            let first = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"ann","name":"Clicked"}"#.utf8))
            let ann = try await db.query("SELECT profile_id, name_id FROM events WHERE account_id = \(account) AND id = \(first)")[0]
                .decode((Int64, Int64).self)
            let erasure = Erasure(store: store, reads: PostgresErasureStore(database: db))
            // The counts a writer keeps for the event below (an erasure takes them back), committed first: rows
            // this transaction held would make the erasure wait on them instead.
            try await db.query("UPDATE event_names SET count = count + 1 WHERE account_id = \(account) AND id = \(ann.1)")
            try await db.query(
                """
                INSERT INTO event_count_deltas (account_id, name_ids, hours, counts)
                SELECT account_id, ARRAY[name_id], ARRAY[\(unescaped: EventCounts.hourSQL("timestamp"))], ARRAY[1::bigint]
                FROM events WHERE account_id = \(account) AND id = \(first)
                """)
            let finished = Finished()
            let lockClass = Int64(PostgresWriteSession.erasureLockClass)
            let erasing = try await db.transaction { connection in
                _ = try await connection.query("SELECT pg_advisory_xact_lock_shared(\(Int32(lockClass)), \(Int32(account)))", logger: db.logger)
                // An event like the first (its counts were kept above).
                _ = try await connection.query(
                    """
                    INSERT INTO events (account_id, profile_id, name_id, timestamp, received_at, source)
                    SELECT account_id, profile_id, name_id, timestamp, received_at, source FROM events WHERE account_id = \(account) AND id = \(first)
                    """, logger: db.logger)
                let erasing = Task {
                    defer { finished.flag.store(true, ordering: .sequentiallyConsistent) }
                    return try await erasure.forget(account: account, profiles: [ann.0], source: .api)
                }
                while !finished.flag.load(ordering: .sequentiallyConsistent) {
                    let waiting = try await db.query(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = \(lockClass) AND NOT granted"
                    )[0].decode(Int64.self)
                    if waiting > 0 { break }
                    await Task.yield()  // paced by the query's round trip; no wall-time wait
                }
                return erasing
            }
            let receipts = try await erasing.value
            #expect(receipts.first?.deletion.events == 2, "the event it waited for is deleted with the first")
            #expect(try await orphans(db, account) == 0)
            try await store.catchUp()
            #expect(try await db.query("SELECT count(*) FROM event_counts WHERE account_id = \(account) AND count <> 0")[0].decode(Int64.self) == 0,
                    "both events' counts are taken back")
            }
        }
    }

    final class Finished: Sendable {
        let flag = Atomic(false)
    }
}
