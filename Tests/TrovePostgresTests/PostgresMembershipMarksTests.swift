import Testing
@testable import TroveCore
import TroveTestEngines

/// Ingest's membership marks on PostgreSQL: one `membership_marks` row per transaction and account, counted
/// in the backlog per profile they name, folded by the evaluator into one `membership_dirty` row per profile,
/// and the segment current afterwards.
@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"))
struct PostgresMembershipMarksTests {
    static let now = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

    @Test func ingestMarksOneRowPerTransactionAndTheEvaluatorFoldsThem() async throws {
        let opened = try await TestEngine.postgres.open(clock: .fixed(Self.now))
        do {
            let stores = TestStores(opened.engine)
            let accounts = Accounts(store: stores.accounts)
            _ = try await accounts.create(name: "acme")
            let account = try #require(try await accounts.accountID(named: "acme"))
            let segment = try await SegmentDefinitions(store: stores.segments, clock: .fixed(Self.now)).create(
                account: account,
                SegmentChange(name: "Clickers", definition: try ChameleonDefinition(
                    items: JSONParser.parse(Array(#"[{"kind":"event","value":"Clicked","mod":"gte","range":1}]"#.utf8)), op: nil)))
            while try await stores.membershipWork.step().more {}

            let ingestor = Ingestor(store: stores.ingest)
            for uid in ["a", "b", "a"] {
                _ = try await ingestor.ingest(.event, account: account, body: Array(#"{"uid":"\#(uid)","name":"Clicked"}"#.utf8))
            }
            #expect(try await opened.number("SELECT count(*) FROM membership_marks") == 3, "a row per transaction")
            #expect(try await opened.number("SELECT count(*) FROM membership_dirty") == 0)
            let before = try await stores.upkeep.backlog(now: Self.now)
            #expect(before.membershipDirtyRows == 3 && before.membershipLagSeconds == 0)

            while try await stores.membershipWork.step().more {}
            #expect(try await opened.number("SELECT count(*) FROM membership_marks") == 0)
            #expect(try await stores.upkeep.backlog(now: Self.now).membershipDirtyRows == 0)
            let members = try await stores.membership.members(account: account, segment: segment.id, asOf: nil, limit: 10, before: nil)
            #expect(members.page.items.compactMap { (p: ProfileRecord) in p.uid }.sorted() == ["a", "b"])
        } catch {
            try? await opened.finish(checkStatements: false)
            throw error
        }
        try await opened.finish()
    }
}
