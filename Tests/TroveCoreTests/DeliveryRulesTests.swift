import Foundation
import Synchronization
import Testing
@testable import TroveCore

/// The pure rules of data out (contract §10): webhook signatures (a vector computed with Python's `hmac`),
/// retry schedules, and where webhooks may be sent.
@Suite struct DeliveryRulesTests {
    static let body = Array(#"{"id":"evt_1","kind":"ping","sent_at":"2026-03-01T12:00:00.000Z","data":{}}"#.utf8)
    static let vector = "d2c26689354bc4d2fb6c5b9da7f415c30e411e503c707f3b798bdc271f1ec9df"
    static let sentAt = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

    @Test func signaturesMatchAnIndependentVectorAndVerify() throws {
        #expect(WebhookSignature.sign(body: Self.body, secret: "whsec_chameleon") == Self.vector)
        #expect(try WebhookSignature.verify(body: Self.body, signature: Self.vector, secret: "whsec_chameleon", now: Self.sentAt.adding(milliseconds: 299_000)) == "evt_1")
        #expect(throws: WebhookSignature.Failure.badSignature) {
            try WebhookSignature.verify(body: Self.body + [0x20], signature: Self.vector, secret: "whsec_chameleon", now: Self.sentAt)
        }
        #expect(throws: WebhookSignature.Failure.badSignature) {
            try WebhookSignature.verify(body: Self.body, signature: Self.vector, secret: "other", now: Self.sentAt)
        }
        #expect(throws: WebhookSignature.Failure.stale(seconds: 301)) {
            try WebhookSignature.verify(body: Self.body, signature: Self.vector, secret: "whsec_chameleon", now: Self.sentAt.adding(milliseconds: 301_000))
        }
        let undated = Array(#"{"id":"evt_2"}"#.utf8)
        #expect(throws: WebhookSignature.Failure.noSentAt) {
            try WebhookSignature.verify(body: undated, signature: WebhookSignature.sign(body: undated, secret: "s"), secret: "s", now: Self.sentAt)
        }
    }

    @Test func webhooksRetryNineTimesOverAbout43Hours() {
        let minutes = (1...9).map { RetrySchedule.nextWebhookAttempt(after: $0, at: Self.sentAt)!.milliseconds - Self.sentAt.milliseconds }.map { $0 / 60_000 }
        #expect(minutes == [5, 10, 20, 40, 80, 160, 320, 640, 1280])
        #expect(RetrySchedule.nextWebhookAttempt(after: 10, at: Self.sentAt) == nil)
        #expect(minutes.reduce(0, +) == 2555)  // ≈ 42.6 h
    }

    @Test func customerIOBacksOffFrom10SecondsTo5MinutesFor24Hours() {
        let first = Self.sentAt
        let waits = (1...7).map { RetrySchedule.nextCustomerIOAttempt(after: $0, firstAttempt: first, at: first)!.milliseconds / 1000 - first.seconds }
        #expect(waits == [10, 20, 40, 80, 160, 300, 300])
        #expect(RetrySchedule.nextCustomerIOAttempt(after: 1, firstAttempt: first, retryAfter: 42, at: first)!.seconds - first.seconds == 42)
        #expect(RetrySchedule.nextCustomerIOAttempt(after: 1, firstAttempt: first, retryAfter: 3600, at: first)!.seconds - first.seconds == 300)
        #expect(RetrySchedule.nextCustomerIOAttempt(after: 30, firstAttempt: first, at: first.adding(milliseconds: 86_400_000)) == nil)
    }

    @Test(arguments: [
        ("8.8.8.8", WebhookAddressPolicy.Kind.global), ("127.0.0.1", .loopback), ("10.1.2.3", .privateNetwork),
        ("172.16.0.1", .privateNetwork), ("172.32.0.1", .global), ("192.168.1.1", .privateNetwork), ("100.64.0.1", .privateNetwork),
        ("169.254.169.254", .linkLocal), ("0.0.0.0", .unspecified), ("224.0.0.1", .multicast), ("::1", .loopback), ("::", .unspecified),
        ("fe80::1", .linkLocal), ("fe80::1%eth0", .linkLocal), ("fd00::1", .privateNetwork), ("2001:4860:4860::8888", .global),
        ("::ffff:169.254.169.254", .linkLocal), ("::ffff:8.8.8.8", .global), ("ff02::1", .multicast),
        // Refused IPv4 ranges in IPv6 dress: mapped, compatible, NAT64, 6to4.
        ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("::127.0.0.1", .loopback), ("::10.0.0.1", .privateNetwork),
        ("::169.254.169.254", .linkLocal), ("::8.8.8.8", .global), ("64:ff9b::169.254.169.254", .linkLocal),
        ("64:ff9b::a9fe:a9fe", .linkLocal), ("64:ff9b::7f00:1", .loopback), ("64:ff9b::8.8.8.8", .global),
        ("64:ff9b:1::1", .privateNetwork), ("2002:a9fe:a9fe::1", .linkLocal), ("2002:c0a8:0101::1", .privateNetwork),
        ("2002:0808:0808::1", .global),
        // The legacy IPv4 forms the resolver reads in a host name.
        ("127.1", .loopback), ("0x7f000001", .loopback), ("2130706433", .loopback), ("0177.0.0.1", .loopback), ("10.1", .privateNetwork),
        ("0xa9.0xfe.0xa9.0xfe", .linkLocal),
    ])
    func addressesAreClassified(_ address: String, _ kind: WebhookAddressPolicy.Kind) {
        #expect(WebhookAddressPolicy.kind(of: address) == kind)
    }

    @Test func urlsAndResolvedAddressesAreChecked() throws {
        let strict = WebhookAddressPolicy(), loose = WebhookAddressPolicy(allowInsecure: true)
        _ = try strict.check(url: "https://hooks.example.com/trove")
        for refused in ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://[::1]/x", "https://10.0.0.5/x", "https://localhost/x",
                        "https://169.254.169.254/latest/meta-data", "https://user:pw@hooks.example.com/", "ftp://x/y", "not a url",
                        "https://0x7f000001/x", "https://2130706433/x", "https://127.1/x", "https://0xa9fea9fe/latest"] {
            #expect(throws: WebhookAddressPolicy.Refusal.self, "\(refused)") { try strict.check(url: refused) }
        }
        _ = try loose.check(url: "http://127.0.0.1:9000/hook")
        #expect(throws: WebhookAddressPolicy.Refusal.self) { try loose.check(url: "http://169.254.169.254/") }
        #expect(throws: WebhookAddressPolicy.Refusal.self) { try strict.check(addresses: ["93.184.216.34", "10.0.0.1"]) }
        #expect(throws: WebhookAddressPolicy.Refusal.self) { try loose.check(addresses: ["fe80::1%eth0"]) }
        try loose.check(addresses: ["127.0.0.1", "::1"])
        try strict.check(addresses: ["93.184.216.34"])
        #expect(WebhookAddressPolicy.resolve("127.0.0.1") == ["127.0.0.1"])
    }

    /// A lookup blocks for as long as the name server takes (20 s when it does not answer). More lookups
    /// waiting at once than the cooperative pool has threads must leave that pool free: here the test's own
    /// task, which runs on it, is what lets them finish. Lookups on the pool would hold all of its threads
    /// until the bound below let them fail with no address.
    @Test func lookupsWaitOnThreadsOfTheirOwn() async throws {
        let waiting = ProcessInfo.processInfo.activeProcessorCount + 2
        let gate = DispatchSemaphore(value: 0)
        let (started, start) = AsyncStream.makeStream(of: Void.self)
        let policy = WebhookAddressPolicy(lookup: { _ in
            start.yield()
            return gate.wait(timeout: .now() + 30) == .success ? ["93.184.216.34"] : []
        }, lookupThreads: LookupThreads(limit: waiting), clock: ManualClock(Self.sentAt).clock)
        try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<waiting { group.addTask { try await policy.checkResolved(url: "https://hooks\(i).example.com/x").address } }
            var count = 0
            for await _ in started {
                count += 1
                if count == waiting { break }
            }
            for _ in 0..<waiting { gate.signal() }
            var addresses: [String] = []
            for try await address in group { addresses.append(address) }
            #expect(addresses == Array(repeating: "93.184.216.34", count: waiting))
        }
    }

    /// A lookup still going after the limit is refused — a request answers at once, a delivery retries — and
    /// its thread is left to end on its own.
    @Test func aLookupPastItsLimitIsRefused() async throws {
        let time = ManualClock(Self.sentAt)
        let gate = DispatchSemaphore(value: 0)
        let (started, start) = AsyncStream.makeStream(of: Void.self)
        let policy = WebhookAddressPolicy(lookup: { _ in
            start.yield()
            gate.wait()
            return ["93.184.216.34"]
        }, lookupLimit: .seconds(5), clock: time.clock)
        let checked = Task { try await policy.checkResolved(url: "https://hooks.example.com/x") }
        for await _ in started { break }
        time.advance(by: .seconds(5))
        await #expect(throws: WebhookAddressPolicy.Refusal(description: "hooks.example.com did not resolve within 5 s")) { _ = try await checked.value }
        gate.signal()
    }

    /// A silent name server holds at most the threads' limit: lookups beyond it wait their turn, and one
    /// whose caller gave up meanwhile never runs.
    @Test func lookupsBeyondTheThreadsLimitWaitTheirTurn() async throws {
        let time = ManualClock(Self.sentAt)
        let threads = LookupThreads(limit: 2)
        let gate = DispatchSemaphore(value: 0)
        let counts = Mutex((running: 0, most: 0, started: [String]()))
        let policy = WebhookAddressPolicy(lookup: { host in
            counts.withLock { c in
                c.running += 1
                c.most = max(c.most, c.running)
                c.started.append(host)
            }
            _ = gate.wait(timeout: .now() + 30)  // bounded only for a lookup that should never have started
            counts.withLock { $0.running -= 1 }
            return ["93.184.216.34"]
        }, lookupThreads: threads, clock: time.clock)
        let checks = (0..<4).map { i in Task { try await policy.checkResolved(url: "https://h\(i).example.com/x") } }
        while threads.state.withLock({ $0.running < 2 || $0.waiting.count < 2 }) { await Task.yield() }
        while counts.withLock({ $0.running < 2 }) { await Task.yield() }
        // Two run, two wait; every caller gives up (5 s), then the two running lookups end.
        time.advance(by: .seconds(5))
        for check in checks {
            await #expect(throws: WebhookAddressPolicy.Refusal.self) { _ = try await check.value }
        }
        gate.signal()
        gate.signal()
        while threads.state.withLock({ $0.running > 0 }) { await Task.yield() }
        let seen = counts.withLock { $0 }
        #expect(seen.most == 2)
        #expect(seen.started.count == 2)
        #expect(threads.state.withLock { $0.waiting.isEmpty })
    }

    /// A ULID is 26 Crockford base32 characters, the time first: an independent vector computed in Python
    /// (`base32_crockford` of (ms << 80 | high << 64 | low)).
    @Test func ulidsEncodeTimeThenTheEventID() {
        #expect(ULID.make(milliseconds: 1_700_000_000_000, high: 1, low: 42) == "01HF7YAT00000G00000000001A")
        #expect(ULID.make(milliseconds: 0, high: 0, low: 0) == String(repeating: "0", count: 26))
    }

    @Test func deliveredRowsArePrunedAfter30Days() async throws {
        let database = try await temporaryDatabase()
        let now = Self.sentAt
        let day: Int64 = 86_400_000
        try await database.pool.write { db in
            try db.execute(sql: "INSERT INTO accounts (id, name, account_secret_hash, app_api_key_hash, site_id, track_api_key_hash, created_at) VALUES (1, 'a', randomblob(32), randomblob(32), 's', randomblob(32), 0)")
            try db.execute(sql: "INSERT INTO webhook_endpoints (id, account_id, url, topics, secret, created_at, updated_at) VALUES (1, 1, 'https://x', '[]', 's', 0, 0)")
            for (i, (state, age)) in [("delivered", 31), ("delivered", 29), ("failed", 40), ("pending", 40)].enumerated() {
                let at = now.milliseconds - Int64(age) * day
                try db.execute(
                    sql: "INSERT INTO webhook_deliveries (endpoint_id, envelope_id, kind, data, state, next_attempt_at, created_at, delivered_at) VALUES (1, ?, 'ping', '{}', ?, ?, ?, ?)",
                    arguments: ["e\(i)", state, at, at, state == "delivered" ? at : nil])
                try db.execute(
                    sql: "INSERT INTO customerio_deliveries (account_id, profile_id, kind, identifier, body, state, next_attempt_at, created_at, delivered_at) VALUES (1, 1, 'event', 'u', '{}', ?, ?, ?, ?)",
                    arguments: [state, at, at, state == "delivered" ? at : nil])
            }
        }
        #expect(try await OutboxRetention.prune(SQLiteUpkeepStore(database: database), now: now) == 2)
        let left = try await database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT state FROM webhook_deliveries UNION ALL SELECT state FROM customerio_deliveries")
        }
        #expect(left.sorted() == ["delivered", "delivered", "failed", "failed", "pending", "pending"])
    }
}
