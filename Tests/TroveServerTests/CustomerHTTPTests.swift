import Foundation
import HTTPTypes
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// The App API's customer lookups (contract §7), on the export fixtures.
@Suite struct CustomerHTTPTests {
    @Test(arguments: TestEngine.available)
    func customersAreFoundPagedAndShownAsCustomerIODoes(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let key = trove.credentials.appAPIKey
        try await trove.test { client in
            try await client.post(client.hook("companies/batch"), try fixture("exports/companies.json"))
            try await client.post(client.hook("profiles/batch"), try fixture("exports/profiles.json"))

            let found = try await client.v1(.get, "/v1/customers?email=ANN@example.com", key: key).json
            #expect(found?["results"] == [["email": "ann@example.com", "id": "u-1", "cio_id": .string(PublicID.encode(1))]])
            #expect(try await client.v1(.get, "/v1/customers?email=nobody@example.com", key: key).json?["results"] == [])
            #expect(try await client.v1(.get, "/v1/customers", key: key).status == 422)

            // Filter search, two per page, cursor until "" (u-4 is disabled, u-3 on the free plan).
            let filter: JSON = ["filter": ["attribute": ["field": "plan", "operator": "eq", "value": "pro"]]]
            let first = try await client.v1(.post, "/v1/customers?limit=2", key: key, filter).json
            #expect(first?["ids"] == ["u-1", "u-2"])
            #expect(first?["identifiers"]?.arrayValue?.map { $0["cio_id"] } == [.string(PublicID.encode(1)), .string(PublicID.encode(2))])
            let next = try #require(first?["next"]?.stringValue)
            #expect(!next.isEmpty)
            let second = try await client.v1(.post, "/v1/customers?limit=2&start=\(next)", key: key, filter).json
            #expect(second?["ids"] == ["ünï"])
            #expect(second?["next"] == "")
            let everyone = try await client.v1(.post, "/v1/customers", key: key, [:]).json
            #expect(everyone?["ids"]?.arrayValue?.count == 4)
            let bad = try await client.v1(.post, "/v1/customers", key: key, ["filter": ["attribute": ["field": "plan", "operator": "like"]]])
            #expect(bad.status == 422)
            #expect(bad.json?["errors"]?.arrayValue?.first?["detail"]?.stringValue?.hasPrefix("filter.attribute.operator: unknown operator") == true)

            // Attributes: every value a string, timestamps in unix seconds.
            let shown = try await client.v1(.get, "/v1/customers/u-1/attributes", key: key).json?["customer"]
            #expect(shown?["id"] == "u-1")
            #expect(shown?["identifiers"] == ["email": "ann@example.com", "id": "u-1", "cio_id": .string(PublicID.encode(1))])
            let attributes = shown?["attributes"]
            #expect(attributes?["plan"] == "pro")
            #expect(attributes?["score"] == "91.5")
            #expect(attributes?["beta"] == "true")
            #expect(attributes?["trial_ends_at"] == "1775001600")
            #expect(attributes?["tags"] == #"["a","b"]"#)
            if trove.isPostgres {  // jsonb orders keys its own way; the value is the same
                #expect(try JSONParser.parse(Array((attributes?["address"]?.stringValue ?? "").utf8)).sortedKeys == ["city": "Oslo", "zip": "0150"])
            } else {
                #expect(attributes?["address"] == #"{"city":"Oslo","zip":"0150"}"#)
            }
            #expect(attributes?["email"] == "ann@example.com")
            #expect(attributes?["created_at"] == .string(String(testNow.seconds)))
            #expect(shown?["timestamps"]?["plan"] == .int(testNow.seconds))
            #expect(shown?["unsubscribed"] == false)
            let byEmail = try await client.v1(.get, "/v1/customers/ann%40example.com/attributes?id_type=email", key: key).json?["customer"]
            #expect(byEmail == shown)
            #expect(try await client.v1(.get, "/v1/customers/cio_\(PublicID.encode(1))/attributes", key: key).json?["customer"] == shown)
            #expect(try await client.v1(.get, "/v1/customers/nobody/attributes", key: key).status == 404)

            let batch = try await client.v1(.post, "/v1/customers/attributes", key: key, ["ids": ["u-2", "nobody", "u-1"]]).json
            #expect(batch?["customers"]?.arrayValue?.map { $0["id"] } == ["u-2", "u-1"])
            let tooMany = try await client.v1(.post, "/v1/customers/attributes", key: key, ["ids": .array((0..<101).map { .string("u\($0)") })])
            #expect(tooMany.status == 422)
            #expect(try await client.v1(.post, "/v1/customers/attributes", key: key, ["ids": [["x": 1]]]).status == 422)
        }
    }
}
