import Foundation
import PostgresNIO
import Testing
@testable import TroveCore
@testable import TrovePostgres
import TroveTestEngines

/// Issue 20: several Trove nodes on one PostgreSQL database. Each test opens a second engine on the test's
/// database (its own pool, writers and node id, as a second `trove serve` has). A node "dies" as one that
/// stopped saying it is alive: its lease ends (`alive_until` set to the past, as PostgreSQL's clock would
/// pass it), without waiting the lease out.
@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"))
struct PostgresNodesTests {
    static let start = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

    /// `node`'s lease ends now, as if it had stopped saying it is alive a lease ago.
    static func expire(_ node: PostgresEngine, _ opened: OpenedTestEngine) async throws {
        try await opened.run("UPDATE trove_nodes SET alive_until = 0 WHERE id = '\(node.database.node.id)'")
    }

    /// Runs `body` with two nodes on one fresh database and the (manual) clock their engines share.
    func withTwoNodes(_ body: (_ a: PostgresEngine, _ b: PostgresEngine, _ time: ManualClock, _ opened: OpenedTestEngine) async throws -> Void)
        async throws
    {
        let time = ManualClock(Self.start)
        let opened = try await TestEngine.postgres.open(clock: time.clock)
        let a = try #require(opened.engine as? PostgresEngine)
        let b = try await opened.anotherNode(clock: time.clock)
        do {
            try await body(a, b, time, opened)
        } catch {
            try? await b.close()
            try? await opened.finish(checkStatements: false)
            throw error
        }
        try await b.close()
        try await opened.finish()
    }

    @Test func aClaimHoldsWhileItsNodeLivesAndPassesOnWhenItDiesOrLeaves() async throws {
        try await withTwoNodes { a, b, _, opened async throws in
            #expect(a.database.node.id != b.database.node.id)
            #expect(try await a.database.claim("membership", [1, 2]) == [1, 2])
            #expect(try await a.database.claim("membership", [1, 2]) == [1, 2], "its own claims are still its own")
            #expect(try await b.database.claim("membership", [1, 2, 3]) == [3], "a live node's claims are not taken")
            #expect(try await b.database.claim("membership", [1, 2]) == [])
            // a's lease ends: b takes a's work over; a, back, finds it b's.
            try await Self.expire(a, opened)
            #expect(try await b.database.claim("membership", [1, 2]) == [1, 2])
            #expect(try await a.database.claim("membership", [1, 2, 3]) == [])
            // A clean stop gives its claims back at once.
            await b.database.leave()
            #expect(try await opened.number("SELECT count(*) FROM trove_nodes WHERE id = '\(b.database.node.id)'") == 0)
            #expect(try await a.database.claim("membership", [1, 2, 3]) == [1, 2, 3])
        }
    }

    @Test func aDeliveryIsClaimedByOneNodeAndTakenOverWhenItsNodeDies() async throws {
        try await withTwoNodes { a, b, time, opened async throws in
            let account = try await TestPostgres.account(in: a.database)
            let endpoint = try await a.webhookStore.insert(
                account: account, WebhookEndpointChange(url: "https://example.com/hook", topics: ["event.created"]), secret: "s", now: time.clock.now())
            for n in 0..<6 {
                _ = try await a.webhookStore.enqueue(account: account, endpoint: endpoint.id, kind: "test", data: ["n": .int(Int64(n))], now: time.clock.now())
            }
            let now = time.clock.now()
            let first = try await a.webhookStore.due(now: now) { _ in 4 }
            let second = try await b.webhookStore.due(now: now) { _ in 4 }
            #expect(first.count == 4 && second.count == 2)
            #expect(Set(first.map(\.id)).isDisjoint(with: second.map(\.id)), "no delivery handed to both")
            #expect(first.map(\.id) == first.map(\.id).sorted(), "each endpoint's earliest first")
            #expect(try await b.webhookStore.due(now: now) { _ in 4 }.map(\.id) == second.map(\.id), "a node's own claims come back to it")

            // a records one and hands one back: that one is b's to take, the recorded one is no one's.
            try await a.webhookStore.recordAttempt(first[0], attempts: 1, status: 200, failure: nil, retryAt: nil, now: now)
            try await a.webhookStore.release([first[1]])
            let afterRelease = try await b.webhookStore.due(now: now) { _ in 8 }
            #expect(Set(afterRelease.map(\.id)) == Set(second.map(\.id) + [first[1].id]))
            #expect(try await opened.number("SELECT count(*) FROM webhook_deliveries WHERE claimed_by IS NULL AND state = 'delivered'") == 1)

            // a dies with two in flight: once its lease has passed they are due again, for b.
            #expect(try await b.webhookStore.due(now: now) { _ in 8 }.count == 3)
            try await Self.expire(a, opened)
            let takenOver = try await b.webhookStore.due(now: now) { _ in 8 }
            #expect(Set(takenOver.map(\.id)) == Set(first[2...].map(\.id) + afterRelease.map(\.id)))
        }
    }

    @Test func anExportJobRunsOnOneNodeAndIsTakenOverWhenItsNodeDies() async throws {
        try await withTwoNodes { a, b, time, opened async throws in
            let account = try await TestPostgres.account(in: a.database)
            let settings = ExportSettings(directory: NSTemporaryDirectory() + "trove-nodes-\(UUID().uuidString)", publicURL: "http://127.0.0.1")
            defer { try? FileManager.default.removeItem(atPath: settings.directory) }
            _ = try await ExportJobs(store: a.exportStore, clock: time.clock, settings: settings).createCustomers(account: account, CustomerExportRequest())
            let onA = try #require(a.exportWork(settings: settings, logger: .init(label: "a")) as? PostgresExportWork)
            let onB = try #require(b.exportWork(settings: settings, logger: .init(label: "b")) as? PostgresExportWork)
            let job = try #require(try await onA.claim())
            #expect(try await onB.claim() == nil, "a job a live node writes is not taken")
            try await Self.expire(a, opened)
            let takenOver = try #require(try await onB.claim())
            #expect(takenOver.id == job.id && takenOver.attempts == 1, "the second attempt, by the node still alive")
            #expect(try await onA.claim() == nil)
            await onB.run(takenOver)
            #expect(try await opened.number("SELECT count(*) FROM exports WHERE status = 'done' AND attempts = 2") == 1)
            #expect(try await opened.number("SELECT count(*) FROM export_parts WHERE export_id = \(job.id)") == 1, "the file kept in the database")
            #expect(!FileManager.default.fileExists(atPath: settings.file(job.id)), "not in the folder")
            guard case .stored(let bytes, let parts, let read)? = try await a.exportStore.storedFile(account: account, id: job.id) else {
                Issue.record("no stored file")
                return
            }
            let first = String(decoding: try await read(0), as: UTF8.self)
            #expect(parts == 1 && Int64(first.utf8.count) == bytes && first.hasPrefix("id,"), "\(first)")
        }
    }

    @Test func upkeepRunsOnOneNodeAtItsPaceAndMovesWhenThatNodeDies() async throws {
        try await withTwoNodes { a, b, _, opened async throws in
            let hour = Duration.seconds(3600)
            #expect(try await a.upkeepStore.claimUpkeep(every: hour))
            try await a.upkeepStore.upkeepDone()
            #expect(try await !b.upkeepStore.claimUpkeep(every: hour), "a holds it")
            #expect(try await !a.upkeepStore.claimUpkeep(every: hour), "its rounds are an hour apart")
            // a dies; b takes upkeep over at a's pace: the next round an hour after a's last.
            try await Self.expire(a, opened)
            #expect(try await !b.upkeepStore.claimUpkeep(every: hour))
            try await opened.run("UPDATE work_claims SET done_at = done_at - 3600000 WHERE kind = 'upkeep'")
            #expect(try await b.upkeepStore.claimUpkeep(every: hour))
            try await b.upkeepStore.upkeepDone()
            #expect(try await !b.upkeepStore.claimUpkeep(every: hour))
            // A round forgets nodes dead for a day (a's lease ended "at 0"), not the living.
            #expect(try await opened.number("SELECT count(*) FROM trove_nodes") == 1)
            #expect(try await opened.number("SELECT count(*) FROM trove_nodes WHERE id = '\(b.database.node.id)'") == 1)
        }
    }

    @Test func anAccountsMembershipIsEvaluatedByOneNodeAndTakenOverWhenItDies() async throws {
        try await withTwoNodes { a, b, time, opened async throws in
            let stores = TestStores(a)
            let accounts = Accounts(store: stores.accounts)
            _ = try await accounts.create(name: "acme")
            let account = try await accounts.accountID(named: "acme")
            let segment = try await SegmentDefinitions(store: stores.segments, clock: time.clock).create(
                account: account,
                SegmentChange(name: "Clickers", definition: try ChameleonDefinition(
                    items: JSONParser.parse(Array(#"[{"kind":"event","value":"Clicked","mod":"gte","range":1}]"#.utf8)), op: nil)))
            // a steps first, so the account's evaluation is a's: it builds; b, stepping too, does nothing.
            #expect(try await a.membershipWork.step().built == [segment.id])
            try await a.database.query("UPDATE segments SET version = version + 1 WHERE account_id = \(account)")
            #expect(try await b.membershipWork.step().built.isEmpty, "a version to build, but the account is a's")
            while try await a.membershipWork.step().more {}
            for uid in ["x", "y"] {
                _ = try await Ingestor(store: b.ingestStore).ingest(.event, account: account, body: Array(#"{"uid":"\#(uid)","name":"Clicked"}"#.utf8))
            }
            // The marks ingest on b left are a's to take: b, stepping, does nothing.
            let onB = try await b.membershipWork.step()
            #expect(onB.touchedProfiles == 0 && onB.entered == 0)
            #expect(try await opened.number("SELECT count(*) FROM segment_members") == 0)
            try await Self.expire(a, opened)
            while try await b.membershipWork.step().more {}
            let members = try await stores.membership.members(account: account, segment: segment.id, asOf: nil, limit: 10, before: nil)
            #expect(members.page.items.compactMap(\.uid).sorted() == ["x", "y"])
            #expect(try await opened.number("SELECT count(*) FROM segment_changes") == 2, "each entry once in the ledger")
        }
    }

    @Test func twoNodesIngestingOneUidAtOnceMakeOneProfileAndDedupeKeysAndBatches() async throws {
        try await withTwoNodes { a, b, time, opened async throws in
            let account = try await TestPostgres.account(in: a.database)
            let nodes = [Ingestor(store: a.ingestStore), Ingestor(store: b.ingestStore)]
            // 40 uids, each sent to both nodes at once, events with a message_id sent to both.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<40 {
                    for (n, node) in nodes.enumerated() {
                        group.addTask {
                            _ = try await node.ingest(.event, account: account, body: Array(
                                #"{"uid":"u\#(i)","name":"Opened","message_id":"m\#(i)","node":\#(n)}"#.utf8))
                            _ = try await node.ingest(.profile, account: account, body: Array(#"{"uid":"p\#(i)","n":\#(n)}"#.utf8))
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await opened.number("SELECT count(*) FROM profiles WHERE uid LIKE 'u%'") == 40)
            #expect(try await opened.number("SELECT count(DISTINCT uid) FROM profiles WHERE uid LIKE 'p%'") == 40)
            #expect(try await opened.number("SELECT count(*) FROM profiles WHERE uid LIKE 'p%'") == 40, "one profile per uid")
            #expect(try await opened.number("SELECT count(*) FROM events") == 40, "a message_id sent to both nodes is stored once")
            // Both nodes interned the name (each caches its id): one row, counting every event once.
            #expect(try await opened.number("SELECT count(*) FROM event_names WHERE name = 'Opened'") == 1)
            #expect(try await opened.number("SELECT count FROM event_names WHERE name = 'Opened'") == 40)

            // One Idempotency-Key sent to both nodes at once: ingested once, both answered with the first reply.
            let body = Array(#"{"events":[{"uid":"k","name":"Keyed"},{"uid":"k","name":"Keyed"}]}"#.utf8)
            async let first = nodes[0].ingestBatch(.event, account: account, body: body, idempotencyKey: "batch-1") { BatchReply(status: 200, body: Array($0.id.utf8)) }
            async let second = nodes[1].ingestBatch(.event, account: account, body: body, idempotencyKey: "batch-1") { BatchReply(status: 200, body: Array($0.id.utf8)) }
            let (one, two) = try await (first, second)
            #expect(one.body == two.body, "the same reply (the same batch id)")
            #expect(try await opened.number("SELECT count(*) FROM events WHERE name_id IN (SELECT id FROM event_names WHERE name = 'Keyed')") == 2)
        }
    }

    @Test func aProfileErasedOnOneNodeIsNotFoundInTheOtherNodesCache() async throws {
        try await withTwoNodes { a, b, time, opened async throws in
            let account = try await TestPostgres.account(in: a.database)
            let onA = Ingestor(store: a.ingestStore)
            // a learns the uid's profile id (its uid cache), b erases the person.
            for _ in 0..<2 { _ = try await onA.ingest(.event, account: account, body: Array(#"{"uid":"gone","name":"Seen"}"#.utf8)) }
            _ = try await onA.ingestBatch(.event, account: account, body: Array(
                #"{"events":[{"uid":"gone","name":"Seen"},{"uid":"other","name":"Seen"}]}"#.utf8)) { _ in BatchReply(status: 200, body: []) }
            let erased = try await Erasure(store: b.ingestStore, reads: b.erasureStore).forget(account: account, person: .uid("gone"), source: .api)
            // a's next event for that uid makes a new person; nothing joins the erased one.
            _ = try await onA.ingestBatch(.event, account: account, body: Array(
                #"{"events":[{"uid":"gone","name":"Back"},{"uid":"other","name":"Back"}]}"#.utf8)) { _ in BatchReply(status: 200, body: []) }
            #expect(try await opened.number("SELECT count(*) FROM profiles WHERE uid = 'gone'") == 1)
            #expect(try await opened.number("SELECT count(*) FROM profiles WHERE id = \(erased.profileID)") == 0)
            #expect(try await opened.number("SELECT count(*) FROM events WHERE profile_id = \(erased.profileID)") == 0)
            #expect(try await opened.number("SELECT count(*) FROM events e JOIN profiles p ON p.account_id = e.account_id AND p.id = e.profile_id WHERE p.uid = 'gone'") == 1)
        }
    }

    @Test func aSecretRotatedOnOneNodeStopsWorkingOnTheOtherWithinTheCachesLifetime() async throws {
        try await withTwoNodes { a, b, time, _ async throws in
            let onA = Accounts(store: a.accountStore, clock: time.clock)
            let onB = Accounts(store: b.accountStore, clock: time.clock)
            let created = try await onA.create(name: "acme")
            let secret = created.accountSecret
            #expect(try await onA.authenticate(accountSecret: secret) != nil)
            _ = try await onB.rotate(name: "acme")
            // a remembers the old secret for at most the cache's lifetime (2 s on the clock), then asks again.
            time.advance(by: CredentialCache.lifetime + .milliseconds(1))
            #expect(try await onA.authenticate(accountSecret: secret) == nil)
        }
    }
}
