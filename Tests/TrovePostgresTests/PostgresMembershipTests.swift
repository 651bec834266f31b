import PostgresNIO
import Testing
import TroveCore
import TrovePostgres
import TroveTestEngines

/// Membership reads over rows written here by hand, until PostgreSQL evaluates segments itself (then these
/// run on both engines through the evaluator, as SQLite's do in the HTTP suite).
@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"))
struct PostgresMembershipTests {
    @Test func membersNowAndAsOfAPastTimeTheLedgerAndPages() async throws {
        try await TestPostgres.withDatabase { db in
            let account = try await TestPostgres.account(in: db)
            for (id, uid) in [(1, "a"), (2, "b"), (3, "c")] {
                try await db.query("INSERT INTO profiles (account_id, id, uid, created_at, updated_at) VALUES (\(account), \(Int64(id)), \(uid), 0, 0)")
            }
            try await db.query(
                """
                INSERT INTO segments (account_id, id, name, kind, member_count, computed_at, created_at, updated_at)
                VALUES (\(account), 7, 'seg', 'manual', 2, 3000, 0, 0)
                """)
            // a enters at 1000 and leaves at 2000; b enters at 1500; c enters at 2500.
            for (profile, entered, at) in [(1, true, 1000), (2, true, 1500), (1, false, 2000), (3, true, 2500)] {
                try await db.query(
                    """
                    INSERT INTO segment_changes (account_id, segment_id, profile_id, entered, at, version)
                    VALUES (\(account), 7, \(Int64(profile)), \(entered), \(Int64(at)), 1)
                    """)
            }
            try await db.query("INSERT INTO segment_members (account_id, segment_id, profile_id) VALUES (\(account), 7, 2), (\(account), 7, 3)")
            let store = PostgresMembershipStore(database: db)
            #expect(try await store.members(account: account, segment: 7, asOf: nil, limit: 10, before: nil).page.items.map(\.uid) == ["c", "b"])
            #expect(try await store.members(account: account, segment: 7, asOf: Timestamp(milliseconds: 1600), limit: 10, before: nil).page.items.map(\.uid) == ["b", "a"])
            #expect(try await store.members(account: account, segment: 7, asOf: Timestamp(milliseconds: 2100), limit: 10, before: nil).page.items.map(\.uid) == ["b"])
            let page = try await store.members(account: account, segment: 7, asOf: nil, limit: 1, before: nil)
            #expect(page.page.items.map(\.uid) == ["c"] && page.computedAt == Timestamp(milliseconds: 3000))
            #expect(try await store.members(account: account, segment: 7, asOf: nil, limit: 1, before: 3).page.items.map(\.uid) == ["b"])
            let ledger = try await store.changes(account: account, segment: 7, since: 0, limit: 3)
            #expect(ledger.changes.map(\.profileUID) == ["a", "b", "a"] && ledger.changes.map(\.entered) == [true, true, false])
            #expect(try await store.changes(account: account, segment: 7, since: ledger.next, limit: 3).changes.map(\.profileUID) == ["c"])
            #expect(try await store.segmentsOf(account: account, customer: .uid("b")).map(\.id) == [7])
            #expect(try await store.segmentsOf(account: account, customer: .uid("a")).isEmpty)
            #expect(try await store.customerCount(account: account, segment: 7) == 2)
            let people = try await store.membership(account: account, segment: 7, start: nil, limit: 1)
            #expect(people.identifiers.map(\.uid) == ["b"] && people.next == 2)
            let rest = try await store.membership(account: account, segment: 7, start: PublicID.encode(2), limit: 1)
            #expect(rest.identifiers.map(\.uid) == ["c"])
            await #expect(throws: SegmentError.self) { try await store.customerCount(account: account, segment: 8) }
        }
    }
}
