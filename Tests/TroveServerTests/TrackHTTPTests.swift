import Foundation
import GRDB
import HTTPTypes
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// Customer.io's Track API (contract §8) driven with the requests Customer.io's SDKs send: Basic auth with
/// site id and key, identifiers URL-encoded in the path (customerio-node's `encodeURIComponent`, the
/// Python and Ruby clients' quoting), JSON bodies of attributes or `{name, id, timestamp, data}`.
@Suite struct TrackHTTPTests {
    struct StoredEvent {
        var name: String, timestamp: Int64, source: Int64, dedupeKey: String?, properties: String
    }

    /// The person's stored events in time order, read from the engine's rows (either engine).
    func events(_ trove: TestTrove, uid: String) async throws -> [StoredEvent] {
        try await trove.strings("""
            SELECT n.uid || '|' || CAST(e.timestamp AS text) || '|' || CAST(e.source AS text) || '|' || coalesce(e.dedupe_key, '') || '|'
                || coalesce(CAST(e.properties AS text), '')
            FROM events e JOIN event_names n ON n.id = e.name_id JOIN profiles p ON p.id = e.profile_id
            WHERE p.uid = '\(uid)' ORDER BY e.timestamp, e.id
            """).map { line in
            let f = line.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
            return StoredEvent(name: f[0], timestamp: Int64(f[1])!, source: Int64(f[2])!, dedupeKey: f[3].isEmpty ? nil : f[3], properties: f[4])
        }
    }

    @Test(arguments: TestEngine.available)
    func sdkRequestsIdentifyTrackAndDelete(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let c = trove.credentials
        try await trove.test { client in
            func track(_ method: HTTPRequest.Method, _ path: String, _ body: [UInt8]?) async throws -> TestTrove.Client.Reply {
                let basic = Data("\(c.siteID):\(c.trackAPIKey)".utf8).base64EncodedString()
                return try await client.send(method, path, body: body, headers: [.authorization: "Basic \(basic)", .contentType: "application/json"])
            }
            let segment = try await client.v3(.post, "/v3/edit/segments", ["name": "Basic", "items": [["prop": "plan", "op": "eq", "value": "basic"]]])
            let segmentID = try #require(segment.json?.at("segment.id")?.stringValue)

            // identify
            let identified = try await track(.put, "/api/v1/customers/bob", try fixture("track/identify.json"))
            #expect(identified.status == 200)
            #expect(identified.json == [:])
            let bob = try await client.profile(uid: "bob")
            #expect(bob?["email"] == "bob@example.com")
            #expect(bob?["first_name"] == "Bob")
            #expect(bob?["plan"] == "basic")
            #expect(bob?["last_login"] == "2026-02-27T08:00:00.000Z")
            #expect(bob?["created_at"] == "2012-06-11T18:19:18.000Z")
            #expect(bob?["id"] != "bob")  // the body's id names the customer; it is not a property

            // An email identifier, URL-encoded, creates a customer with just that email.
            #expect(try await track(.put, "/api/v1/customers/ann%40example.com", Array(#"{"plan":"basic"}"#.utf8)).status == 200)
            let ann = try await client.v1(.get, "/v1/customers/ann%40example.com/attributes?id_type=email", key: c.appAPIKey).json
            #expect(ann?.at("customer.attributes.plan") == "basic")
            #expect(ann?.at("customer.id") == .null)

            // events: `id` dedupes, `timestamp` in unix seconds, every `data` key a property (even `name`).
            for _ in 0..<2 { #expect(try await track(.post, "/api/v1/customers/bob/events", try fixture("track/event.json")).status == 200) }
            #expect(try await track(.post, "/api/v1/customers/bob/events", try fixture("track/page.json")).status == 200)
            let stored = try await events(trove, uid: "bob")
            #expect(stored.count == 2)
            #expect(stored.first?.name == "purchase")
            #expect(stored.first?.timestamp == Timestamp.parseISO8601("2026-02-28T12:00:00Z")!.milliseconds)
            #expect(stored.first?.dedupeKey == "01HXZ2T9G6Q7K3M5N8P0R2S4V6")
            #expect(stored.first?.source == Int64(EventSource.track.rawValue))
            let properties = try JSONParser.parse(Array((stored.first?.properties ?? "").utf8))
            #expect(properties["price"] == 23.45)
            #expect(properties["product"] == "socks")
            #expect(properties["name"] == "Wool socks")
            let page = try JSONParser.parse(Array((stored.last?.properties ?? "").utf8))
            #expect(page["type"] == "page")
            #expect(stored.last?.name == "https_example_com_pricing")

            // Segments see Track data; deleting the customer erases him: membership and ledger rows go.
            try await trove.services.membership.catchUp()
            #expect(try await client.v3(.get, "/v3/edit/segments/\(segmentID)").json?.at("segment.member_count") == 2)
            #expect(try await track(.delete, "/api/v1/customers/bob", nil).status == 200)
            #expect(try await client.get("/v3/analyze/profile?uid=bob").status == 404)
            #expect(try await events(trove, uid: "bob").isEmpty)
            let leftovers = try await trove.number("SELECT count(*) FROM events")
            #expect(leftovers == 0)
            try await trove.services.membership.catchUp()
            #expect(try await client.v3(.get, "/v3/edit/segments/\(segmentID)").json?.at("segment.member_count") == 1)
            let changes = try await client.v3(.get, "/v3/edit/segments/\(segmentID)/changes").json?["changes"]?.arrayValue ?? []
            // An erasure (contract §5): the ledger keeps nothing of bob, as if he had never been a member.
            #expect(changes.map { $0["change"] } == ["entered"])
            #expect(try await track(.delete, "/api/v1/customers/nobody", nil).status == 200)
            // The uid can be used again after the delete.
            #expect(try await track(.post, "/api/v1/customers/bob/events", Array(#"{"name":"came back"}"#.utf8)).status == 200)
            #expect(try await events(trove, uid: "bob").count == 1)
        }
    }

    @Test(arguments: TestEngine.available)
    func anonymousEventsJoinTheCustomerWhoIdentifiesWithin30Days(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let c = trove.credentials
        try await trove.test { client in
            func track(_ method: HTTPRequest.Method, _ path: String, _ body: [UInt8]) async throws -> TestTrove.Client.Reply {
                try await client.track(method, path, site: c.siteID, key: c.trackAPIKey, try JSONParser.parse(body))
            }
            #expect(try await track(.post, "/api/v1/events", try fixture("track/anonymous.json")).status == 200)
            let old = testNow.seconds - 40 * 86_400
            #expect(try await track(.post, "/api/v1/events", Array(#"{"name":"Viewed Home","anonymous_id":"anon-7f3a","timestamp":\#(old)}"#.utf8)).status == 200)
            #expect(try await track(.post, "/api/v1/events", Array(#"{"name":"Other","anonymous_id":"anon-other"}"#.utf8)).status == 200)
            // Counted as events of their names, in no profile.
            let names = try await client.get("/v3/edit/event_names").json?["event_names"]?.arrayValue ?? []
            #expect(names.contains { $0["name"] == "Viewed Pricing" && $0["count"] == 1 })
            #expect(try await events(trove, uid: "carol").isEmpty)

            #expect(try await track(.put, "/api/v1/customers/carol", Array(#"{"anonymous_id":"anon-7f3a","plan":"pro"}"#.utf8)).status == 200)
            let merged = try await events(trove, uid: "carol")
            #expect(merged.map(\.name) == ["viewed_pricing"])
            let left = try await trove.strings("SELECT anonymous_id FROM anonymous_events ORDER BY timestamp")
            #expect(left == ["anon-7f3a", "anon-other"])  // the 40-day-old one and another visitor's stay apart
            #expect(try await client.profile(uid: "carol")?["anonymous_id"] == nil)

            // Never claimed within the merge window, anonymous events go (the upkeep's hourly round): the
            // 40-day-old one now, the other visitor's once it is 30 days old; their names' totals follow.
            let store = trove.services.ingestor.store
            func count(_ name: String) async throws -> Int64? {
                let names = try await client.get("/v3/edit/event_names").json?["event_names"]?.arrayValue ?? []
                return names.first { $0["name"]?.stringValue == name }?["count"]?.int
            }
            #expect(try await count("Viewed Home") == 1)
            #expect(try await EventRetention.pruneAnonymous(store, now: testNow) == 1)
            #expect(try await count("Viewed Home") == 0)
            #expect(try await EventRetention.pruneAnonymous(store, now: testNow.adding(milliseconds: 29 * 86_400_000)) == 0)
            #expect(try await EventRetention.pruneAnonymous(store, now: testNow.adding(milliseconds: 31 * 86_400_000)) == 1)
            #expect(try await trove.number("SELECT count(*) FROM anonymous_events") == 0)
            #expect(try await count("Other") == 0)
            #expect(try await events(trove, uid: "carol").count == 1, "merged events are the profile's, kept as any other")
        }
    }

    @Test(arguments: TestEngine.available)
    func anonymousEventsCountInReportsThroughMergeDedupeAndRetention(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let c = trove.credentials
        try await trove.test { client in
            func track(_ method: HTTPRequest.Method, _ path: String, _ body: String) async throws -> Int {
                try await client.track(method, path, site: c.siteID, key: c.trackAPIKey, try JSONParser.parse(Array(body.utf8))).status
            }
            func total() async throws -> Int64? {
                let report = try await client.v1(.get, "/v1/reports/events?from=2026-02-01&to=2026-03-01&names=Viewed%20Pricing", key: c.appAPIKey)
                return report.json?["series"]?.arrayValue?.first?["total"]?.int
            }
            func named() async throws -> Int64? {
                let names = try await client.get("/v3/edit/event_names").json?["event_names"]?.arrayValue ?? []
                return names.first { $0["name"]?.stringValue == "Viewed Pricing" }?["count"]?.int
            }
            let now = testNow.seconds
            #expect(try await track(.post, "/api/v1/events", #"{"name":"Viewed Pricing","anonymous_id":"anon-1","id":"k-1","timestamp":\#(now - 3600)}"#) == 200)
            #expect(try await track(.post, "/api/v1/events", #"{"name":"Viewed Pricing","anonymous_id":"anon-1","timestamp":\#(now - 7200)}"#) == 200)
            #expect(try await track(.post, "/api/v1/events", #"{"name":"Viewed Pricing","anonymous_id":"anon-2","timestamp":\#(now - 2 * 86_400)}"#) == 200)
            #expect(try await total() == 3, "anonymous events count in the reports")
            #expect(try await named() == 3)

            // Carol's own event carries the id of the first anonymous one: when she identifies with anon-1,
            // that copy is dropped as a duplicate and the other moves to her.
            #expect(try await track(.post, "/api/v1/customers/carol/events", #"{"name":"Viewed Pricing","id":"k-1","timestamp":\#(now - 3600)}"#) == 200)
            #expect(try await total() == 4)
            #expect(try await track(.put, "/api/v1/customers/carol", #"{"anonymous_id":"anon-1"}"#) == 200)
            #expect(try await events(trove, uid: "carol").count == 2)
            #expect(try await total() == 3, "carol's two events and anon-2's")
            #expect(try await named() == 3, "the dropped duplicate left its name's total")
            try await trove.services.ingestor.store.catchUp()
            #expect(try await total() == 3, "the same once the moved event is rolled up")
            let counted = try await trove.number("SELECT CAST(sum(count) AS bigint) FROM event_counts")
            #expect(counted == 3)

            // anon-2 is never claimed: 30 days on, it goes, from the reports too.
            #expect(try await EventRetention.pruneAnonymous(trove.services.ingestor.store, now: testNow.adding(milliseconds: 31 * 86_400_000)) == 1)
            #expect(try await total() == 2)
            #expect(try await named() == 2)
        }
    }

    @Test(arguments: TestEngine.available)
    func badTrackRequestsGetCustomerIOErrors(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let c = trove.credentials
        try await trove.test { client in
            let unauthorized = try await client.send(.put, "/api/v1/customers/bob", body: Array("{}".utf8), headers: [:])
            #expect(unauthorized.status == 401)
            #expect(unauthorized.json?["meta"]?["errors"]?.arrayValue?.count == 1)
            let wrong = try await client.track(.put, "/api/v1/customers/bob", site: c.siteID, key: "nope", [:])
            #expect(wrong.status == 401)
            let cases: [(String, String, String)] = [
                ("/api/v1/customers/bob/events", #"{"data":{}}"#, "name: required"),
                ("/api/v1/customers/bob/events", #"{"name":"x","data":[1]}"#, "data: must be an object"),
                ("/api/v1/customers/bob/events", #"{"name":"x","timestamp":"yesterday"}"#, "timestamp:"),
                ("/api/v1/events", #"{"name":"x"}"#, "anonymous_id: required"),
                ("/api/v1/customers/bob/events", #"{"name":"x""#, "body:"),
            ]
            let basic = Data("\(c.siteID):\(c.trackAPIKey)".utf8).base64EncodedString()
            for (path, body, message) in cases {
                let reply = try await client.send(.post, path, body: Array(body.utf8), headers: [.authorization: "Basic \(basic)"])
                #expect(reply.status == 400, "\(body)")
                let errors = reply.json?["meta"]?["errors"]?.arrayValue?.compactMap(\.stringValue) ?? []
                #expect(errors.first?.contains(message) == true, "\(body): \(errors)")
            }
            #expect(try await client.get("/v3/analyze/profile?uid=bob").status == 404, "nothing half-written")
        }
    }
}
