import AsyncHTTPClient
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// Outgoing webhooks (contract §10) to a live local receiver that checks signatures the way a Chameleon
/// customer's receiver does and fails on demand; the retry schedule follows an injected clock.
@Suite struct WebhookDeliveryTests {
    final class Receiver: Sendable {
        struct Received: Sendable { var body: [UInt8]; var headers: HTTPFields; var authority: String? }
        let received = Mutex<[Received]>([])
        let status = Mutex<Int>(200)

        var router: Router<BasicRequestContext> {
            let router = Router()
            router.post("/hook") { request, _ -> Response in
                let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                self.received.withLock { $0.append(Received(body: body, headers: request.headers, authority: request.head.authority)) }
                return Response(status: .init(code: self.status.withLock { $0 }), body: .init(byteBuffer: .init(string: "receiver says \(self.status.withLock { $0 })")))
            }
            return router
        }
    }

    @Test(arguments: TestEngine.available)
    func deliveriesAreSignedRetriedOnScheduleAndRetryableByHand(engine: TestEngine) async throws {
        let time = MovableClock()
        try await Self.withReceiver(engine: engine, clock: time.clock) { receiver, port, trove, deliverer in
            try await trove.test { app in
                let created = try await app.v3(.post, "/v3/edit/webhooks", ["url": .string("http://127.0.0.1:\(port)/hook"), "topics": ["ping"], "name": "Local"])
                #expect(created.status == 200, "\(created.json ?? .null)")
                let id = try #require(created.json?.at("webhook.id")?.stringValue)
                let secret = try #require(created.json?.at("webhook.secret")?.stringValue)
                #expect(created.json?.at("webhook.uid") == .string("http://127.0.0.1:\(port)/hook"))
                #expect(try await app.v3(.get, "/v3/edit/webhooks/\(id)").json?.at("webhook.secret") == nil, "the secret is shown once")

                // Delivered, signed over the exact bytes, with the envelope and headers contract §10 names.
                let ping = try await app.v3(.post, "/v3/edit/webhooks/\(id)/ping")
                #expect(ping.json?.at("delivery.state") == "pending")
                try await deliverer.drain()
                let first = try #require(receiver.received.withLock { $0.first })
                let signature = try #require(first.headers[HTTPField.Name("X-Chameleon-Signature")!])
                let envelopeID = try WebhookSignature.verify(body: first.body, signature: signature, secret: secret, now: time.clock.now())
                #expect(envelopeID == first.headers[HTTPField.Name("X-Chameleon-Id")!])
                #expect(first.headers[.userAgent]?.hasPrefix("Trove-Webhooks/") == true)
                #expect(first.headers[.contentType] == "application/json")
                let envelope = try JSONParser.parse(first.body)
                #expect(envelope.objectKeys == ["id", "kind", "sent_at", "data"])
                #expect(envelope["kind"] == "ping")
                let deliveries = try await app.v3(.get, "/v3/edit/webhooks/\(id)/deliveries").json?["deliveries"]?.arrayValue ?? []
                #expect(deliveries.first?["state"] == "delivered" && deliveries.first?["attempts"] == 1 && deliveries.first?["last_status"] == 200)
                #expect(try await app.v3(.get, "/v3/edit/webhooks/\(id)").json?.at("webhook.last_item_state") == "delivered")

                // A failing receiver: retried after 5, 10 … 1280 minutes with a fresh sent_at and signature and
                // the same id, then failed.
                receiver.status.withLock { $0 = 503 }
                receiver.received.withLock { $0.removeAll() }
                let failing = try #require(try await app.v3(.post, "/v3/edit/webhooks/\(id)/ping").json?.at("delivery.id")?.stringValue)
                try await deliverer.drain()
                var waited: [Int64] = []
                for _ in 0..<9 {
                    let shown = try await app.v3(.get, "/v3/edit/webhooks/\(id)/deliveries?limit=1").json?["deliveries"]?.arrayValue?.first
                    #expect(shown?["state"] == "pending" && shown?["last_status"] == 503)
                    #expect(shown?["last_error"]?.stringValue?.contains("receiver says 503") == true)
                    let next = try #require(shown?["next_attempt_at"]?.stringValue.flatMap(Timestamp.parseISO8601))
                    waited.append((next.milliseconds - time.clock.now().milliseconds) / 60_000)
                    try await deliverer.drain()  // not due yet: nothing is sent
                    time.advance(seconds: (next.milliseconds - time.clock.now().milliseconds) / 1000)
                    try await deliverer.drain()
                }
                #expect(waited == [5, 10, 20, 40, 80, 160, 320, 640, 1280])
                let attempts = receiver.received.withLock { $0 }
                // At least once: the HTTP client may resend a request whose connection dropped as it went out,
                // which the receiver sees as a repeat with the same signature (and dedupes on the id).
                #expect(attempts.count >= 10)
                let ids = Set(attempts.map { $0.headers[HTTPField.Name("X-Chameleon-Id")!] ?? "" })
                #expect(ids.count == 1)
                #expect(Set(attempts.map { $0.headers[HTTPField.Name("X-Chameleon-Signature")!] ?? "" }).count == 10, "signed afresh per attempt")
                let failed = try await app.v3(.get, "/v3/edit/webhooks/\(id)/deliveries?limit=1").json?["deliveries"]?.arrayValue?.first
                #expect(failed?["state"] == "failed" && failed?["attempts"] == 10)
                #expect(try await app.v3(.get, "/v3/edit/webhooks/\(id)").json?.at("webhook.last_item_state") == "failed")

                // Retried by hand once the receiver is back.
                receiver.status.withLock { $0 = 204 }
                #expect(try await app.v3(.post, "/v3/edit/webhooks/\(id)/deliveries/\(failing)/retry").json?.at("delivery.state") == "pending")
                try await deliverer.drain()
                let again = try await app.v3(.get, "/v3/edit/webhooks/\(id)/deliveries?limit=1").json?["deliveries"]?.arrayValue?.first
                #expect(again?["state"] == "delivered")
            }
        }
    }

    /// The transport connects to the address the SSRF guard checked, not to what the host resolves to
    /// when the connection is made: a host that resolves nowhere still reaches the checked address, under
    /// its own name. And a host that resolves to a refused address is refused before any connection.
    @Test func callsGoToTheCheckedAddress() async throws {
        let receiver = Receiver()
        let receiverApp = Application(router: receiver.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "receiver"))
        try await receiverApp.test(.live) { receiverClient in
            let port = try #require(receiverClient.port)
            let transport = HTTPOutgoingTransport()
            let pinned = CheckedURL(url: URL(string: "http://hooks.invalid:\(port)/hook")!, host: "hooks.invalid", address: "127.0.0.1")
            let reply = try await transport.send(OutgoingRequest(method: "POST", to: pinned, headers: [("Content-Type", "application/json")], body: Array("{}".utf8), timeout: .seconds(60)))
            #expect(reply.status == 200)
            #expect(receiver.received.withLock { $0.first?.authority } == "hooks.invalid:\(port)")
            await transport.shutdown()

            // "localhost" resolves to loopback: refused without --allow-insecure-webhooks, whatever the scheme.
            await #expect(throws: WebhookAddressPolicy.Refusal.self) {
                _ = try await WebhookAddressPolicy().checkResolved(url: "https://localhost:\(port)/hook")
            }
            let checked = try await WebhookAddressPolicy(allowInsecure: true).checkResolved(url: "http://localhost:\(port)/hook")
            #expect(checked.host == "localhost")
            #expect(["127.0.0.1", "::1"].contains(checked.address))
        }
    }

    /// A queued delivery whose stored payload no longer parses (the file was edited outside Trove) is not
    /// sent with the payload as null: it fails with a reason that names the row.
    @Test func aDeliveryWhosePayloadDoesNotParseIsNotSent() async throws {
        try await Self.withReceiver { receiver, port, trove, deliverer in
            try await trove.test { app in
                let endpoint = try #require(try await app.v3(.post, "/v3/edit/webhooks", ["url": .string("http://127.0.0.1:\(port)/hook"), "topics": ["ping"]])
                    .json?.at("webhook.id")?.stringValue.flatMap(PublicID.decode))
                let now = TroveClock.system.now()
                try await trove.services.database.pool.write { db in
                    try SQLiteWebhookStore.enqueue(db, endpoint: endpoint, kind: "ping", data: ["n": 1], now: now)
                }
                try await StoredDataTests.corrupt(trove, "UPDATE webhook_deliveries SET data = '{\"n\":'")
                #expect(try await deliverer.dispatch() == 1)
                try await deliverer.drain()
                let error = try await trove.services.database.pool.read { db in
                    try String.fetchOne(db, sql: "SELECT last_error FROM webhook_deliveries")
                }
                #expect(error?.contains("the stored webhook_deliveries.data of row 1 does not parse") == true, "\(error ?? "nil")")
                #expect(receiver.received.withLock { $0.isEmpty })
            }
        }
    }

    /// A live receiver on loopback, a Trove on `clock` allowed to call it, and its deliverer.
    static func withReceiver(
        engine: TestEngine = .sqlite, clock: TroveClock = .system, _ body: @Sendable (Receiver, Int, TestTrove, WebhookDeliverer) async throws -> Void
    ) async throws {
        let receiver = Receiver()
        let receiverApp = Application(router: receiver.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "receiver"))
        try await receiverApp.test(.live) { receiverClient in
            let port = try #require(receiverClient.port)
            let trove = try await TestTrove(engine: engine, clock: clock, webhookPolicy: WebhookAddressPolicy(allowInsecure: true))
            let transport = HTTPOutgoingTransport()
            let deliverer = WebhookDeliverer(
                store: trove.services.engine.webhookStore, clock: clock, transport: transport, policy: WebhookAddressPolicy(allowInsecure: true))
            do {
                try await body(receiver, port, trove, deliverer)
            } catch {
                await transport.shutdown()
                throw error
            }
            await transport.shutdown()
        }
    }

    /// A backlog at one endpoint (more than a dispatch reads) neither delays another endpoint nor takes
    /// more than its 4 attempts in flight.
    @Test func oneEndpointsBacklogDoesNotDelayAnother() async throws {
        try await Self.withReceiver { _, port, trove, deliverer in
            try await trove.test { app in
                let busy = try #require(try await app.v3(.post, "/v3/edit/webhooks", ["url": .string("http://127.0.0.1:\(port)/hook"), "topics": ["ping"]])
                    .json?.at("webhook.id")?.stringValue.flatMap(PublicID.decode))
                let quiet = try #require(try await app.v3(.post, "/v3/edit/webhooks", ["url": .string("http://127.0.0.1:\(port)/hook"), "topics": ["ping"]])
                    .json?.at("webhook.id")?.stringValue.flatMap(PublicID.decode))
                let now = TroveClock.system.now()
                try await trove.services.database.pool.write { db in
                    for _ in 0..<2_000 { try SQLiteWebhookStore.enqueue(db, endpoint: busy, kind: "ping", data: [:], now: now) }
                    try SQLiteWebhookStore.enqueue(db, endpoint: quiet, kind: "ping", data: ["quiet": true], now: now.adding(milliseconds: 1))
                }
                #expect(try await deliverer.dispatch() == 5, "4 for the busy endpoint, 1 for the quiet one")
                try await deliverer.drain()
                let delivered = try await trove.services.database.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'")
                }
                #expect(delivered == 2_001)
            }
        }
    }

    /// Membership changes and finished exports enqueue deliveries in their own transactions.
    @Test(arguments: TestEngine.available)
    func segmentChangesAndFinishedExportsAreEnqueued(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { app in
            let hook = try await app.v3(.post, "/v3/edit/webhooks", ["url": "https://hooks.example.com/x", "topics": ["segment.entered", "segment.exited", "export.finished"]])
            let id = try #require(hook.json?.at("webhook.id")?.stringValue)
            let other = try await app.v3(.post, "/v3/edit/webhooks", ["url": "https://hooks.example.com/y", "topics": ["ping"]])
            let otherID = try #require(other.json?.at("webhook.id")?.stringValue)
            let segment = try await app.v3(.post, "/v3/edit/segments", ["name": "Pro", "items": [["prop": "plan", "op": "eq", "value": "pro"]]])
            let segmentID = try #require(segment.json?.at("segment.id")?.stringValue)
            try await app.post(app.hook("profiles"), json: ["uid": "ann", "email": "ann@example.com", "plan": "pro"])
            try await trove.services.membership.catchUp()
            try await app.post(app.hook("profiles"), json: ["uid": "ann", "plan": "free"])
            try await trove.services.membership.catchUp()
            let export = try await app.v1(.post, "/v1/exports/customers", key: trove.credentials.appAPIKey, [:])
            try await trove.services.exportRunner.runUntilIdle()

            let deliveries = (try await app.v3(.get, "/v3/edit/webhooks/\(id)/deliveries").json?["deliveries"]?.arrayValue ?? []).reversed()
            #expect(deliveries.map { $0["kind"] } == ["segment.entered", "segment.exited", "export.finished"])
            let data = try await trove.strings("SELECT CAST(data AS text) FROM webhook_deliveries ORDER BY id").map { try JSONParser.parse(Array($0.utf8)) }
            #expect(data.count == 3, "the ping-only endpoint gets none")
            #expect(data[0].at("segment.id") == .string(segmentID) && data[0].at("segment.name") == "Pro")
            #expect(data[0].at("profile.uid") == "ann" && data[0].at("profile.email") == "ann@example.com")
            #expect(data[1].at("profile.uid") == "ann")
            #expect(data[2].at("export.id") == export.json?.at("export.id") && data[2].at("export.status") == "done")
            #expect(try await app.v3(.get, "/v3/edit/webhooks/\(otherID)/deliveries").json?["deliveries"] == [])
        }
    }

    /// `event.created` per stored event (none for a repeated message_id), filtered by the endpoint's event
    /// names; manual segment edits announce segment.entered too.
    @Test(arguments: TestEngine.available)
    func eventsCreatedFollowTheEndpointFilter(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { app in
            let all = try #require(try await app.v3(.post, "/v3/edit/webhooks", ["url": "https://hooks.example.com/all", "topics": ["event.created", "segment.entered"]])
                .json?.at("webhook.id")?.stringValue)
            let tours = try #require(try await app.v3(.post, "/v3/edit/webhooks", [
                "url": "https://hooks.example.com/tours", "topics": ["event.created"], "event_names": ["Completed Tour (Chameleon)"],
            ]).json?.at("webhook.id")?.stringValue)
            try await app.post(app.hook("profiles"), json: ["uid": "ann", "email": "ann@example.com"])
            try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Completed Tour (Chameleon)", "tour_id": 7, "message_id": "m1", "timestamp": "2026-11-20T10:00:00.5Z"])
            try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Completed Tour (Chameleon)", "tour_id": 7, "message_id": "m1"])
            try await app.post(app.hook("events/batch"), json: ["events": [["uid": "ann", "name": "Clicked"], ["uid": "bob", "name": "Completed tour (chameleon)"]]])
            let c = trove.credentials
            let segment = try #require(try await app.v1(.post, "/v1/segments", key: c.appAPIKey, ["segment": ["name": "VIP"]]).json?.at("segment.id")?.int)
            #expect(try await app.track(.post, "/api/v1/segments/\(segment)/add_customers", site: c.siteID, key: c.trackAPIKey, ["ids": ["ann"]]).status == 200)

            let kinds = { (id: String) in (try await app.v3(.get, "/v3/edit/webhooks/\(id)/deliveries").json?["deliveries"]?.arrayValue ?? []).reversed().map { $0["kind"] } }
            #expect(try await kinds(all) == ["event.created", "event.created", "event.created", "segment.entered"])
            #expect(try await kinds(tours) == ["event.created", "event.created"])
            let data = try await trove.strings("SELECT CAST(d.data AS text) FROM webhook_deliveries d WHERE d.endpoint_id = \(PublicID.decode(tours)!) ORDER BY d.id")
                .map { try JSONParser.parse(Array($0.utf8)) }
            #expect(data[0].at("event.name") == "Completed Tour (Chameleon)" && data[0].at("event.name_uid") == "completed_tour_chameleon")
            #expect(data[0].at("event.timestamp") == "2026-11-20T10:00:00.500Z" && data[0].at("event.source") == "hook")
            #expect(data[0].at("event.properties.tour_id") == 7)
            #expect(data[0].at("profile.uid") == "ann" && data[0].at("profile.email") == "ann@example.com")
            #expect(data[1].at("profile.uid") == "bob" && data[1].at("event.name") == "Completed tour (chameleon)")
        }
    }

    @Test(arguments: TestEngine.available)
    func endpointsAreValidatedAndManaged(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { app in
            let cases: [(JSON, String)] = [(["url": "http://hooks.example.com/x", "topics": ["ping"]], "https"),
                                    (["url": "https://127.0.0.1/x", "topics": ["ping"]], "loopback"),
                                    (["url": "https://169.254.169.254/x", "topics": ["ping"]], "link-local"),
                                    (["url": "https://hooks.example.com/x", "topics": ["nope"]], "topics[0]"),
                                    (["url": "https://hooks.example.com/x"], "topics: required")]
            for (body, message) in cases {
                let reply = try await app.v3(.post, "/v3/edit/webhooks", body)
                #expect(reply.status == 422, "\(body)")
                #expect(reply.json?["messages"]?.arrayValue?.first?.stringValue?.contains(message) == true, "\(reply.json ?? .null)")
            }
            let created = try await app.v3(.post, "/v3/edit/webhooks", ["url": "https://hooks.example.com/x", "topics": ["event.created", "segment.entered"], "event_names": ["Completed Tour (Chameleon)"]])
            let id = try #require(created.json?.at("webhook.id")?.stringValue)
            #expect(created.json?.at("webhook.event_names") == ["completed_tour_chameleon"])
            let secret = created.json?.at("webhook.secret")
            let patched = try await app.v3(.patch, "/v3/edit/webhooks/\(id)", ["enabled": false, "topics": ["ping"]])
            #expect(patched.json?.at("webhook.enabled") == false && patched.json?.at("webhook.topics") == ["ping"])
            let rotated = try await app.v3(.post, "/v3/edit/webhooks/\(id)/rotate_secret").json?.at("webhook.secret")
            #expect(rotated != nil && rotated != secret)
            #expect(try await app.v3(.get, "/v3/edit/webhooks").json?["webhooks"]?.arrayValue?.count == 1)
            #expect(try await app.v3(.delete, "/v3/edit/webhooks/\(id)").status == 200)
            #expect(try await app.v3(.get, "/v3/edit/webhooks/\(id)").status == 404)
        }
    }
}
