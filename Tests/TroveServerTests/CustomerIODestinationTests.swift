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

/// A fake Customer.io Track API, written from contract §10 and Customer.io's documentation: Basic auth with
/// the site id and API key, the three call shapes, JSON bodies; it can fail on demand.
final class FakeCustomerIO: Sendable {
    struct Call: Sendable, Equatable, CustomStringConvertible {
        var method: String
        var path: String
        var query: String
        var body: JSON
        var description: String { "\(method) \(path)\(query.isEmpty ? "" : "?" + query)" }
    }

    let site: String
    let key: String
    let calls = Mutex<[Call]>([])
    /// Replies to give before answering 200: (status, Retry-After).
    let failures = Mutex<[(Int, String?)]>([])
    let problems = Mutex<[String]>([])

    init(site: String = "site-1", key: String = "track-key-1") {
        self.site = site
        self.key = key
    }

    var router: Router<BasicRequestContext> {
        let router = Router()
        router.put("/api/v1/customers/:id") { request, context in try await self.handle(request, context) }
        router.delete("/api/v1/customers/:id") { request, context in try await self.handle(request, context) }
        router.post("/api/v1/customers/:id/events") { request, context in try await self.handle(request, context) }
        router.post("/api/v1/segments/:segment/add_customers") { request, context in try await self.handle(request, context) }
        router.post("/api/v1/segments/:segment/remove_customers") { request, context in try await self.handle(request, context) }
        return router
    }

    func handle(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let expected = "Basic " + Data("\(site):\(key)".utf8).base64EncodedString()
        guard request.headers[.authorization] == expected else {
            problems.withLock { $0.append("bad auth on \(request.uri.path)") }
            return Response(status: .unauthorized)
        }
        let bytes = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
        if request.method == .delete {
            // Customer.io's customer delete takes no body.
            if !bytes.isEmpty { problems.withLock { $0.append("a body on DELETE \(request.uri.path)") } }
            calls.withLock { $0.append(Call(method: "DELETE", path: request.uri.path, query: request.uri.query ?? "", body: .null)) }
            return Response(status: .ok, body: .init(byteBuffer: .init(string: "{}")))
        }
        if request.headers[.contentType] != "application/json" { problems.withLock { $0.append("content type on \(request.uri.path)") } }
        guard let body = try? JSONParser.parse(bytes), case .object = body else {
            problems.withLock { $0.append("body not a JSON object on \(request.uri.path)") }
            return Response(status: .badRequest)
        }
        calls.withLock { $0.append(Call(method: "\(request.method)", path: request.uri.path, query: request.uri.query ?? "", body: body)) }
        if let (status, retryAfter) = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            var headers = HTTPFields()
            if let retryAfter { headers[HTTPField.Name("Retry-After")!] = retryAfter }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: .init(string: "{\"meta\":{\"error\":\"fake says \(status)\"}}")))
        }
        return Response(status: .ok, body: .init(byteBuffer: .init(string: "{}")))
    }

    func take() -> [Call] { calls.withLock { let c = $0; $0.removeAll(); return c } }
}

@Suite struct CustomerIODestinationTests {
    struct Setup {
        var fake: FakeCustomerIO
        var port: Int
        var time: MovableClock
        var trove: TestTrove
        var sender: CustomerIODeliverer
    }

    /// A live fake Customer.io, a Trove on a movable clock allowed to call it, and a deliverer.
    func withFake(engine: TestEngine = .sqlite, _ body: @Sendable (Setup) async throws -> Void) async throws {
        let fake = FakeCustomerIO()
        let app = Application(router: fake.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "fake-cio"))
        try await app.test(.live) { client in
            let time = MovableClock()
            let trove = try await TestTrove(engine: engine, clock: time.clock, webhookPolicy: WebhookAddressPolicy(allowInsecure: true))
            let http = HTTPOutgoingTransport()
            let sender = CustomerIODeliverer(store: trove.services.engine.integrationStore, clock: time.clock, transport: http,
                                             policy: WebhookAddressPolicy(allowInsecure: true))
            do {
                try await body(Setup(fake: fake, port: try #require(client.port), time: time, trove: trove, sender: sender))
            } catch {
                await http.shutdown()
                throw error
            }
            await http.shutdown()
            #expect(fake.problems.withLock { $0 } == [])
        }
    }

    @Test(arguments: TestEngine.available)
    func settingsHaveChameleonDefaultsAndHideTheKey(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine, webhookPolicy: WebhookAddressPolicy(allowInsecure: true))
        try await trove.test { app in
            #expect(try await app.v3(.get, "/v3/edit/integrations/customerio").status == 404)
            let noKey = try await app.v3(.put, "/v3/edit/integrations/customerio", ["site_id": "s"])
            #expect(noKey.status == 422 && "\(noKey.json ?? .null)".contains("api_key: required"))
            let bad = try await app.v3(.put, "/v3/edit/integrations/customerio", ["site_id": "s", "api_key": "k", "region": "mars"])
            #expect(bad.status == 422 && "\(bad.json ?? .null)".contains("region"))
            let badPath = try await app.v3(.put, "/v3/edit/integrations/customerio", ["site_id": "s", "api_key": "k", "trigger_paths": [["pattern": "/x"]]])
            #expect(badPath.status == 422 && "\(badPath.json ?? .null)".contains("trigger_paths[0].fire"))
            #expect(try await app.v3(.put, "/v3/edit/integrations/customerio", ["site_id": "s", "api_key": "k", "sync_segments": [["segment_id": "99", "customerio_segment_id": 3]]]).status == 422)
            #expect(try await app.v3(.put, "/v3/edit/integrations/customerio", ["site_id": "s", "api_key": "k", "track_url": "http://169.254.169.254"]).status == 422)

            let put = try await app.v3(.put, "/v3/edit/integrations/customerio", ["site_id": "s", "api_key": "secret-key-1234", "region": "eu"])
            #expect(put.status == 200, "\(put.json ?? .null)")
            let shown = try #require(put.json?["integration"])
            #expect(shown["api_key"] == nil && shown["api_key_hint"] == "…1234")
            #expect(shown.at("events.started_tour_chameleon") == true && shown.at("events.completed_tour_chameleon") == true)
            #expect(shown.at("events.exited_tour_chameleon") == true && shown.at("events.step_seen_chameleon") == false)
            #expect(shown["forward_all_events"] == false && shown["sync_profiles"] == true && shown["identify_by"] == "id")
            // A PUT without the key keeps it.
            #expect(try await app.v3(.put, "/v3/edit/integrations/customerio", ["site_id": "s2"]).json?.at("integration.api_key_hint") == "…1234")
            #expect(try await app.v3(.delete, "/v3/edit/integrations/customerio").status == 200)
            #expect(try await app.v3(.get, "/v3/edit/integrations/customerio").status == 404)
        }
    }

    @Test func eventRulesFollowTogglesAdminsAndTriggerPaths() throws {
        var d = CustomerIODestination(siteID: "s", apiKey: "k")
        #expect(d.fires(nameUID: "started_tour_chameleon", properties: [], admin: false))
        #expect(!d.fires(nameUID: "step_seen_chameleon", properties: [], admin: false))
        #expect(!d.fires(nameUID: "previewed_tour_chameleon", properties: [], admin: false))
        #expect(d.fires(nameUID: "previewed_tour_chameleon", properties: [], admin: true))
        #expect(!d.fires(nameUID: "clicked", properties: [], admin: false))
        d.forwardAllEvents = true
        #expect(d.fires(nameUID: "clicked", properties: [], admin: false))
        d.events["step_seen_chameleon"] = true
        #expect(d.fires(nameUID: "step_seen_chameleon", properties: [], admin: false))
        d.triggerPaths = [.init(pattern: "/admin/*", fire: false), .init(pattern: "/app/*", fire: true), .init(pattern: "*", fire: false)]
        #expect(!d.fires(nameUID: "clicked", properties: [JSONMember("url", "https://x.example.com/admin/users?id=1")], admin: false))
        #expect(d.fires(nameUID: "clicked", properties: [JSONMember("path", "/app/settings/billing")], admin: false))
        #expect(!d.fires(nameUID: "clicked", properties: [JSONMember("page_url", "/pricing")], admin: false), "the catch-all rule")
        #expect(d.fires(nameUID: "clicked", properties: [], admin: false), "no path property: fires")
        #expect(CustomerIODestination.glob("/a?c/*", matches: "/abc/d/e") && !CustomerIODestination.glob("/a?c", matches: "/abbc"))
    }

    /// A queued call whose stored body no longer parses fails with a reason naming the row; it is not
    /// sent as an empty identify, and the profile's later calls go on.
    @Test func aCallWhoseStoredBodyDoesNotParseFailsAndIsNotSent() async throws {
        try await withFake { setup in
            let (fake, port, trove, sender) = (setup.fake, setup.port, setup.trove, setup.sender)
            try await trove.test { app in
                let put = try await app.v3(.put, "/v3/edit/integrations/customerio", [
                    "site_id": .string(fake.site), "api_key": .string(fake.key), "track_url": .string("http://127.0.0.1:\(port)"),
                ])
                #expect(put.status == 200, "\(put.json ?? .null)")
                try await app.post(app.hook("profiles"), json: ["uid": "ann", "plan": "pro"])
                try await StoredDataTests.corrupt(trove, "UPDATE customerio_deliveries SET body = '{\"plan\":' WHERE kind = 'identify'")
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Started Tour (Chameleon)"])
                try await sender.drain()
                #expect(fake.take().map(\.description) == ["POST /api/v1/customers/ann/events"], "only the event: the broken identify is not sent")
                let failed = try await app.v3(.get, "/v3/edit/integrations/customerio/deliveries?state=failed").json?["deliveries"]?.arrayValue ?? []
                #expect(failed.count == 1 && failed.first?["kind"] == "identify")
                #expect(failed.first?["last_error"]?.stringValue?.contains("the stored customerio_deliveries.body of row") == true, "\(failed)")
            }
        }
    }

    /// Identify, events and segment changes reach a live fake Track API in per-profile order, with the
    /// value and attribute limits; 5xx/429 are retried on schedule (Retry-After honoured) while the
    /// profile's later rows wait; other 4xx fail at once with the reply kept.
    @Test(arguments: TestEngine.available)
    func profilesEventsAndSegmentsReachCustomerIOInOrder(engine: TestEngine) async throws {
        try await withFake(engine: engine) { setup in
            let (fake, port, time, trove, sender) = (setup.fake, setup.port, setup.time, setup.trove, setup.sender)
            try await trove.test { app in
                let c = trove.credentials
                let vip = try #require(try await app.v1(.post, "/v1/segments", key: c.appAPIKey, ["segment": ["name": "VIP"]]).json?.at("segment.id")?.int)
                let put = try await app.v3(.put, "/v3/edit/integrations/customerio", [
                    "site_id": .string(fake.site), "api_key": .string(fake.key), "track_url": .string("http://127.0.0.1:\(port)"),
                    "trigger_paths": [["pattern": "/admin/*", "fire": false]],
                    "sync_segments": [["segment_id": .int(vip), "customerio_segment_id": 42]],
                ])
                #expect(put.status == 200, "\(put.json ?? .null)")

                var many: [JSONMember] = (0..<350).map { JSONMember("attr_\($0)", .int(Int64($0))) }
                many.append(JSONMember("tags", .array((0..<100).map { .string("tag-\($0 + 1000)-xxxxxxxxxxx") })))  // 2,301 bytes of JSON
                try await app.post(app.hook("profiles"), json: .object([JSONMember("uid", "ann"), JSONMember("email", "ann@example.com")] + many))
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Started Tour (Chameleon)", "tour_id": 7, "timestamp": 1_700_000_000])
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Step Seen (Chameleon)"])
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Previewed Tour (Chameleon)"])
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Completed Tour (Chameleon)", "url": "https://app.example.com/admin/tours"])
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Completed Tour (Chameleon)", "url": "https://app.example.com/home", "tour_id": 7])
                try await sender.drain()

                let first = fake.take()
                #expect(first.map(\.description) == [
                    "PUT /api/v1/customers/ann", "PUT /api/v1/customers/ann",
                    "POST /api/v1/customers/ann/events", "POST /api/v1/customers/ann/events",
                ])
                let attributes = first[0].body.objectKeys.count + first[1].body.objectKeys.count
                #expect(first[0].body.objectKeys.count == 300 && attributes == 353, "350 + tags + email + created_at over two calls")
                let tags = (first[0].body["tags"] ?? first[1].body["tags"])?.arrayValue ?? []
                #expect(tags.count == 43 && tags.last == "tag-1042-xxxxxxxxxxx", "the leading tags whose JSON fits in 1000 bytes")
                #expect((first[0].body["email"] ?? first[1].body["email"]) == "ann@example.com")
                let started = first[2].body
                #expect(started["name"] == "Started Tour (Chameleon)" && started.at("data.tour_id") == 7 && started["timestamp"] == 1_700_000_000)
                #expect(started["id"]?.stringValue?.count == 26, "a ULID")
                #expect(first[3].body["name"] == "Completed Tour (Chameleon)" && first[3].body.at("data.url") == "https://app.example.com/home")

                // Segment changes: an add for ann, in a batch.
                #expect(try await app.track(.post, "/api/v1/segments/\(vip)/add_customers", site: c.siteID, key: c.trackAPIKey, ["ids": ["ann"]]).status == 200)
                try await sender.drain()
                #expect(fake.take() == [FakeCustomerIO.Call(method: "POST", path: "/api/v1/segments/42/add_customers", query: "", body: ["ids": ["ann"]])])

                // A 503 holds ann's queue: her next event waits until the retry goes through, 10 s later.
                fake.failures.withLock { $0 = [(503, nil)] }
                try await app.post(app.hook("profiles"), json: ["uid": "ann", "plan": "pro"])
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Exited Tour (Chameleon)"])
                try await sender.drain()
                #expect(fake.take().map(\.description) == ["PUT /api/v1/customers/ann"])
                let waiting = try await app.v3(.get, "/v3/edit/integrations/customerio/deliveries?state=pending").json?["deliveries"]?.arrayValue ?? []
                #expect(waiting.count == 2)
                let head = try #require(waiting.last)
                #expect(head["kind"] == "identify" && head["last_status"] == 503 && head["attempts"] == 1)
                #expect(head["last_error"]?.stringValue?.contains("fake says 503") == true)
                let next = try #require(head["next_attempt_at"]?.stringValue.flatMap(Timestamp.parseISO8601))
                #expect(next.milliseconds - time.clock.now().milliseconds == 10_000)
                time.advance(seconds: 10)
                try await sender.drain()
                #expect(fake.take().map(\.description) == ["PUT /api/v1/customers/ann", "PUT /api/v1/customers/ann", "POST /api/v1/customers/ann/events"],
                        "both identify calls again (350 attributes), then the waiting event")

                // 429 with Retry-After: 42 s.
                fake.failures.withLock { $0 = [(429, "42")] }
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Started Tour (Chameleon)"])
                try await sender.drain()
                _ = fake.take()
                let limited = try await app.v3(.get, "/v3/edit/integrations/customerio/deliveries?state=pending").json?["deliveries"]?.arrayValue?.first
                #expect(limited?["last_status"] == 429)
                let at = try #require(limited?["next_attempt_at"]?.stringValue.flatMap(Timestamp.parseISO8601))
                #expect(at.milliseconds - time.clock.now().milliseconds == 42_000)
                time.advance(seconds: 42)
                try await sender.drain()
                #expect(fake.take().map(\.description) == ["POST /api/v1/customers/ann/events"])

                // A 400 fails at once, with the reply kept; the next row goes on.
                fake.failures.withLock { $0 = [(400, nil)] }
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Started Tour (Chameleon)", "n": 1])
                try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Started Tour (Chameleon)", "n": 2])
                try await sender.drain()
                #expect(fake.take().map { $0.body.at("data.n") } == [1, 2])
                let failed = try await app.v3(.get, "/v3/edit/integrations/customerio/deliveries?state=failed").json?["deliveries"]?.arrayValue ?? []
                #expect(failed.count == 1 && failed.first?["last_status"] == 400 && failed.first?["attempts"] == 1)
                #expect(failed.first?["last_error"]?.stringValue?.contains("fake says 400") == true)
                // Retried by hand.
                let failedID = try #require(failed.first?["id"]?.stringValue)
                #expect(try await app.v3(.post, "/v3/edit/integrations/customerio/deliveries/\(failedID)/retry").json?.at("delivery.state") == "pending")
                try await sender.drain()
                #expect(fake.take().map { $0.body.at("data.n") } == [1])
                #expect(try await app.v3(.get, "/v3/edit/integrations/customerio").json?.at("integration.deliveries.failed") == 0)
            }
        }
    }

    /// Segment changes go in batches of at most 1000 ids; emails when people are identified by email;
    /// a retry past 24 hours gives up.
    @Test(arguments: TestEngine.available)
    func segmentChangesAreBatchedAndGiveUpAfterADay(engine: TestEngine) async throws {
        try await withFake(engine: engine) { setup in
            let (fake, port, time, trove, sender) = (setup.fake, setup.port, setup.time, setup.trove, setup.sender)
            try await trove.test { app in
                let big = try await app.v3(.post, "/v3/edit/segments", ["name": "Pro", "items": [["prop": "plan", "op": "eq", "value": "pro"]]])
                let bigID = try #require(big.json?.at("segment.id")?.stringValue)
                #expect(try await app.v3(.put, "/v3/edit/integrations/customerio", [
                    "site_id": .string(fake.site), "api_key": .string(fake.key), "track_url": .string("http://127.0.0.1:\(port)/"),
                    "identify_by": "email", "sync_profiles": false,
                    "sync_segments": [["segment_id": .string(bigID), "customerio_segment_id": "7"]],
                ]).status == 200)
                let profiles: [JSON] = (0..<1_001).map { .object([JSONMember("uid", .string("u\($0)")), JSONMember("email", .string("u\($0)@example.com")), JSONMember("plan", "pro")]) }
                try await app.post(app.hook("profiles/batch"), json: ["profiles": .array(Array(profiles[..<500]))])
                try await app.post(app.hook("profiles/batch"), json: ["profiles": .array(Array(profiles[500...]))])
                try await app.post(app.hook("profiles"), json: ["uid": "nomail", "plan": "pro"])
                try await trove.services.membership.catchUp()
                try await sender.drain()
                let calls = fake.take()
                #expect(calls.map(\.description) == Array(repeating: "POST /api/v1/segments/7/add_customers?id_type=email", count: 2))
                #expect(calls.map { $0.body["ids"]?.arrayValue?.count ?? 0 }.sorted() == [1, 1000])
                #expect(Set(calls.flatMap { $0.body["ids"]?.arrayValue ?? [] }.compactMap(\.stringValue)).count == 1_001)
                let noEmail = try await app.v3(.get, "/v3/edit/integrations/customerio/deliveries?state=failed").json?["deliveries"]?.arrayValue ?? []
                #expect(noEmail.count == 1 && noEmail.first?["last_error"]?.stringValue?.contains("no email") == true)

                // Customer.io down for good: retried with capped backoff, then given up after 24 h.
                fake.failures.withLock { $0 = Array(repeating: (500, nil), count: 1_000) }
                try await app.post(app.hook("profiles"), json: ["uid": "u1", "plan": "free"])
                try await trove.services.membership.catchUp()
                try await sender.drain()
                var attempts = 1
                while true {
                    let row = try await app.v3(.get, "/v3/edit/integrations/customerio/deliveries?limit=1").json?["deliveries"]?.arrayValue?.first
                    guard row?["state"] == "pending", let next = row?["next_attempt_at"]?.stringValue.flatMap(Timestamp.parseISO8601) else { break }
                    #expect(next.milliseconds - time.clock.now().milliseconds <= 300_000, "capped at 5 minutes")
                    time.advance(seconds: (next.milliseconds - time.clock.now().milliseconds) / 1000)
                    try await sender.drain()
                    attempts += 1
                }
                let gaveUp = try await app.v3(.get, "/v3/edit/integrations/customerio/deliveries?limit=1").json?["deliveries"]?.arrayValue?.first
                #expect(gaveUp?["state"] == "failed" && gaveUp?["kind"] == "segment_remove")
                #expect(gaveUp?["last_error"]?.stringValue?.hasPrefix("gave up after 24 hours") == true)
                #expect(attempts > 280 && attempts < 300, "10, 20 … 300 s, then every 5 minutes for a day: \(attempts)")
                #expect(fake.take().allSatisfy { $0.path == "/api/v1/segments/7/remove_customers" && $0.body == ["ids": ["u1@example.com"]] })
            }
        }
    }
}
