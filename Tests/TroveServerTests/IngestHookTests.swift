import Foundation
import HTTPTypes
import Testing
import TroveTestEngines
import TroveCore

/// contract §3 through the hooks.
@Suite struct IngestHookTests {
    @Test(arguments: TestEngine.available)
    func profilesMergeKeyByKeyAndNullRemoves(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let first = try await client.post(client.hook("profiles"), json: ["uid": "u1", "plan": "free", "seats": 3])
            #expect(first.status == 200)
            let id = try #require(first.json?.at("profile.id")?.stringValue)
            #expect(id.count == 24)
            let second = try await client.post(client.hook("profiles"), json: ["uid": "u1", "plan": "pro", "seats": nil, "role": "admin"])
            #expect(second.json?.at("profile.id")?.stringValue == id)
            let profile = try #require(try await client.profile(uid: "u1"))
            #expect(profile["plan"] == "pro")
            #expect(profile["seats"] == nil)
            #expect(profile["role"] == "admin")
            // Found by email or id too, first found wins in the order uid, email, id.
            try await client.post(client.hook("profiles"), json: ["uid": "u1", "email": "U1@Example.com"])
            try await client.post(client.hook("profiles"), json: ["email": " u1@example.COM", "via": "email"])
            try await client.post(client.hook("profiles"), json: ["id": .string(id), "via2": "id"])
            let again = try await client.get("/v3/analyze/profile?email=U1%40example.com").json?["profile"]
            #expect(again?["via"] == "email" && again?["via2"] == "id" && again?["id"] == .string(id))
            #expect(try await client.get("/v3/analyze/profile?id=\(Int64(PublicID.decode(id)!))").json?.at("profile.uid") == "u1")
        }
    }

    @Test(arguments: TestEngine.available)
    func creatingAProfileNeedsAUid(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let reply = try await client.post(client.hook("profiles"), json: ["email": "new@example.com", "plan": "pro"])
            #expect(reply.status == 422)
            #expect(reply.json?["messages"]?.arrayValue?.first?.stringValue?.hasPrefix("uid:") == true)
            #expect(try await client.get("/v3/analyze/profile?email=new%40example.com").status == 404)
        }
    }

    @Test(arguments: TestEngine.available)
    func identifiersNamingTwoProfilesAreRefusedAndNothingIsStored(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            try await client.post(client.hook("profiles"), json: ["uid": "a", "email": "a@example.com"])
            try await client.post(client.hook("profiles"), json: ["uid": "b", "email": "b@example.com"])
            let reply = try await client.post(client.hook("profiles"), json: ["uid": "a", "email": "b@example.com", "plan": "x"])
            #expect(reply.status == 422)
            #expect(try await client.profile(uid: "a")?["plan"] == nil)
            let event = try await client.post(client.hook("events"), json: ["uid": "a", "email": "b@example.com", "name": "X"])
            #expect(event.status == 422)
            #expect(try await client.get("/v3/edit/event_names").json?["event_names"] == [])
            let long = String(repeating: "u", count: 256)
            let tooLong = try await client.post(client.hook("profiles"), json: ["uid": .string(long)])
            #expect(tooLong.status == 422)
            #expect(tooLong.json?["messages"]?.arrayValue?.first?.stringValue?.contains("255 bytes") == true)
        }
    }

    @Test(arguments: TestEngine.available)
    func companiesLinkAndUpdate(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let company = try await client.post(client.hook("companies"), try fixture("hooks/company.json"))
            #expect(company.status == 200)
            let companyID = try #require(company.json?.at("company.id")?.stringValue)
            let read = try #require(try await client.get("/v3/analyze/company?uid=acme").json?["company"])
            #expect(read["id"] == .string(companyID))
            #expect(read["employees"] == 120 && read["industry"] == "Software")
            #expect(read["created_at"] == "2020-05-01T00:00:00.000Z")

            // company_uid links (creating the company when missing); the company object also updates it.
            try await client.post(client.hook("profiles"), json: ["uid": "p1", "company_uid": "acme"])
            try await client.post(client.hook("profiles"), json: ["uid": "p2", "company_uid": "newco"])
            try await client.post(client.hook("profiles"), json: ["uid": "p3", "company": ["uid": "acme", "employees": "150"]])
            try await client.post(client.hook("profiles"), json: ["uid": "p4", "company_id": .string(companyID)])
            #expect(try await client.profile(uid: "p1")?["company_id"] == .string(companyID))
            #expect(try await client.profile(uid: "p4")?["company_id"] == .string(companyID))
            let p3 = try await client.get("/v3/analyze/profile?uid=p3&expand%5Bcompany%5D=all").json?["profile"]
            #expect(p3?.at("company.employees") == 150)
            #expect(p3?.at("company.industry") == "Software", "the company's other properties merge")
            #expect(try await client.get("/v3/analyze/company?uid=newco").status == 200)
            try await client.post(client.hook("profiles"), json: ["uid": "p1", "company_uid": nil])
            #expect(try await client.profile(uid: "p1")?["company_id"] == .null)
            let unknown = try await client.post(client.hook("profiles"), json: ["uid": "p5", "company_id": "ffffffffffffffffffffffff"])
            #expect(unknown.status == 422)
            #expect(try await client.profile(uid: "p5") == nil)
            #expect(try await client.post(client.hook("companies"), json: ["name": "no uid"]).status == 422)
        }
    }

    @Test(arguments: TestEngine.available)
    func eventsCreateUnknownProfilesAndDedupeOnMessageID(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let first = try await client.post(client.hook("events"), try fixture("hooks/event.json"))
            #expect(first.status == 200)
            let eventID = try #require(first.json?.at("event.id")?.stringValue)
            let repeated = try await client.post(client.hook("events"), try fixture("hooks/event.json"))
            #expect(repeated.status == 200)
            #expect(repeated.json?.at("event.id")?.stringValue == eventID)
            let profile = try #require(try await client.profile(uid: "5f3c4232c712de665632a6d9"))
            #expect(profile["last_seen_at"] == "2026-02-28T10:00:00.000Z")
            let names = try await client.get("/v3/edit/event_names").json?["event_names"]?.arrayValue
            #expect(names?.count == 1 && names?.first?["count"] == 1, "the repeat stored nothing")
            let props = try await client.get("/v3/edit/properties?kind=event").json?["properties"]?.arrayValue ?? []
            #expect(Set(props.compactMap { $0["prop"]?.stringValue }) == ["tour_id", "tour_name", "url"])

            // An unknown email cannot create a profile; a missing name is refused.
            #expect(try await client.post(client.hook("events"), json: ["email": "x@example.com", "name": "X"]).status == 422)
            #expect(try await client.post(client.hook("events"), json: ["uid": "x"]).status == 422)
            #expect(try await client.post(client.hook("events"), json: ["uid": "x", "name": "X", "timestamp": true]).status == 422)
            #expect(try await client.profile(uid: "x") == nil)
        }
    }

    @Test(arguments: TestEngine.available)
    func batchesStoreValidItemsAndReportInvalidOnesByIndex(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let reply = try await client.post(client.hook("events/batch"), try fixture("hooks/events_batch_mixed.json"))
            #expect(reply.status == 202)
            #expect(reply.json?.at("batch.accepted") == 4)
            #expect(reply.json?.at("batch.skipped") == 0)
            let errors = reply.json?["errors"]?.arrayValue ?? []
            #expect(errors.map { $0["index"]! } == [1, 2, 3, 4])
            #expect(errors.allSatisfy { $0["code"] == 422 })
            #expect(errors.allSatisfy { ($0["message"]?.stringValue?.isEmpty ?? true) == false })
            let names = try await client.get("/v3/edit/event_names").json?["event_names"]?.arrayValue ?? []
            let total = names.compactMap { $0["count"]?.int }.reduce(0, +)
            #expect(total == 3, "the repeated message_id inside the batch kept the first")
            #expect(try await client.profile(uid: "u-3")?["last_seen_at"] == "2026-02-28T10:00:00.000Z")

            let allBad = try await client.post(client.hook("events/batch"), json: ["events": [1, 2]])
            #expect(allBad.status == 202 && allBad.json?.at("batch.accepted") == 0)
            #expect(try await client.post(client.hook("events/batch"), json: ["events": "no"]).status == 422)
            #expect(try await client.post(client.hook("events/batch"), json: ["profiles": []]).status == 422)

            let ignore = try await client.post(
                client.hook("profiles/batch"),
                json: ["on_model_missing": "ignore", "profiles": [["uid": "u-1", "seen": true], ["uid": "nobody", "seen": true]]])
            #expect(ignore.json?.at("batch.accepted") == 1 && ignore.json?.at("batch.skipped") == 1)
            #expect(try await client.profile(uid: "nobody") == nil)
        }
    }

    @Test(arguments: TestEngine.available)
    func idempotencyKeyReplaysTheFirstReply(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let headers: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "batch-42"]
            let body: JSON = ["events": [["uid": "i", "name": "Retry Me"]]]
            let first = try await client.post(client.hook("events/batch"), json: body, headers: headers)
            let second = try await client.post(client.hook("events/batch"), json: body, headers: headers)
            #expect(first.status == 202 && second.status == 202)
            #expect(first.json == second.json)
            let names = try await client.get("/v3/edit/event_names").json?["event_names"]?.arrayValue
            #expect(names?.first?["count"] == 1)
        }
    }

    @Test(arguments: TestEngine.available)
    func oversizedBodiesAndItemsGet413(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let big = String(repeating: "a", count: 1 << 20)
            let single = try await client.post(client.hook("profiles"), json: ["uid": "big", "bio": .string(big)])
            #expect(single.status == 413)
            #expect(single.json?["code"] == 413)
            let batch = try await client.post(client.hook("profiles/batch"), json: ["profiles": [["uid": "big", "bio": .string(big)], ["uid": "small"]]])
            #expect(batch.status == 202)
            #expect(batch.json?["errors"] == [["code": 413, "index": 0, "message": .string("item is \(big.utf8.count + 22) bytes; an item may be at most 1 MiB")]])
            #expect(try await client.profile(uid: "small") != nil)
            #expect(try await client.profile(uid: "big") == nil)
            var huge: [UInt8] = Array(#"{"profiles":["#.utf8)
            let item = Array(#"{"uid":"x","bio":""#.utf8) + [UInt8](repeating: 0x61, count: 900_000) + Array(#""}"#.utf8)
            for i in 0..<19 { huge += (i > 0 ? [0x2C] : []) + item }
            huge += Array("]}".utf8)
            let tooBig = try await client.post(client.hook("profiles/batch"), huge)
            #expect(tooBig.status == 413)
            #expect(tooBig.json?["messages"]?.arrayValue?.first?.stringValue?.contains("split the batch") == true)
        }
    }

    @Test(arguments: TestEngine.available)
    func malformedBodiesGet4xxAndLeaveNoTrace(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let invalidUTF8: [UInt8] = Array(#"{"uid":"bad","name":"X","p":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
            let utf8 = try await client.post(client.hook("events"), invalidUTF8)
            #expect(utf8.status == 400)
            #expect(utf8.json?["messages"]?.arrayValue?.first?.stringValue?.contains("invalid UTF-8") == true)
            #expect(try await client.post(client.hook("events"), Array("{\"uid\":".utf8)).status == 400)
            #expect(try await client.post(client.hook("events"), Array("".utf8)).status == 400)
            let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
            #expect(try await client.post(client.hook("profiles"), Array("{\"uid\":\"d\",\"x\":\(deep)}".utf8)).status == 400)
            for body in ["[1,2]", "\"text\"", "42", "null"] {
                let reply = try await client.post(client.hook("profiles"), Array(body.utf8))
                #expect(reply.status == 422, "\(body)")
                #expect(reply.json?["messages"]?.arrayValue?.first?.stringValue?.contains("expected a JSON object") == true)
            }
            #expect(try await client.post(client.hook("profiles"), json: ["uid": ["not": "a string"]]).status == 422)
            #expect(try await client.profile(uid: "bad") == nil)
            #expect(try await client.profile(uid: "d") == nil)
            #expect(try await client.get("/v3/edit/event_names").json?["event_names"] == [])
        }
    }

    @Test(arguments: TestEngine.available)
    func credentialsAreCheckedAndAccountsIsolated(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let other = try await trove.services.accounts.create(name: "other")
        try await trove.test { client in
            let wrong = try await client.post("/v3/observe/hooks/not-a-secret/profiles", json: ["uid": "w"])
            #expect(wrong.status == 403)
            #expect(wrong.json == ["code": 403, "messages": ["invalid account secret"]])
            let missing = try await client.post("/v3/observe/hooks/profiles", json: ["uid": "w"])
            #expect(missing.status == 403)
            // The app API key is not an account secret.
            #expect(try await client.post("/v3/observe/hooks/\(trove.credentials.appAPIKey)/profiles", json: ["uid": "w"]).status == 403)

            // The header form works like the path form.
            let header: HTTPFields = [HTTPField.Name("X-Account-Secret")!: trove.secret]
            #expect(try await client.post("/v3/observe/hooks/profiles", json: ["uid": "mine", "plan": "pro"], headers: header).status == 200)
            #expect(try await client.post("/v3/observe/hooks/events/batch", json: ["events": [["uid": "mine", "name": "X"]]], headers: header).status == 202)

            // Another account's secret sees none of this account's data, and writes only its own.
            #expect(try await client.get("/v3/analyze/profile?uid=mine", secret: other.accountSecret).status == 404)
            #expect(try await client.post("/v3/observe/hooks/\(other.accountSecret)/profiles", json: ["uid": "mine", "plan": "free"]).status == 200)
            #expect(try await client.profile(uid: "mine")?["plan"] == "pro")
            #expect(try await client.get("/v3/analyze/profile?uid=mine", secret: other.accountSecret).json?.at("profile.plan") == "free")
            #expect(try await client.get("/v3/edit/event_names", secret: other.accountSecret).json?["event_names"] == [])
            #expect(try await client.get("/v3/edit/warnings", secret: "nope").status == 403)
        }
    }

    @Test(arguments: TestEngine.available)
    func disabledIsAFlag(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            try await client.post(client.hook("profiles"), json: ["uid": "d", "disabled": true])
            #expect(try await client.profile(uid: "d")?["disabled"] == true)
            try await client.post(client.hook("profiles"), json: ["uid": "d", "disabled": "false"])
            #expect(try await client.profile(uid: "d")?["disabled"] == false)
            #expect(try await client.post(client.hook("profiles"), json: ["uid": "d", "disabled": "maybe"]).status == 422)
        }
    }
}
