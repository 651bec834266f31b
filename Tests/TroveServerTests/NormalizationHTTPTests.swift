import Testing
import TroveTestEngines
import TroveCore

/// contract §4 through the hooks: what is sent is read back normalized, coerced and cut.
@Suite struct NormalizationHTTPTests {
    /// Times outside the years 0000–9999 (which ISO-8601's four-digit year cannot write) are refused with a
    /// 422 wherever they come in — an event's timestamp, a time parameter, an export's window — never stored,
    /// never a crash (the API fuzzer once stored year −2 through an event and brought the server down
    /// rendering it).
    @Test(arguments: TestEngine.available)
    func timesOutsideTheYears0000To9999AreRefused(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let key = trove.credentials.appAPIKey
        try await trove.test { app in
            for timestamp: JSON in [-62_167_219_201, -9_223_372_036_854_775_807, 9_223_372_036_854_775_807, 1e15, "-0001-01-01", "0000-01-01T00:00:00+01:00"] {
                let sent = try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Old", "timestamp": timestamp])
                #expect(sent.status == 422, "\(timestamp): \(sent.text)")
            }
            for edge: JSON in [-62_167_219_200, 253_402_300_799, "9999-12-31T23:59:59.999Z"] {
                #expect(try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Edge", "timestamp": edge]).status == 200, "\(edge)")
            }
            let timeline = try await app.get("/v3/analyze/events?uid=ann")
            #expect(timeline.status == 200)
            #expect(timeline.text.contains("0000-01-01T00:00:00.000Z") && timeline.text.contains("9999-12-31T23:59:59"))
            #expect(try await app.get("/v3/edit/event_names").status == 200)
            let segment = try await app.v3(.post, "/v3/edit/segments", ["name": "All", "items": [["kind": "property", "prop": "plan", "op": "ex"]]])
            let id = try #require(segment.json?.at("segment.id")?.stringValue)
            for asOf in ["-9223372036854775808", "9223372036854775807", "-62167219201"] {
                #expect(try await app.get("/v3/edit/segments/\(id)/members?as_of=\(asOf)").status == 422, "\(asOf)")
            }
            #expect(try await app.v1(.get, "/v1/reports/events?from=9223372036854775807", key: key).status == 422)
            let export = try await app.v1(.post, "/v1/exports/deliveries", key: key, ["campaign_id": 1, "start": -9_223_372_036_854_775_807])
            #expect(export.status == 400, "\(export.text)")
        }
    }

    /// NUL (U+0000) is stored by neither engine (PostgreSQL's text and jsonb cannot hold it): a body that
    /// escapes one and a URL that encodes one are 400s saying so, on both engines, and nothing is written.
    @Test(arguments: TestEngine.available)
    func nulCharactersAreRefusedWhereverTheyComeIn(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let key = trove.credentials.appAPIKey
        try await trove.test { app in
            for body: JSON in [["uid": "ann\u{0}"], ["uid": "ann", "name": "Viewed\u{0}"], ["uid": "ann", "name": "Viewed", "properties": ["k": "a\u{0}b"]],
                               ["uid": "ann", "name": "Viewed", "properties": ["k\u{0}": 1]]] {
                let sent = try await app.post(app.hook("events"), json: body)
                #expect(sent.status == 400 && sent.text.contains("NUL"), "\(body): \(sent.text)")
            }
            let profile = try await app.post(app.hook("profiles"), json: ["uid": "bob", "plan": "pro\u{0}"])
            #expect(profile.status == 400 && profile.text.contains("NUL"), "\(profile.text)")
            #expect(try await app.profile(uid: "bob") == nil)
            #expect(try await app.profile(uid: "ann") == nil)
            for path in ["/v3/analyze/events?uid=ann%00", "/v3/edit/profiles?uid=%00", "/v1/customers/ann%00/attributes"] {
                let read = path.hasPrefix("/v1") ? try await app.v1(.get, path, key: key) : try await app.get(path)
                #expect(read.status == 400 && read.text.contains("%00"), "\(path): \(read.text)")
            }
            #expect(try await app.get("/health").status == 200)
        }
    }

    /// Day windows of any size are taken (a window past 10,000 years covers every time there is), never a
    /// crash: `"int": 1e300` once brought the server down multiplying it into milliseconds.
    @Test(arguments: TestEngine.available)
    func hugeDayWindowsSelectEveryTime(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { app in
            #expect(try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Completed Tour", "timestamp": "1990-01-01"]).status == 200)
            #expect(try await app.post(app.hook("profiles"), json: ["uid": "ann", "signup_at": "1990-01-01", "trial_end": "+99999999d"]).status == 200)
            let cases: [(JSON, Int64)] = [
                ([["kind": "event", "value": "Completed Tour", "cond": "gt-d", "int": 1e300]], 1),
                ([["kind": "event", "value": "Completed Tour", "cond": "lt-d", "int": 1e300]], 0),
                ([["kind": "property", "prop": "signup_at", "op": "gt-d", "value": 1e300]], 1),
                ([["kind": "property", "prop": "signup_at", "op": "lt-d", "value": 1e300]], 0),
            ]
            for (items, count) in cases {
                let preview = try await app.v3(.post, "/v3/edit/segments/preview", ["items": items])
                #expect(preview.status == 200 && preview.json?["count"] == .int(count), "\(items): \(preview.text)")
            }
            let explain = try await app.v3(.post, "/v3/edit/segments", ["name": "Ever", "items": cases[0].0])
            let id = try #require(explain.json?.at("segment.id")?.stringValue)
            #expect(try await app.get("/v3/edit/segments/\(id)/explain?uid=ann").status == 200)
            // "+99999999d" is past the year 9999: kept as the string it was, not as a time.
            #expect(try await app.profile(uid: "ann")?["trial_end"] == "+99999999d")
            #expect(try await app.get("/health").status == 200)
        }
    }

    @Test(arguments: TestEngine.available)
    func everyNameExampleNormalizes(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let table = try fixtureJSON("normalization/names.json").arrayValue!
        try await trove.test { client in
            for (i, row) in table.enumerated() {
                let sent = row["sent"]!.stringValue!, stored = row["stored"]!.stringValue!
                // Nested keys are never reserved, so each name is sent inside a hash, one profile each.
                let uid = "names-\(i)"
                let reply = try await client.post(client.hook("profiles"), json: ["uid": .string(uid), "names": .object([JSONMember(sent, .int(Int64(i)))])])
                #expect(reply.status == 200)
                let profile = try await client.profile(uid: uid)
                #expect(profile?["names"] == .object([JSONMember(stored, .int(Int64(i)))]), "\(sent) → \(stored)")
            }
            // Event names normalize the same way for grouping, and keep their display form.
            try await client.post(client.hook("events"), json: ["uid": "names-0", "name": "Completed Tour (Chameleon)"])
            let names = try await client.get("/v3/edit/event_names").json?["event_names"]?.arrayValue
            #expect(names?.first?["uid"] == "completed_tour_chameleon")
            #expect(names?.first?["name"] == "Completed Tour (Chameleon)")
        }
    }

    @Test(arguments: TestEngine.available)
    func everyValueExampleIsCoerced(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine, now: Timestamp.parseISO8601("2026-03-01T12:00:00Z"))
        let table = try fixtureJSON("normalization/values.json")
        let cases = table["cases"]!.arrayValue!
        try await trove.test { client in
            var body: [JSONMember] = [JSONMember("uid", "values")]
            for c in cases { body.append(JSONMember(c["key"]!.stringValue!, c["sent"]!)) }
            #expect(try await client.post(client.hook("profiles"), json: .object(body)).status == 200)
            let profile = try #require(try await client.profile(uid: "values"))
            for c in cases {
                let key = c["key"]!.stringValue!
                #expect(profile[key] == c["stored"]!, "\(key): sent \(JSONWriter.string(c["sent"]!))")
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func cutsAt768BytesInsideAMultiByteCharacter(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        // 766 ASCII bytes, then "😀" (4 bytes, spanning bytes 767-770): the cut must drop it whole.
        let long = String(repeating: "x", count: 766) + "😀" + String(repeating: "y", count: 100)
        try await trove.test { client in
            try await client.post(client.hook("profiles"), json: ["uid": "cut", "bio": .string(long), "tags": [.string(long)], "h": ["v": .string(long)]])
            let profile = try #require(try await client.profile(uid: "cut"))
            let expected = JSON.string(String(repeating: "x", count: 766))
            #expect(profile["bio"] == expected)
            #expect(profile["tags"] == [expected])
            #expect(profile.at("h.v") == expected)
            let warnings = try await client.get("/v3/edit/warnings?kind=profile").json?["warnings"]?.arrayValue ?? []
            let truncated = warnings.filter { $0["kind"] == "truncated" }.compactMap { $0["prop"]?.stringValue }.sorted()
            #expect(truncated == ["bio", "h.v", "tags"])
            #expect(warnings.first { $0["prop"] == "bio" }?["detail"] == .string("cut from \(long.utf8.count) to at most 768 bytes"))
            #expect(warnings.first { $0["prop"] == "bio" }?["example_uid"] == "cut")
        }
    }

    @Test(arguments: TestEngine.available)
    func dropsThirdLevelHashesAndHashesInArrays(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            try await client.post(client.hook("profiles"), try fixture("hooks/profile.json"))
            let profile = try #require(try await client.profile(uid: "5f3c4232c712de665632a6d9"))
            #expect(profile["address"]?.sortedKeys == ["city": "Boston", "geo": ["lat": 42.36, "lng": -71.06]])
            #expect(profile["roles"] == ["admin", "billing"])
            let warnings = try await client.get("/v3/edit/warnings").json?["warnings"]?.arrayValue ?? []
            let kinds = Set(warnings.map { "\($0["kind"]!.stringValue!) \($0["prop"]!.stringValue!)" })
            #expect(kinds.contains("too_deep address.geo.point"))
            #expect(kinds.contains("hash_in_array roles"))
            #expect(kinds.contains("reserved updated_at"))
            #expect(kinds.contains("reserved percent"))
        }
    }

    @Test(arguments: TestEngine.available)
    func appliesAndDropsReservedNames(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            let reply = try await client.post(client.hook("profiles"), try fixture("hooks/profile.json"))
            #expect(reply.status == 200)
            let profile = try #require(try await client.profile(uid: "5f3c4232c712de665632a6d9"))
            #expect(profile["email"] == "jane.doe@example.com")
            #expect(profile["plan_name"] == "pro")
            #expect(profile["upsell_readiness_score"] == 87)
            #expect(profile["seats"] == 12)
            #expect(profile["mrr"] == 1199.5)
            #expect(profile["zip"] == "02139")
            #expect(profile["beta_opt_in"] == true)
            #expect(profile["signup_at"] == "2026-01-15T09:30:00.000Z")
            #expect(profile["trial_ends_at"] == "2026-04-01T00:00:00.000Z")
            #expect(profile["updated_at"] == "2026-03-01T12:00:00.000Z", "updated_at is Trove's, not the payload's")
            #expect(profile["percent"] == nil)
            #expect(profile["company"] == nil, "the company object links, it is not a property")
            #expect(profile["company_id"]?.stringValue?.count == 24)

            // created_at, disabled and chameleon_admin are applied, not stored as properties.
            try await client.post(client.hook("profiles"), json: ["uid": "r", "created_at": "2025-01-01", "disabled": true, "chameleon_admin": true, "user_id": 5])
            let r = try #require(try await client.profile(uid: "r"))
            #expect(r["created_at"] == "2025-01-01T00:00:00.000Z")
            #expect(r["disabled"] == true)
            #expect(r["chameleon_admin"] == nil && r["user_id"] == nil)
        }
    }

    @Test(arguments: TestEngine.available)
    func refusesMoreThanAThousandProperties(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            var members = [JSONMember("uid", "many")]
            for i in 0..<600 { members.append(JSONMember("p\(i)", .int(Int64(i)))) }
            #expect(try await client.post(client.hook("profiles"), json: .object(members)).status == 200)
            var more = [JSONMember("uid", "many")]
            for i in 600..<1001 { more.append(JSONMember("p\(i)", .int(Int64(i)))) }
            let reply = try await client.post(client.hook("profiles"), json: .object(more))
            #expect(reply.status == 422)
            #expect(reply.json?["messages"]?.arrayValue?.first?.stringValue?.contains("1001 top-level properties") == true)
            let profile = try #require(try await client.profile(uid: "many"))
            #expect(profile["p600"] == nil, "nothing of the refused update is stored")
            // Removing some with null makes room again.
            more.append(JSONMember("p0", nil))
            #expect(try await client.post(client.hook("profiles"), json: .object(more)).status == 200)
        }
    }

    @Test(arguments: TestEngine.available)
    func laterKeysWinCollisionsAndEmptyNamesAreDropped(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            try await client.post(client.hook("profiles"), json: ["uid": "c", "planName": "a", "plan name": "b", "!!!": 1, "h": ["X": 1, "x": 2]])
            let profile = try #require(try await client.profile(uid: "c"))
            #expect(profile["plan_name"] == "b")
            #expect(profile["h"] == ["x": 2])
            let warnings = try await client.get("/v3/edit/warnings?kind=profile").json?["warnings"]?.arrayValue ?? []
            let kinds = Set(warnings.map { "\($0["kind"]!.stringValue!) \($0["prop"]!.stringValue!)" })
            #expect(kinds == ["name_collision plan_name", "name_collision h.x", "invalid_name !!!"])
            #expect(try await client.get("/v3/edit/warnings?kind=event").json?["warnings"] == [])
            #expect(try await client.get("/v3/edit/warnings?kind=nope").status == 422)
        }
    }
}
