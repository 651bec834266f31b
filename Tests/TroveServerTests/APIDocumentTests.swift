import Foundation
import HTTPTypes
import Testing
import TroveCore
@testable import TroveServer

/// The API document (`openapi.yaml`, served at `/openapi.json`) against the router: every route the server
/// registers is described, and every operation described is served. The admin UI (`/admin`, HTML forms for a
/// browser) is not part of the API.
@Suite struct APIDocumentTests {
    @Test func theDocumentDescribesExactlyTheRoutesTheServerRegisters() async throws {
        let trove = try await TestTrove()
        let registered = Set(registeredRoutes(services: trove.services).filter { !$0.path.hasPrefix("/admin") })
        let documented = Set(APIDocument.routes)
        #expect(registered.count > 60)
        let undocumented = registered.subtracting(documented).sorted { $0.description < $1.description }
        let unserved = documented.subtracting(registered).sorted { $0.description < $1.description }
        #expect(undocumented.isEmpty, "registered but not in openapi.yaml: \(undocumented)")
        #expect(unserved.isEmpty, "in openapi.yaml but not registered: \(unserved)")
    }

    /// Served as JSON without credentials; OpenAPI 3.1; each family's credential and shared answers filled
    /// in; every `$ref` resolves.
    @Test func theDocumentIsServedWhole() async throws {
        let trove = try await TestTrove()
        try await trove.test { app in
            let reply = try await app.send(.get, "/openapi.json", body: nil, headers: [:])
            #expect(reply.status == 200)
            let document = try #require(reply.json)
            #expect(document == APIDocument.json)
            #expect(document["openapi"] == "3.1.0")
            #expect(document["x-trove-families"] == nil)
            let listProfiles = try #require(document.at("paths./v3/analyze/profiles.get"))
            #expect(listProfiles["security"] == [["accountSecret": []]])
            #expect(listProfiles.at("responses.403") == ["$ref": "#/components/responses/V3Error"])
            #expect(document.at("paths./v1/segments.get.security") == [["appAPIKey": []]])
            #expect(document.at("paths./api/v1/events.post.responses.401") == ["$ref": "#/components/responses/TrackError"])
            #expect(document.at("paths./health.get.security") == [])
            var refs: [String] = []
            func collect(_ value: JSON) {
                switch value {
                case .object(let members):
                    for m in members { if m.key == "$ref", let r = m.value.stringValue { refs.append(r) } else { collect(m.value) } }
                case .array(let elements): elements.forEach(collect)
                default: break
                }
            }
            collect(document)
            #expect(refs.count > 100)
            for ref in Set(refs) { #expect(DocumentedResponses.validator.resolve(ref) != nil, "\(ref)") }
        }
    }

    /// The validator the HTTP tests lean on catches what it must (so a passing suite means something).
    @Test func theValidatorRejectsWrongShapes() {
        let ok = DocumentedResponses.problems(
            method: .get, uri: "/v1/segments/5/customer_count", status: 200, contentType: "application/json",
            body: Array(#"{"count":3,"segment_id":5}"#.utf8))
        #expect(ok.isEmpty, "\(ok)")
        let cases: [(String, Int, String)] = [
            ("/v1/segments/5/customer_count", 200, #"{"count":"3","segment_id":5}"#),
            ("/v1/segments/5/customer_count", 200, #"{"count":3}"#),
            ("/v1/segments/5/customer_count", 200, #"{"count":3,"segment_id":5,"extra":1}"#),
            ("/v1/segments/5/customer_count", 418, #"{"count":3,"segment_id":5}"#),
            ("/v1/segments/5/customer_count", 404, #"{"code":404,"messages":["no"]}"#),
            ("/v3/analyze/profile", 200, #"{"profile":{"id":"nothex","uid":"a","email":null,"created_at":null,"updated_at":null,"last_seen_at":null,"company_id":null,"disabled":false}}"#),
            ("/v3/analyze/events", 200, #"{"events":[{"id":"00000000000000000000000a","name":"x","uid":"a","profile_id":"00000000000000000000000b","timestamp":"yesterday","properties":{}}],"cursor":{"limit":1,"before":null}}"#),
        ]
        for (path, status, body) in cases {
            #expect(!DocumentedResponses.problems(method: .get, uri: path, status: status, contentType: "application/json", body: Array(body.utf8)).isEmpty,
                    "\(path) \(status) \(body)")
        }
        #expect(DocumentedResponses.match("/v3/edit/segments/preview") == "/v3/edit/segments/preview")
        #expect(DocumentedResponses.match("/v3/edit/segments/abc") == "/v3/edit/segments/{id}")
        #expect(DocumentedResponses.match("/v3/observe/hooks/events") == "/v3/observe/hooks/events")
        #expect(DocumentedResponses.match("/v3/observe/hooks/s3cret/events") == "/v3/observe/hooks/{account_secret}/events")
    }
}
