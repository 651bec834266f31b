import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// Pulling a Customer.io segment into a manual segment (contract §10), Trove to Trove: a second live Trove
/// answers `GET /v1/segments/:id/membership` as Customer.io's App API does.
@Suite struct CustomerIOSegmentImportTests {
    @Test(arguments: TestEngine.available)
    func membersArePulledPageByPageAndReplaceTheManualSegment(engine: TestEngine) async throws {
        let remote = try await TestTrove(engine: engine)
        try await remote.test(.live) { remoteClient in
            let port = try #require(remoteClient.client.port)
            let rc = remote.credentials
            // 1,200 people in a Customer.io-side manual segment: two pages of 1,000.
            let people: [JSON] = (0..<1_200).map { .object([JSONMember("uid", .string("u\($0)")), JSONMember("email", .string("u\($0)@example.com"))]) }
            for start in stride(from: 0, to: people.count, by: 500) {
                #expect(try await remoteClient.post(remoteClient.hook("profiles/batch"), json: ["profiles": .array(Array(people[start..<min(start + 500, people.count)]))]).status == 202)
            }
            let remoteSegment = try #require(try await remoteClient.v1(.post, "/v1/segments", key: rc.appAPIKey, ["segment": ["name": "Beta"]]).json?.at("segment.id")?.int)
            for start in stride(from: 0, to: people.count, by: 1000) {
                let ids = (start..<min(start + 1000, people.count)).map { JSON.string("u\($0)") }
                #expect(try await remoteClient.track(.post, "/api/v1/segments/\(remoteSegment)/add_customers", site: rc.siteID, key: rc.trackAPIKey, ["ids": .array(ids)]).status == 200)
            }

            let local = try await TestTrove(engine: engine, webhookPolicy: WebhookAddressPolicy(allowInsecure: true))
            try await local.test { app in
                // Locally: u0…u599 by uid, u600…u799 known only by email, u800… unknown; "old" is in the segment already.
                let known: [JSON] = (0..<600).map { .object([JSONMember("uid", .string("u\($0)"))]) }
                    + (600..<800).map { .object([JSONMember("uid", .string("local-\($0)")), JSONMember("email", .string("U\($0)@Example.com"))]) }
                    + [["uid": "old"]]
                for start in stride(from: 0, to: known.count, by: 500) {
                    try await app.post(app.hook("profiles/batch"), json: ["profiles": .array(Array(known[start..<min(start + 500, known.count)]))])
                }
                let lc = local.credentials
                let segment = try #require(try await app.v1(.post, "/v1/segments", key: lc.appAPIKey, ["segment": ["name": "Beta (from Customer.io)"]]).json?.at("segment.id")?.int)
                #expect(try await app.track(.post, "/api/v1/segments/\(segment)/add_customers", site: lc.siteID, key: lc.trackAPIKey, ["ids": ["old", "u1"]]).status == 200)
                let body: JSON = ["customerio_segment_id": .int(remoteSegment), "app_api_key": .string(rc.appAPIKey), "api_url": .string("http://127.0.0.1:\(port)")]

                // Refusals first: nothing changes.
                let wrongKey = try await app.v3(.post, "/v3/edit/segments/\(segment)/import_from_customerio",
                                                ["customerio_segment_id": .int(remoteSegment), "app_api_key": "nope", "api_url": .string("http://127.0.0.1:\(port)")])
                #expect(wrongKey.status == 422 && "\(wrongKey.json ?? .null)".contains("app_api_key"))
                let missing = try await app.v3(.post, "/v3/edit/segments/\(segment)/import_from_customerio",
                                               ["customerio_segment_id": 999, "app_api_key": .string(rc.appAPIKey), "api_url": .string("http://127.0.0.1:\(port)")])
                #expect(missing.status == 422 && "\(missing.json ?? .null)".contains("customerio_segment_id"))
                let dynamic = try #require(try await app.v3(.post, "/v3/edit/segments", ["name": "D", "items": [["prop": "plan", "op": "eq", "value": "x"]]]).json?.at("segment.id")?.stringValue)
                #expect(try await app.v3(.post, "/v3/edit/segments/\(dynamic)/import_from_customerio", body).status == 422)
                let closed = try await app.v3(.post, "/v3/edit/segments/\(segment)/import_from_customerio",
                                              ["customerio_segment_id": 1, "app_api_key": "k", "api_url": "http://127.0.0.1:1"])
                #expect(closed.status == 502, "nobody listens on port 1")
                #expect(try await app.v1(.get, "/v1/segments/\(segment)/customer_count", key: lc.appAPIKey).json?["count"] == 2)

                let pulled = try await app.v3(.post, "/v3/edit/segments/\(segment)/import_from_customerio", body)
                #expect(pulled.status == 200, "\(pulled.json ?? .null)")
                #expect(pulled.json?.at("import.pages") == 2 && pulled.json?.at("import.people") == 1_200)
                #expect(pulled.json?.at("import.matched") == 800 && pulled.json?.at("import.unmatched") == 400)
                #expect(pulled.json?.at("import.added") == 799 && pulled.json?.at("import.removed") == 1)
                #expect(try await app.v1(.get, "/v1/segments/\(segment)/customer_count", key: lc.appAPIKey).json?["count"] == 800)
                let ofEmailOnly = try await app.v1(.get, "/v1/customers/local-700/segments", key: lc.appAPIKey).json?["segments"]?.arrayValue ?? []
                #expect(ofEmailOnly.map { $0["id"] } == [.int(segment)])
                #expect(try await app.v1(.get, "/v1/customers/old/segments", key: lc.appAPIKey).json?["segments"] == [])
                // Pulled again: nothing to change.
                let again = try await app.v3(.post, "/v3/edit/segments/\(segment)/import_from_customerio", body)
                #expect(again.json?.at("import.added") == 0 && again.json?.at("import.removed") == 0)
            }
        }
    }
}
