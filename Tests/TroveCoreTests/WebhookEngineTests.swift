import Synchronization
import Testing
import TroveTestEngines
@testable import TroveCore

/// Webhook endpoints and their outbox (contract §10) on every engine, sent through a transport that records.
@Suite struct WebhookEngineTests {
    static let now = Timestamp.parseISO8601("2026-03-01T12:00:00Z")!

    /// Answers 200 to paths under /ok, 500 elsewhere, and keeps what it was sent.
    final class Receiver: OutgoingTransport {
        let sent = Mutex<[(path: String, kind: String)]>([])
        func send(_ request: OutgoingRequest) async throws -> OutgoingReply {
            let body = try JSONParser.parse(request.body)
            sent.withLock { $0.append((request.destination.url.path, body["type"]?.stringValue ?? "")) }
            return OutgoingReply(status: request.destination.url.path.hasPrefix("/ok") ? 200 : 500)
        }
    }

    @Test(arguments: TestEngine.available)
    func endpointsDeliveriesRetriesAndSecrets(engine: TestEngine) async throws {
        try await engine.withStores(clock: .fixed(Self.now)) { (stores: TestStores) async throws in
            let accounts = Accounts(store: stores.accounts)
            _ = try await accounts.create(name: "acme")
            _ = try await accounts.create(name: "other")
            let account = try #require(try await accounts.accountID(named: "acme"))
            let other = try #require(try await accounts.accountID(named: "other"))
            let policy = WebhookAddressPolicy(allowInsecure: true)
            let webhooks = Webhooks(store: stores.webhooks, clock: .fixed(Self.now), policy: policy)
            let good = try await webhooks.create(account: account, WebhookEndpointChange(url: "http://127.0.0.1:9/ok", name: "good", topics: ["ping"]))
            #expect(good.secret != nil && good.topics == ["ping"] && good.eventNames == nil)
            let bad = try await webhooks.create(account: account, WebhookEndpointChange(url: "http://127.0.0.1:9/fail", topics: ["ping", "event.created"]))
            _ = try await webhooks.create(account: other, WebhookEndpointChange(url: "http://127.0.0.1:9/ok/other", topics: ["ping"]))
            #expect(try await webhooks.list(account: account).map(\.id) == [good.id, bad.id])
            #expect(try await webhooks.list(account: account).allSatisfy { $0.secret == nil })
            // Another account's endpoint is not found under this one.
            await #expect(throws: WebhookError.self) { try await webhooks.get(account: other, id: good.id) }

            let updated = try await webhooks.update(account: account, id: bad.id, WebhookEndpointChange(name: "renamed", eventNames: .some(["Paid"])))
            #expect(updated.name == "renamed" && updated.eventNames == ["paid"] && updated.url == "http://127.0.0.1:9/fail")
            let cleared = try await webhooks.update(account: account, id: bad.id, WebhookEndpointChange(eventNames: .some(nil)))
            #expect(cleared.eventNames == nil && cleared.name == "renamed")
            let rotated = try await webhooks.rotateSecret(account: account, id: good.id)
            #expect(rotated.secret != nil && rotated.secret != good.secret)

            let ping = try await webhooks.ping(account: account, id: good.id)
            let failing = try await webhooks.ping(account: account, id: bad.id)
            #expect(ping.state == .pending && ping.nextAttemptAt == Self.now && ping.envelopeID.hasPrefix("whd_"))
            let receiver = Receiver()
            let deliverer = WebhookDeliverer(store: stores.webhooks, clock: .fixed(Self.now), transport: receiver, policy: policy)
            try await deliverer.drain()
            #expect(receiver.sent.withLock { $0.map(\.path).sorted() } == ["/fail", "/ok"])
            let delivered = try await webhooks.deliveries(account: account, endpoint: good.id, limit: 10)
            #expect(delivered.map(\.state) == [.delivered] && delivered.first?.attempts == 1 && delivered.first?.lastStatus == 200)
            let retrying = try #require(try await webhooks.deliveries(account: account, endpoint: bad.id, limit: 10).first)
            #expect(retrying.id == failing.id && retrying.state == .pending && retrying.attempts == 1 && retrying.lastStatus == 500)
            #expect(retrying.nextAttemptAt! > Self.now)
            let endpoint = try await webhooks.get(account: account, id: bad.id)
            #expect(endpoint.lastItemState == "retrying" && endpoint.lastItemAt == Self.now && endpoint.lastItemError != nil)
            // Retried by hand: due now, attempts reset; a delivered one stays delivered.
            let again = try await webhooks.retry(account: account, endpoint: bad.id, delivery: failing.id)
            #expect(again.state == .pending && again.attempts == 0 && again.nextAttemptAt == Self.now)
            #expect(try await webhooks.retry(account: account, endpoint: good.id, delivery: ping.id).state == .delivered)
            await #expect(throws: WebhookError.self) { try await webhooks.retry(account: account, endpoint: good.id, delivery: failing.id) }

            try await webhooks.delete(account: account, id: bad.id)
            #expect(try await webhooks.list(account: account).map(\.id) == [good.id])
            await #expect(throws: WebhookError.self) { try await webhooks.delete(account: account, id: bad.id) }
            await #expect(throws: WebhookError.self) { try await webhooks.ping(account: account, id: bad.id) }
        }
    }
}
