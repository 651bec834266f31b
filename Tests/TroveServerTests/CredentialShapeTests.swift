import Foundation
import HTTPTypes
import Testing
import TroveTestEngines
import TroveCore

/// Each API family refuses bad credentials in its own shape (contract §1).
@Suite struct CredentialShapeTests {
    @Test(arguments: TestEngine.available)
    func eachFamilyHasItsErrorShape(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let c = trove.credentials
        try await trove.test { client in
            let v1 = try await client.send(.get, "/v1/segments", body: nil, headers: [:])
            #expect(v1.status == 401)
            #expect(v1.json?["errors"]?.arrayValue?.first?["status"] == "401")
            let wrongBearer = try await client.send(.get, "/v1/segments", body: nil, headers: [.authorization: "Bearer \(c.accountSecret)"])
            #expect(wrongBearer.status == 401)
            let goodBearer = try await client.send(.get, "/v1/nothing-here", body: nil, headers: [.authorization: "Bearer \(c.appAPIKey)"])
            #expect(goodBearer.status == 404)
            #expect(goodBearer.json?["errors"]?.arrayValue?.first?["status"] == "404")

            let track = try await client.send(.put, "/api/v1/customers/u1", body: nil, headers: [:])
            #expect(track.status == 401)
            #expect(track.json?.at("meta.errors")?.arrayValue?.count == 1)
            let wrongBasic = Data("\(c.siteID):\(c.appAPIKey)".utf8).base64EncodedString()
            #expect(try await client.send(.put, "/api/v1/customers/u1", body: nil, headers: [.authorization: "Basic \(wrongBasic)"]).status == 401)
            let basic = Data("\(c.siteID):\(c.trackAPIKey)".utf8).base64EncodedString()
            let known = try await client.send(.put, "/api/v1/nothing-here", body: nil, headers: [.authorization: "Basic \(basic)"])
            #expect(known.status == 404)
            #expect(known.json?.at("meta.errors") != nil)

            let v3 = try await client.get("/v3/edit/warnings", secret: c.appAPIKey)
            #expect(v3.status == 403)
            #expect(v3.json == ["code": 403, "messages": ["invalid account secret"]])
        }
    }
}
