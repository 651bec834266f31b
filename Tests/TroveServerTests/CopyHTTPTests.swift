import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// `trove copy`'s promise (issue 19): a server pointed at the copy answers every read as the original did.
/// A SQLite database filled through the API (profiles, companies, events, an anonymous visitor, segments of
/// both kinds, a webhook with its outbox, the Customer.io destination with its outbox, an export job, an
/// erasure, a remembered Idempotency-Key) is copied into PostgreSQL and back, and both copies answer the
/// same reads byte for byte but for PostgreSQL's order of object members.
/// Without PostgreSQL (TROVE_TEST_POSTGRES unset) the middle copy is another SQLite file.
@Suite struct CopyHTTPTests {
    @Test func aServerOnTheCopyAnswersEveryReadAsTheOriginal() async throws {
        let original = try await TestTrove(engine: .sqlite)
        let key = original.credentials.appAPIKey
        let reads = Mutex<[String]>([])
        try await original.test { app in
            #expect(try await app.post(app.hook("companies"), json: ["uid": "acme", "name": "Acme", "employees": 120, "tags": ["b2b", "eu"]]).status == 200)
            try await app.post(app.hook("profiles"), json: [
                "uid": "ann", "email": "ann@example.com", "plan": "pro", "company_uid": "acme", "upsell_readiness_score": 91,
                "prefs": ["theme": "dark", "zeta": 1.5, "alpha": ["x": nil, "b": [1, 2]]],
            ])
            try await app.post(app.hook("profiles"), json: ["uid": "bob", "email": "bob@example.com", "plan": "free"])
            try await app.post(app.hook("profiles"), json: ["uid": "cat", "plan": "pro", "nickname": "Gone-Soon-5521"])
            var events: [JSON] = []
            for i in 0..<40 {
                events.append(["uid": i % 3 == 0 ? "bob" : "ann", "name": i % 2 == 0 ? "Completed Tour (Chameleon)" : "Viewed Page",
                               "timestamp": .int(1_772_000_000 + Int64(i) * 3_600), "n": .int(Int64(i)), "message_id": .string("m\(i)")])
            }
            events.append(["uid": "cat", "name": "Viewed Page", "timestamp": 1_772_000_000])
            #expect(try await app.post(app.hook("events/batch"), json: ["events": .array(events)],
                                       headers: [HTTPField.Name("Idempotency-Key")!: "batch-1"]).status == 202)
            let c = original.credentials
            #expect(try await app.track(.post, "/api/v1/events", site: c.siteID, key: c.trackAPIKey,
                                        ["name": "Viewed Home", "anonymous_id": "anon-1", "referrer": "ad"]).status == 200)
            #expect(try await app.track(.post, "/api/v1/events", site: c.siteID, key: c.trackAPIKey,
                                        ["name": "Viewed Home", "anonymous_id": "anon-2"]).status == 200)
            #expect(try await app.track(.put, "/api/v1/customers/dan", site: c.siteID, key: c.trackAPIKey, ["anonymous_id": "anon-1", "plan": "pro"]).status == 200)
            #expect(try await app.v3(.post, "/v3/edit/webhooks", [
                "url": "https://hooks.example.com/trove", "topics": ["segment.entered", "segment.exited", "event.created"],
            ]).status == 200)
            #expect(try await app.v3(.put, "/v3/edit/integrations/customerio", ["site_id": "s", "api_key": "secret-key-1234", "region": "eu"]).status == 200)
            try await app.post(app.hook("profiles"), json: ["uid": "ann", "plan": "pro", "seen": true])
            try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Upgraded Plan", "timestamp": 1_772_300_000, "to": "pro"])
            let pro = try await app.v3(.post, "/v3/edit/segments", ["name": "Pro", "items": [["prop": "plan", "op": "eq", "value": "pro"]]])
            let proID = try #require(pro.json?.at("segment.id")?.stringValue)
            let vip = try #require(try await app.v1(.post, "/v1/segments", key: key, ["segment": ["name": "VIP"]]).json?.at("segment.id")?.int)
            #expect(try await app.track(.post, "/api/v1/segments/\(vip)/add_customers", site: c.siteID, key: c.trackAPIKey, ["ids": ["ann", "bob"]]).status == 200)
            #expect(try await app.v1(.post, "/v1/exports/customers", key: key, try fixtureJSON("exports/customers.json")).status == 200)
            try await original.services.membership.catchUp()
            #expect(try await app.v3(.delete, "/v3/edit/profiles/forget?uid=cat").status == 200)
            try await original.services.membership.catchUp()
            try await original.services.ingestor.store.catchUp()

            let annID = try #require(try await app.profile(uid: "ann")?["id"]?.stringValue)
            reads.withLock { $0 = [
                "/v3/analyze/profile?uid=ann&expand%5Bcompany%5D=all&expand%5Bsegments%5D=all", "/v3/analyze/profile?uid=bob",
                "/v3/analyze/profile?uid=cat", "/v3/analyze/events?uid=dan", "/v3/analyze/company?uid=acme", "/v3/analyze/events?uid=ann&limit=500",
                "/v3/analyze/events?uid=bob&limit=5", "/v3/edit/event_names", "/v3/edit/properties?kind=profile",
                "/v3/edit/properties?kind=event", "/v3/edit/warnings", "/v3/edit/segments", "/v3/edit/segments/\(proID)",
                "/v3/edit/segments/\(proID)/members", "/v3/edit/segments/\(proID)/explain?uid=ann", "/v3/edit/webhooks",
                "/v3/edit/integrations/customerio", "/v3/edit/integrations/customerio/deliveries", "/v3/edit/deletions",
                "/v3/edit/segments/\(proID)/changes", "/v3/analyze/events?profile_id=\(annID)",
                "v1:/v1/segments", "v1:/v1/segments/\(vip)/membership", "v1:/v1/exports", "v1:/v1/customers/ann/attributes",
                "v1:/v1/customers/ann/segments", "v1:/v1/reports/events?from=2026-02-01&to=2026-03-31",
                "v1:/v1/reports/segments/\(vip)/history", "v1:/v1/customers?email=ann%40example.com",
            ] }
        }
        let paths = reads.withLock { $0 }
        let expected = try await answers(original.services, original.credentials, paths)
        #expect(expected.filter { $0.status == 200 }.count >= paths.count - 2, "\(expected.map(\.status))")

        // Into PostgreSQL, and from there into a new SQLite file.
        let postgres = try await TestEngine.available.last!.open(clock: .fixed(testNow))
        let back = try await TestEngine.sqlite.open(clock: .fixed(testNow))
        for (from, to) in [(original.services.engine, postgres.engine), (postgres.engine, back.engine)] {
            let copy = DatabaseCopy(from: from, to: to, batchSize: 7)
            #expect(try await copy.run().complete)
            let verification = try await copy.verify()
            #expect(verification.mismatches.isEmpty, "\(verification.mismatches)")
        }
        for (opened, name) in [(postgres, "\(TestEngine.available.last!)"), (back, "SQLite again")] {
            let services = TroveServices(engine: opened.engine, exports: original.services.exports.settings)
            let got = try await answers(services, original.credentials, paths)
            for (path, (a, b)) in zip(paths, zip(expected, got)) {
                #expect(a.status == b.status && a.json.map(comparable) == b.json.map(comparable),
                        "\(name) answers \(path) differently:\n\(a.status) \(a.text)\n\(b.status) \(b.text)")
            }
            try await opened.finish()
        }
        try await original.opened?.finish()
    }

    /// A reply as compared: object members in any order, also inside the JSON strings Customer.io's
    /// attributes carry (PostgreSQL keeps its own member order), and a timeline cursor without its last part
    /// (SQLite's hint for walking its event chains; PostgreSQL, reading an index, has none).
    private func comparable(_ json: JSON) -> JSON {
        switch json {
        case .object(let members):
            return .object(members.map { member in
                if member.key == "before", case .string(let cursor) = member.value, cursor.split(separator: ".").count == 3 {
                    return JSONMember(member.key, .string(cursor.split(separator: ".").dropLast().joined(separator: ".")))
                }
                return JSONMember(member.key, comparable(member.value))
            }.sorted { $0.key < $1.key })
        case .array(let items): return .array(items.map(comparable))
        case .string(let text) where text.hasPrefix("{"):
            return (try? JSONParser.parse(Array(text.utf8))).map(comparable) ?? json
        default: return json
        }
    }

    /// Each path's reply from a server over `services` (a `v1:` path with the App API key).
    private func answers(_ services: TroveServices, _ credentials: Credentials, _ paths: [String]) async throws -> [TestTrove.Client.Reply] {
        let app = Application(router: buildRouter(services: services), logger: Logger(label: "test"))
        return try await app.test(.router) { client in
            let app = TestTrove.Client(client: client, secret: credentials.accountSecret)
            var replies: [TestTrove.Client.Reply] = []
            for path in paths {
                if path.hasPrefix("v1:") {
                    replies.append(try await app.v1(.get, String(path.dropFirst(3)), key: credentials.appAPIKey))
                } else {
                    replies.append(try await app.v3(.get, path))
                }
            }
            return replies
        }
    }
}
