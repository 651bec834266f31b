import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TroveTestEngines
import TroveCore
@testable import TroveServer

extension TestTrove.Client {
    @discardableResult
    func v3(_ method: HTTPRequest.Method, _ path: String, _ body: JSON? = nil) async throws -> Reply {
        try await send(method, path, body: body.map(JSONWriter.bytes), headers: [HTTPField.Name("X-Account-Secret")!: secret])
    }

    @discardableResult
    func v1(_ method: HTTPRequest.Method, _ path: String, key: String, _ body: JSON? = nil) async throws -> Reply {
        try await send(method, path, body: body.map(JSONWriter.bytes), headers: [.authorization: "Bearer \(key)"])
    }

    @discardableResult
    func track(_ method: HTTPRequest.Method, _ path: String, site: String, key: String, _ body: JSON? = nil) async throws -> Reply {
        let basic = Data("\(site):\(key)".utf8).base64EncodedString()
        return try await send(method, path, body: body.map(JSONWriter.bytes), headers: [.authorization: "Basic \(basic)"])
    }
}

/// Segments through the HTTP API (contract §5, §6), with payloads from `fixtures/segments`.
@Suite struct SegmentHTTPTests {
    func seed(_ client: TestTrove.Client) async throws {
        try await client.post(client.hook("companies/batch"), try fixture("segments/companies.json"))
        try await client.post(client.hook("profiles/batch"), try fixture("segments/profiles.json"))
        try await client.post(client.hook("events/batch"), try fixture("segments/events.json"))
    }

    @Test(arguments: TestEngine.available)
    func aSegmentIsBuiltAndReadThroughEveryRoute(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let c = trove.credentials
        try await trove.test { client in
            try await seed(client)
            let created = try await client.v3(.post, "/v3/edit/segments", try fixtureJSON("segments/upsell.json"))
            #expect(created.status == 200)
            #expect(created.json?.at("segment.state") == "building")
            let id = try #require(created.json?.at("segment.id")?.stringValue)
            try await trove.services.membership.catchUp()

            let shown = try await client.v3(.get, "/v3/edit/segments/\(id)")
            #expect(shown.json?.at("segment.state") == "ready")
            #expect(shown.json?.at("segment.member_count") == 2)
            #expect(shown.json?.at("segment.computed_at") == "2026-03-01T12:00:00.000Z")
            #expect(shown.json?.at("segment.items_op") == "and")

            let members = try await client.v3(.get, "/v3/edit/segments/\(id)/members").json
            #expect(members?["profiles"]?.arrayValue?.compactMap { $0["uid"]?.stringValue } == ["carol", "alice"])
            let changes = try await client.v3(.get, "/v3/edit/segments/\(id)/changes?limit=1").json
            #expect(changes?["changes"]?.arrayValue?.first?["change"] == "entered")
            #expect(changes?["changes"]?.arrayValue?.first?.at("profile.uid") == "alice")
            let next = try #require(changes?["next"]?.stringValue)
            let rest = try await client.v3(.get, "/v3/edit/segments/\(id)/changes?since=\(next)").json
            #expect(rest?["changes"]?.arrayValue?.map { $0.at("profile.uid") } == ["carol"])
            let asOfBefore = try await client.v3(.get, "/v3/edit/segments/\(id)/members?as_of=2026-03-01T11:00:00Z").json
            #expect(asOfBefore?["profiles"]?.arrayValue?.count == 0)

            // Explain: per condition, the result and the value that decided it.
            let explained = try await client.v3(.get, "/v3/edit/segments/\(id)/explain?uid=bob").json
            #expect(explained?["member"] == false)
            let conditions = explained?["conditions"]?.arrayValue ?? []
            #expect(conditions.map { $0["result"] } == [true, false, true, true])
            #expect(conditions[1]["actual"] == ["free"])
            #expect(conditions[1]["path"] == "items[1]")
            #expect(conditions[3]["actual"] == [2])

            // Segments of a user: /v3 expand and /v1.
            let alice = try await client.get("/v3/analyze/profile?uid=alice&expand%5Bsegments%5D=all").json
            #expect(alice?.at("profile.segments")?.arrayValue?.first?["name"] == "Upsell ready")
            let v1 = try await client.v1(.get, "/v1/customers/alice/segments", key: c.appAPIKey).json
            #expect(v1?["segments"]?.arrayValue?.first?["id"] == .int(PublicID.decode(id)!))
            #expect(try await client.v1(.get, "/v1/customers/nobody-by-this-id/segments", key: c.appAPIKey).status == 404)

            // Preview of an edit: who would enter and leave.
            var edited = try fixtureJSON("segments/upsell.json")
            if case .object(var m) = edited { m.append(JSONMember("id", .string(id))); m[m.firstIndex { $0.key == "items" }!].value = [["prop": "planName", "op": "eq", "value": "free"]]; edited = .object(m) }
            let preview = try await client.v3(.post, "/v3/edit/segments/preview", edited).json
            #expect(preview?["count"] == 1 && preview?["entering"] == 1 && preview?["exiting"] == 2)
            #expect(preview?["sample"] == ["bob"])

            // Ad-hoc audience reads.
            let filters = #"[{"prop":"planName","op":"eq","value":"pro"}]"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let pros = try await client.v3(.get, "/v3/analyze/profiles?filters=\(filters)&limit=1").json
            #expect(pros?["profiles"]?.arrayValue?.first?["uid"] == "dave")
            let before = try #require(pros?.at("cursor.before")?.stringValue)
            let page2 = try await client.v3(.get, "/v3/analyze/profiles?filters=\(filters)&limit=10&before=\(before)").json
            #expect(page2?["profiles"]?.arrayValue?.compactMap { $0["uid"]?.stringValue } == ["carol", "alice"])
            #expect(try await client.v3(.post, "/v3/analyze/profiles/count", ["segment_id": .string(id)]).json == ["count": 2])
            let big = try await client.v3(.post, "/v3/analyze/companies/count", ["filters": [["prop": "employees", "op": "gt", "value": 50]]]).json
            #expect(big == ["count": 1])

            // The Customer.io-style segment routes.
            let n = PublicID.decode(id)!
            #expect(try await client.v1(.get, "/v1/segments/\(n)/customer_count", key: c.appAPIKey).json == ["count": 2, "segment_id": .int(n)])
            let page = try await client.v1(.get, "/v1/segments/\(n)/membership?limit=1", key: c.appAPIKey).json
            #expect(page?["ids"] == ["alice"])
            let start = try #require(page?["next"]?.stringValue)
            let last = try await client.v1(.get, "/v1/segments/\(n)/membership?limit=1&start=\(start)", key: c.appAPIKey).json
            #expect(last?["ids"] == ["carol"])
            let listed = try await client.v1(.get, "/v1/segments", key: c.appAPIKey).json
            #expect(listed?["segments"]?.arrayValue?.first?["type"] == "dynamic")
            #expect(listed?["segments"]?.arrayValue?.first?["state"] == "finished")
        }
    }

    @Test(arguments: TestEngine.available)
    func manualSegmentsTakeMembersByAPIAndFeedDynamicOnes(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let c = trove.credentials
        try await trove.test { client in
            try await seed(client)
            let manual = try await client.v1(.post, "/v1/segments", key: c.appAPIKey, ["segment": ["name": "VIP", "description": "by hand"]])
            let id = try #require(manual.json?.at("segment.id")?.int)
            #expect(manual.json?.at("segment.type") == "manual")
            let dynamic = try await client.v3(.post, "/v3/edit/segments", [
                "name": "VIP on pro", "items": [["kind": "segment", "value": .int(id)], ["prop": "planName", "op": "eq", "value": "pro"]],
            ])
            let dynamicID = try #require(dynamic.json?.at("segment.id")?.stringValue)
            let added = try await client.track(.post, "/api/v1/segments/\(id)/add_customers", site: c.siteID, key: c.trackAPIKey,
                                               ["ids": ["alice", "bob", "nobody"]])
            #expect(added.status == 200 && added.json == [:])
            let byEmail = try await client.track(.post, "/api/v1/segments/\(id)/add_customers?id_type=email", site: c.siteID, key: c.trackAPIKey,
                                                 ["ids": ["DAVE@example.com"]])
            #expect(byEmail.status == 200)
            try await trove.services.membership.catchUp()
            #expect(try await client.v1(.get, "/v1/segments/\(id)/customer_count", key: c.appAPIKey).json?["count"] == 3)
            #expect(try await client.v3(.get, "/v3/edit/segments/\(dynamicID)").json?.at("segment.member_count") == 2)

            try await client.track(.post, "/api/v1/segments/\(id)/remove_customers", site: c.siteID, key: c.trackAPIKey, ["ids": ["alice"]])
            try await trove.services.membership.catchUp()
            #expect(try await client.v3(.get, "/v3/edit/segments/\(dynamicID)").json?.at("segment.member_count") == 1)

            // The manual segment is in use: 409 names the user; then both go.
            let refused = try await client.v1(.delete, "/v1/segments/\(id)", key: c.appAPIKey)
            #expect(refused.status == 409)
            #expect(refused.json?["errors"]?.arrayValue?.first?["detail"]?.stringValue?.contains("VIP on pro") == true)
            #expect(try await client.v3(.delete, "/v3/edit/segments/\(dynamicID)").status == 200)
            #expect(try await client.v1(.delete, "/v1/segments/\(id)", key: c.appAPIKey).status == 204)
            #expect(try await client.v1(.get, "/v1/segments/\(id)", key: c.appAPIKey).status == 404)
        }
    }

    @Test(arguments: TestEngine.available)
    func badFiltersGetPreciseErrors(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            func refusal(_ body: JSON) async throws -> (Int, String) {
                let reply = try await client.v3(.post, "/v3/edit/segments", body)
                return (reply.status, reply.json?["messages"]?.arrayValue?.first?.stringValue ?? "")
            }
            var (status, message) = try await refusal(["name": "x", "items": [["prop": "planName", "op": "like", "value": "p"]]])
            #expect(status == 422 && message.contains("items[0].op") && message.contains("like"))
            (status, message) = try await refusal(["name": "x", "items": [["kind": "group", "filters": [["prop": "a", "op": "gt", "value": ["x"]]]]]])
            #expect(status == 422 && message.contains("items[0].filters[0].value"))
            (status, message) = try await refusal(["name": "x", "items": [["kind": "event", "value": "Done", "cond": "gt-d"]]])
            #expect(status == 422 && message.contains("items[0].int"))
            (status, message) = try await refusal(["items": []])
            #expect(status == 422 && message.contains("name"))
            var deep: JSON = [["prop": "a", "op": "ex"]]
            for _ in 0..<17 { deep = [["kind": "group", "filters": deep]] }
            (status, message) = try await refusal(["name": "deep", "items": deep])
            #expect(status == 400 && message.contains("deeper than 16"))
            (status, message) = try await refusal(["name": "x", "items": [["kind": "segment", "value": 999]]])
            #expect(status == 422 && message.contains("no segment with id 999"))

            // A cycle through two segments.
            let a = try await client.v3(.post, "/v3/edit/segments", ["name": "a", "items": [["prop": "x", "op": "ex"]]]).json?.at("segment.id")
            let b = try await client.v3(.post, "/v3/edit/segments", ["name": "b", "items": [["kind": "segment", "value": a!]]]).json?.at("segment.id")
            let cycle = try await client.v3(.patch, "/v3/edit/segments/\(a!.stringValue!)", ["items": [["kind": "segment", "value": b!]]])
            #expect(cycle.status == 422)
            #expect(cycle.json?["messages"]?.arrayValue?.first?.stringValue?.contains("refers to itself") == true)

            #expect(try await client.v3(.post, "/v3/edit/segments", nil).status == 422)
            #expect(try await client.send(.post, "/v3/edit/segments", body: Array("{nope".utf8), headers: [HTTPField.Name("X-Account-Secret")!: client.secret]).status == 400)
            #expect(try await client.v3(.get, "/v3/edit/segments/000000000000000000000063").status == 404)
            #expect(try await client.v3(.get, "/v3/analyze/profiles?filters=%5B%7B").status == 400)
            #expect(try await client.v1(.get, "/v1/segments", key: "wrong").json?["errors"]?.arrayValue?.first?["status"] == "401")
        }
    }

    /// The background service keeps membership current on a live server, with no test calling the evaluator.
    /// (Its loop waits on a manual clock: the test moves time by one idle interval instead of polling.)
    @Test(arguments: TestEngine.available)
    func theLiveServerKeepsMembershipCurrent(engine: TestEngine) async throws {
        let time = ManualClock(testNow)
        let trove = try await TestTrove(engine: engine, clock: time.clock)
        let app = buildApplication(services: trove.services, options: ServerOptions(port: 0), logger: Logger(label: "test"))
        let secret = trove.secret
        try await app.test(.live) { raw in
            let loops = backgroundServices(trove.services, logger: Logger(label: "test")).count
            await time.parked(loops)
            let client = TestTrove.Client(client: raw, secret: secret)
            let created = try await client.v3(.post, "/v3/edit/segments", ["name": "Doers", "items": [["kind": "event", "value": "Did It"]]])
            let id = try #require(created.json?.at("segment.id")?.stringValue)
            try await client.post(client.hook("events"), json: ["uid": "live-1", "name": "Did It"])
            time.advance(by: .milliseconds(50))
            await time.parked(loops)
            let count = try await client.v3(.get, "/v3/edit/segments/\(id)").json?.at("segment.member_count")
            #expect(count == 1)
        }
    }
}
