import CompressNIO
import Foundation
import HTTPTypes
import NIOCore
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// Segment's tracking API (contract §14) driven with the requests Segment-spec SDKs send: analytics-python's
/// batch (Basic auth with the write key and an empty password, `sentAt` on the batch, gzip when asked),
/// analytics.js's single calls (`text/plain`, the write key in the body, the one-letter paths), RudderStack's
/// gzip batches; then what they wrote read back through the `/v3` API and the engine's rows.
@Suite struct SegmentTrackingHTTPTests {
    static func basic(_ key: String) -> HTTPFields {
        [.authorization: "Basic \(Data("\(key):".utf8).base64EncodedString())", .contentType: "application/json"]
    }

    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: bytes)
        return Array(try buffer.compress(with: .gzip()).readableBytesView)
    }

    /// `name|timestamp|source|properties` of a person's events in time order (either engine).
    func events(_ trove: TestTrove, uid: String) async throws -> [String] {
        try await trove.strings("""
            SELECT n.uid || '|' || CAST(e.timestamp AS text) || '|' || CAST(e.source AS text) || '|' || coalesce(CAST(e.properties AS text), '')
            FROM events e JOIN event_names n ON n.id = e.name_id JOIN profiles p ON p.id = e.profile_id
            WHERE p.uid = '\(uid)' ORDER BY e.timestamp, e.id
            """)
    }

    func ms(_ iso: String) -> String { String(Timestamp.parseISO8601(iso)!.milliseconds) }

    @Test(arguments: TestEngine.available)
    func aPythonSDKBatchWritesPeopleEventsCompaniesAndMerges(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let reply = try await client.send(.post, "/v1/batch", body: try fixture("segment/python_batch.json"), headers: Self.basic(trove.credentials.writeKey))
            #expect(reply.status == 200)
            #expect(reply.json == ["success": true])

            // identify: traits through §4 (camelCase names, numeric strings, the creation time), the email
            // lower-cased, `traits.company` upserted and linked by its id.
            let ann = try #require(try await client.profile(uid: "u-1"))
            #expect(ann["email"] == "ann@example.com")
            #expect(ann["plan"] == "pro")
            #expect(ann["upsell_readiness_score"] == 87)
            #expect(ann["created_at"] == "2025-01-02T03:04:05.000Z")
            #expect(ann["company"] == nil)
            let acme = try await client.get("/v3/analyze/company?uid=acme").json?["company"]
            #expect(acme?["name"] == "Acme Inc")
            #expect(acme?["employees"] == 120)
            #expect(ann["company_id"] == acme?["id"])

            // Events: the batch's sentAt says the sender's clock is 2 minutes behind (12:00 received, 11:58
            // sent), so each time moves 2 minutes on; anon-1's event came over with the identify, anon-2's
            // page with the alias; the repeated messageId is stored once; page and screen are events of
            // their own names with the page's name and category as properties.
            let stored = try await events(trove, uid: "u-1")
            #expect(stored.map { $0.split(separator: "|")[0] } == ["viewed_pricing", "viewed_page", "completed_tour_chameleon", "viewed_page", "viewed_screen"])
            #expect(stored[0].hasPrefix("viewed_pricing|\(ms("2026-03-01T11:57:00Z"))|"))
            #expect(stored[1].hasPrefix("viewed_page|\(ms("2026-03-01T11:57:30Z"))|"))
            #expect(stored[2].hasPrefix("completed_tour_chameleon|\(ms("2026-03-01T11:59:00Z"))|\(EventSource.segment.rawValue)|"))
            let page = try JSONParser.parse(Array(stored[3].split(separator: "|", maxSplits: 3)[3].utf8))
            #expect(page["name"] == "Pricing")
            #expect(page["category"] == "Marketing")
            #expect(page["url"] == "https://example.com/pricing")
            #expect(stored[4].contains("\"name\":\"Home\"") || stored[4].contains("\"name\": \"Home\""))
            #expect(try await trove.number("SELECT count(*) FROM anonymous_events") == 0)
            #expect(try await trove.number("SELECT count(*) FROM events WHERE dedupe_key = 'seg-3'") == 1)

            // group: the company by groupId with its traits (a trait `id` does not rename it), the user linked.
            let globex = try await client.get("/v3/analyze/company?uid=globex").json?["company"]
            #expect(globex?["plan"] == "enterprise")
            #expect(globex?["id"] != "ignored")
            #expect(try await client.profile(uid: "u-2")?["company_id"] == globex?["id"])

            // The same batch again: every messageId is known, nothing doubles.
            #expect(try await client.send(.post, "/v1/batch", body: try fixture("segment/python_batch.json"), headers: Self.basic(trove.credentials.writeKey)).status == 200)
            #expect(try await events(trove, uid: "u-1").count == 5)
        }
    }

    @Test(arguments: TestEngine.available)
    func analyticsJSSendsTextPlainWithTheKeyInTheBody(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let body = String(decoding: try fixture("segment/analyticsjs_track.json"), as: UTF8.self)
                .replacingOccurrences(of: "WRITE_KEY", with: trove.credentials.writeKey)
            let reply = try await client.send(.post, "/v1/t", body: Array(body.utf8), headers: [.contentType: "text/plain"])
            #expect(reply.status == 200)
            #expect(reply.json == ["success": true])
            #expect(reply.headers[.accessControlAllowOrigin] == "*")
            let stored = try await events(trove, uid: "u-9")
            #expect(stored.count == 1)
            // sent at 11:59:59.000 by its clock, received at 12:00:00: moved on by one second; context not kept.
            #expect(stored.first?.hasPrefix("clicked_upgrade|\(ms("2026-03-01T11:59:59.500Z"))|") == true)
            #expect(stored.first?.contains("userAgent") == false)
            #expect(stored.first?.contains("\"button\"") == true)

            // A webhook destination (Segment's, RudderStack's) posts each message, whatever its type, to one URL.
            let hooked: JSON = ["type": "group", "userId": "u-9", "groupId": "initech", "traits": ["plan": "team"], "writeKey": .string(trove.credentials.writeKey)]
            #expect(try await client.send(.post, "/v1/batch", body: JSONWriter.bytes(hooked), headers: [.contentType: "application/json"]).status == 200)
            #expect(try await client.get("/v3/analyze/company?uid=initech").json?.at("company.plan") == "team")
            let refused = try await client.send(.post, "/v1/batch", body: JSONWriter.bytes(["type": "track", "userId": "u-9", "writeKey": .string(trove.credentials.writeKey)]),
                                                headers: [.contentType: "application/json"])
            #expect(refused.status == 400)
            #expect(refused.json?["message"] == "event: required for track (the event's name)")

            // The long paths take the same, and a person identified with only an email is created by it.
            let identify: JSON = ["writeKey": .string(trove.credentials.writeKey), "traits": ["email": "solo@example.com", "plan": "basic"]]
            #expect(try await client.send(.post, "/v1/identify", body: JSONWriter.bytes(identify), headers: [.contentType: "application/json"]).status == 200)
            let solo = try await client.get("/v3/analyze/profile?email=solo@example.com").json?["profile"]
            #expect(solo?["plan"] == "basic")
        }
    }

    @Test(arguments: TestEngine.available)
    func gzipBatchesAsRudderStackSendsThem(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let messages: [JSON] = (0..<50).map { i in
                ["type": "track", "userId": .string("r-\(i % 5)"), "event": "Feature Used", "messageId": .string("r-msg-\(i)"),
                 "properties": ["feature": .string("f\(i % 3)"), "count": .int(Int64(i))], "originalTimestamp": "2026-03-01T11:50:00.000Z",
                 "sentAt": "2026-03-01T11:50:00.000Z"]
            }
            var headers = Self.basic(trove.credentials.writeKey)
            headers[.contentEncoding] = "gzip"
            let reply = try await client.send(.post, "/v1/batch", body: try Self.gzip(JSONWriter.bytes(["batch": .array(messages)])), headers: headers)
            #expect(reply.status == 200)
            #expect(try await trove.number("SELECT count(*) FROM events") == 50)
            // Each message's own sentAt (equal to its time): the event is taken as happening when received.
            #expect(try await trove.number("SELECT min(timestamp) FROM events") == testNow.milliseconds)

            // Not gzip at all, though the header says so: 400, nothing stored.
            let broken = try await client.send(.post, "/v1/batch", body: Array("{\"batch\":[]}".utf8), headers: headers)
            #expect(broken.status == 400)
            #expect(broken.json?["success"] == false)
            #expect(broken.json?["message"]?.stringValue?.contains("gzip") == true)
            // A small body that unpacks past the limit (a zip bomb) is refused before it is all unpacked.
            let bomb = try Self.gzip([UInt8](repeating: 0x20, count: 2 * SegmentTracking.maxBatchBytes))
            let refused = try await client.send(.post, "/v1/batch", body: bomb, headers: headers)
            #expect(refused.status == 400)
            #expect(refused.json?["message"]?.stringValue?.contains("500 KB") == true)
        }
    }

    @Test(arguments: TestEngine.available)
    func badRequestsAreRefusedSaying(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let key = trove.credentials.writeKey
        try await trove.test { client in
            func post(_ path: String, _ body: JSON, headers: HTTPFields? = nil) async throws -> TestTrove.Client.Reply {
                try await client.send(.post, path, body: JSONWriter.bytes(body), headers: headers ?? Self.basic(key))
            }
            // Credentials: none, a wrong one, a right one in the body but a wrong one in the header.
            let none = try await client.send(.post, "/v1/track", body: Array(#"{"userId":"a","event":"x"}"#.utf8), headers: [:])
            #expect(none.status == 401)
            #expect(none.json?["code"] == "unauthorized")
            #expect(try await post("/v1/track", ["userId": "a", "event": "x"], headers: Self.basic("wrong")).status == 401)
            #expect(try await post("/v1/track", ["userId": "a", "event": "x", "writeKey": .string(key)], headers: Self.basic("wrong")).status == 401)

            // Messages that cannot be stored: each says why, in Segment's shape, and nothing is written.
            for (body, says) in [
                (["userId": "a"] as JSON, "event: required"),
                (["event": "x"], "userId or anonymousId: required"),
                (["userId": "a", "event": "!!!"], "has no letters or digits"),
                (["userId": .array([]), "event": "x"], "userId: must be a string"),
                (["userId": "a", "event": "x", "timestamp": "yesterday"], "timestamp"),
            ] {
                let reply = try await post("/v1/track", body)
                #expect(reply.status == 400, "\(body)")
                #expect(reply.json?["success"] == false)
                #expect(reply.json?["message"]?.stringValue?.contains(says) == true, "\(reply.json ?? .null)")
            }
            #expect(try await post("/v1/identify", ["anonymousId": "v-1", "traits": ["plan": "pro"]]).json?["message"]?.stringValue?.contains("userId: required") == true)
            #expect(try await post("/v1/group", ["userId": "a"]).json?["message"]?.stringValue?.contains("groupId: required") == true)
            #expect(try await post("/v1/alias", ["userId": "a"]).json?["message"]?.stringValue?.contains("previousId: required") == true)
            #expect(try await client.send(.post, "/v1/track", body: Array("{oops".utf8), headers: Self.basic(key)).status == 400)
            #expect(try await trove.number("SELECT count(*) FROM events") == 0)

            // Segment's limits: a message over 32 KB, alone or in a batch, and a batch over 500 KB.
            let big: JSON = ["type": "track", "userId": "a", "event": "x", "properties": ["blob": .string(String(repeating: "z", count: 33 * 1024))]]
            #expect(try await post("/v1/track", big).status == 400)
            let inBatch = try await post("/v1/batch", ["batch": [["type": "track", "userId": "a", "event": "x"], big]])
            #expect(inBatch.status == 400)
            #expect(inBatch.json?["message"]?.stringValue?.contains("batch[1]: message is") == true)
            let many: JSON = ["batch": .array((0..<30).map { _ in ["type": "track", "userId": "a", "event": "x", "properties": ["t": .string(String(repeating: "y", count: 20_000))]] })]
            #expect(try await post("/v1/batch", many).json?["message"]?.stringValue?.contains("500 KB") == true)
            #expect(try await trove.number("SELECT count(*) FROM events") == 0)

            // A batch with a bad message: the others are stored, the reply names the bad one by index.
            let mixed = try await post("/v1/batch", ["batch": [
                ["type": "track", "userId": "a", "event": "kept", "messageId": "k-1"],
                ["type": "track", "userId": "a"],
                ["type": "launch", "userId": "a"],
                ["type": "identify", "userId": "a", "traits": ["email": "other@example.com"]],
            ]])
            #expect(mixed.status == 400)
            #expect(mixed.json?["accepted"] == 2)
            #expect(mixed.json?["errors"] == [
                ["index": 1, "message": "batch[1].event: required for track (the event's name)"],
                ["index": 2, "message": "batch[2].type: \"launch\" is not one of identify, track, page, screen, group, alias"],
            ])
            #expect(try await events(trove, uid: "a").count == 1)
            #expect(try await client.profile(uid: "a")?["email"] == "other@example.com")
        }
    }

    @Test func theWriteKeyIsRotatedAlone() async throws {
        let trove = try await TestTrove()
        let old = trove.credentials.writeKey
        try await trove.test { client in
            let body = Array(#"{"userId":"a","event":"x"}"#.utf8)
            #expect(try await client.send(.post, "/v1/track", body: body, headers: Self.basic(old)).status == 200)
            let new = try await trove.services.accounts.rotateWriteKey(name: "default")
            #expect(new != old)
            #expect(try await client.send(.post, "/v1/track", body: body, headers: Self.basic(old)).status == 401)
            #expect(try await client.send(.post, "/v1/track", body: body, headers: Self.basic(new)).status == 200)
            // The other credentials still work.
            #expect(try await client.get("/v3/analyze/profile?uid=a").status == 200)
        }
    }
}
