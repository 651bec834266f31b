import Foundation
import GRDB
import HTTPTypes
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// Customer.io reporting webhooks as a source (contract §9), with one real-shaped payload per object type and
/// metric from `fixtures/customerio`.
@Suite struct CustomerIOSourceHTTPTests {
    static let objectTypes = ["customer", "email", "push", "sms", "whatsapp", "in_app", "slack", "webhook"]

    func payloads() throws -> [JSON] {
        try Self.objectTypes.flatMap { try fixtureJSON("customerio/\($0).json").arrayValue ?? [] }
    }

    @Test func everyObjectTypeAndMetricIsStoredOnceUnderItsName() async throws {
        let trove = try await TestTrove()
        let key = trove.credentials.appAPIKey
        try await trove.test { client in
            let all = try payloads()
            #expect(all.count == CustomerIOWebhook.metrics.values.map(\.count).reduce(0, +), "a fixture for every object type and metric")
            for payload in all {
                let reply = try await client.post(client.hook("customerio"), json: payload)
                #expect(reply.status == 200, "\(payload["object_type"] ?? .null) \(payload["metric"] ?? .null): \(reply.json ?? .null)")
                #expect(reply.json?.at("event.duplicate") == false)
            }
            // Customer.io retries: a repeated event_id is acknowledged and stored once.
            for payload in all.prefix(5) {
                #expect(try await client.post(client.hook("customerio"), json: payload).json?.at("event.duplicate") == true)
            }
            let stored = try await trove.services.database.pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT n.name, e.properties, e.source, e.timestamp, coalesce(p.uid, p.email) AS who, e.dedupe_key FROM events e
                    JOIN event_names n ON n.id = e.name_id JOIN profiles p ON p.id = e.profile_id ORDER BY e.id
                    """)
            }
            #expect(stored.count == all.count)
            for (row, payload) in zip(stored, all) {
                let object = payload["object_type"]!.stringValue!, metric = payload["metric"]!.stringValue!
                #expect(row["name"] == CustomerIOWebhook.eventName(objectType: object, metric: metric))
                #expect(row["source"] == EventSource.customerio.rawValue)
                #expect(row["timestamp"] == payload["timestamp"]!.int! * 1000)
                #expect(row["dedupe_key"] == "customerio:\(payload["event_id"]!.stringValue!)")
                let properties = try JSONParser.parse(Array((row["properties"] as String).utf8))
                #expect(properties["object_type"] == .string(object) && properties["metric"] == .string(metric))
                #expect(properties["event_id"] == payload["event_id"])
                #expect(properties["identifiers"] == nil)
                for field in ["delivery_id", "campaign_id", "subject", "recipient", "href", "link_id", "failure_message"] {
                    #expect(properties[field] == payload["data"]?[field], "\(object) \(metric) \(field)")
                }
                let identifiers = payload["data"]!["identifiers"]!
                #expect(row["who"] == (identifiers["id"] ?? identifiers["email"])?.stringValue, "\(object) \(metric)")
            }
            let names = Set(stored.map { $0["name"] as String })
            for name in ["Email Opened (Customer.io)", "SMS Sent (Customer.io)", "In-App Clicked (Customer.io)", "WhatsApp Replied (Customer.io)",
                         "Customer Unsubscribed (Customer.io)", "Email Drafted (Customer.io)"] {
                #expect(names.contains(name), "\(name)")
            }

            // customer subscribed / unsubscribed set the profile's `unsubscribed`.
            let unsubscribed = try await client.v1(.get, "/v1/customers/only-email-2%40example.com/attributes?id_type=email", key: key).json
            #expect(unsubscribed?.at("customer.unsubscribed") == true)
            #expect(try await client.profile(uid: "cio-user-1")?["unsubscribed"] == false)

            // A Customer.io segment reaches Trove as drafted messages (contract §9).
            let segment = try await client.v3(.post, "/v3/edit/segments", [
                "name": "Campaign 12 drafted",
                "items": [["kind": "event", "value": "Email Drafted (Customer.io)", "filters": [["prop": "campaign_id", "op": "eq", "value": 12]]]],
            ])
            try await trove.services.membership.catchUp()
            let id = try #require(segment.json?.at("segment.id")?.stringValue)
            let members = try await client.v3(.get, "/v3/edit/segments/\(id)/members").json?["profiles"]?.arrayValue ?? []
            let drafted = all.filter { $0["object_type"] == "email" && $0["metric"] == "drafted" && $0["data"]?["campaign_id"] == 12 }
            #expect(members.map { $0["uid"] } == drafted.map { $0["data"]!["identifiers"]!["id"]! })
            #expect(!members.isEmpty)
        }
    }

    /// `POST /v1/exports/deliveries` over the reported activity (contract §7).
    @Test(arguments: TestEngine.available)
    func deliveriesExportsTheReportedActivity(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let key = trove.credentials.appAPIKey
        try await trove.test { client in
            let all = try payloads()
            for payload in all { try await client.post(client.hook("customerio"), json: payload) }
            func export(_ body: JSON) async throws -> [[String]] {
                let created = try await client.v1(.post, "/v1/exports/deliveries", key: key, body)
                #expect(created.status == 200, "\(created.json ?? .null)")
                #expect(created.json?.at("export.type") == "deliveries")
                let id = try #require(created.json?.at("export.id")?.int)
                try await trove.services.exportRunner.runUntilIdle()
                #expect(try await client.v1(.get, "/v1/exports/\(id)", key: key).json?.at("export.status") == "done")
                let link = try #require(try await client.v1(.get, "/v1/exports/\(id)/download", key: key).json?["url"]?.stringValue)
                let components = try #require(URLComponents(string: link))
                let text = try await client.client.execute(uri: components.percentEncodedPath + "?" + components.percentEncodedQuery!, method: .get, headers: [:], body: nil) {
                    String(decoding: $0.body.readableBytesView, as: UTF8.self)
                }
                return text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            }
            let inCampaign = all.filter { $0["data"]?["campaign_id"] == 12 }
            let sent = try await export(["campaign_id": 12, "attributes": ["unsubscribed"]])
            #expect(sent.first == ["delivery_id", "id", "email", "cio_id", "object_type", "metric", "campaign_id", "newsletter_id", "action_id",
                                   "broadcast_id", "transactional_message_id", "journey_id", "subject", "recipient", "href", "failure_message",
                                   "timestamp", "unsubscribed"])
            let expected = inCampaign.filter { $0["metric"] != "drafted" }
            #expect(!expected.isEmpty && expected.count < inCampaign.count)
            #expect(sent.count - 1 == expected.count)
            #expect(sent.dropFirst().map { $0[0] } == expected.map { $0["data"]!["delivery_id"]!.stringValue! })
            #expect(sent.dropFirst().allSatisfy { $0[6] == "12" })
            let withDrafts = try await export(["campaign_id": 12, "drafts": true])
            #expect(withDrafts.count - 1 == inCampaign.count)
            let opened = try await export(["campaign_id": 12, "metric": "opened", "start": all[0]["timestamp"]!, "end": 1_772_366_400])
            #expect(opened.count - 1 == inCampaign.filter { $0["metric"] == "opened" }.count)
            #expect(opened.dropFirst().allSatisfy { $0[5] == "opened" })

            for (body, message): (JSON, String) in [(["start": 1], "exactly one of"), (["campaign_id": 1, "action_id": 2], "exactly one of"),
                                    (["campaign_id": "x"], "campaign_id: must be an integer"), (["campaign_id": 1, "start": 10, "end": 5], "end: must be after start")] {
                let reply = try await client.v1(.post, "/v1/exports/deliveries", key: key, body)
                #expect(reply.status == 400)
                #expect(reply.json?["errors"]?.arrayValue?.first?["detail"]?.stringValue?.contains(message) == true, "\(body)")
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func unknownMetricsAreKeptAndEnvelopesChecked(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let unknown: JSON = ["event_id": "01JUNKNOWN", "object_type": "email", "metric": "teleported", "timestamp": 1_772_366_000,
                                 "data": ["customer_id": "only-customer-id", "delivery_id": "d1"]]
            #expect(try await client.post(client.hook("customerio"), json: unknown).status == 200)
            #expect(try await client.profile(uid: "only-customer-id") != nil)
            let warnings = try await client.get("/v3/edit/warnings?kind=event").json?["warnings"]?.arrayValue ?? []
            #expect(warnings.contains { $0["kind"] == "unknown_metric" }, "\(warnings)")

            let malformed: [(String, String)] = [
                (#"{"object_type":"email","metric":"sent","timestamp":1,"data":{"customer_id":"a"}}"#, "event_id: required"),
                (#"{"event_id":"e","object_type":"email","metric":"sent","timestamp":1,"data":[]}"#, "data: required"),
                (#"{"event_id":"e","object_type":"email","metric":"sent","timestamp":"soon","data":{"customer_id":"a"}}"#, "timestamp: required"),
                (#"{"event_id":"e","object_type":"email","metric":"sent","timestamp":1,"data":{"identifiers":{}}}"#, "data.identifiers"),
                (#"{"event_id":"e","#, "invalid JSON"),
            ]
            for (body, message) in malformed {
                let reply = try await client.post(client.hook("customerio"), Array(body.utf8))
                #expect(reply.status == 400, "\(body)")
                #expect(reply.json?["messages"]?.arrayValue?.first?.stringValue?.contains(message) == true, "\(body): \(reply.json ?? .null)")
            }
        }
    }

    @Test func aSigningKeyMakesTroveCheckSignatures() async throws {
        let time = MovableClock()
        let trove = try await TestTrove(clock: time.clock)
        try await trove.test { client in
            let set = try await client.v3(.put, "/v3/edit/integrations/customerio-source", ["signing_key": "whsec_abcd1234"])
            #expect(set.status == 200)
            #expect(set.json?.at("integration.signing_key_set") == true)
            #expect(set.json?.at("integration.signing_key_hint") == "…1234")
            #expect(try await client.v3(.get, "/v3/edit/integrations/customerio-source").json == set.json)

            let body = JSONWriter.bytes(try payloads()[3])
            let timestamp = String(testNow.seconds)
            func post(_ bytes: [UInt8], signature: String?, timestamp: String?) async throws -> TestTrove.Client.Reply {
                var headers: HTTPFields = [:]
                if let signature { headers[HTTPField.Name("X-CIO-Signature")!] = signature }
                if let timestamp { headers[HTTPField.Name("X-CIO-Timestamp")!] = timestamp }
                return try await client.post(client.hook("customerio"), bytes, headers: headers)
            }
            let unsigned = try await post(body, signature: nil, timestamp: nil)
            #expect(unsigned.status == 403)
            #expect(unsigned.json?["code"] == 403)
            let signature = CustomerIOWebhook.signature(body: body, timestamp: timestamp, key: "whsec_abcd1234")
            #expect(try await post(body + [0x0A], signature: signature, timestamp: timestamp).status == 403)
            #expect(try await post(body, signature: CustomerIOWebhook.signature(body: body, timestamp: timestamp, key: "other"), timestamp: timestamp).status == 403)
            #expect(try await post(body, signature: signature, timestamp: timestamp).status == 200)
            time.advance(seconds: 301)
            let replayed = try await post(body, signature: signature, timestamp: timestamp)
            #expect(replayed.status == 403)
            #expect(replayed.json?["messages"]?.arrayValue?.first?.stringValue?.contains("5 minutes") == true)
            let count = try await trove.services.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events")! }
            #expect(count == 1)

            #expect(try await client.v3(.put, "/v3/edit/integrations/customerio-source", ["signing_key": .null]).json?.at("integration.signing_key_set") == false)
            #expect(try await post(JSONWriter.bytes(try payloads()[4]), signature: nil, timestamp: nil).status == 200)
            #expect(try await client.v3(.put, "/v3/edit/integrations/customerio-source", ["signing_key": 5]).status == 422)
        }
    }
}
