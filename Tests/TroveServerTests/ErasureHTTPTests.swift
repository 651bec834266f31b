import Foundation
import GRDB
import HTTPTypes
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// Erasure (contract §5 forget) through HTTP: everything of the person goes, the counts and segments move,
/// a `segment.exited` reaches a live receiver, the record names no one, and afterwards the database file, its
/// log and a backup hold none of the person's identifiers or values as bytes.
@Suite struct ErasureHTTPTests {
    /// Strings only the erased person ever sent.
    static let traces = ["ann-7f3a9c", "ann.zz9q@example.com", "Zebulon-Quux-4411", "Xylophone-Mongoose-991"]

    @Test(arguments: TestEngine.available)
    func forgetLeavesNoTraceOnDiskAndMovesCountsAndSegments(engine: TestEngine) async throws {
        try await WebhookDeliveryTests.withReceiver(engine: engine) { receiver, port, trove, deliverer in
            try await trove.test { app in
                let hook = try await app.v3(.post, "/v3/edit/webhooks", [
                    "url": .string("http://127.0.0.1:\(port)/hook"), "topics": ["segment.entered", "segment.exited", "event.created"],
                ])
                #expect(hook.status == 200)
                // A reply kept for an Idempotency-Key that quotes her: an event refused for her email, not yet known.
                let keyed = try await app.post(app.hook("events/batch"), json: ["events": [["email": "ann.zz9q@example.com", "name": "X"]]],
                                               headers: [HTTPField.Name("Idempotency-Key")!: "k-1"])
                #expect(keyed.text.contains("ann.zz9q@example.com"))
                try await app.post(app.hook("profiles"), json: ["uid": "ann-7f3a9c", "email": "ann.zz9q@example.com", "plan": "pro", "nickname": "Zebulon-Quux-4411"])
                try await app.post(app.hook("profiles"), json: ["uid": "bob", "email": "bob@example.com", "plan": "pro", "nickname": "Bobby"])
                // 300 events for ann, a fifth of them sent out of time order, between bob's.
                var items: [JSON] = []
                for i in 0..<300 {
                    let t = Int64(1_772_000_000 + (i % 5 == 4 ? i - 50 : i) * 60)
                    items.append(["uid": "ann-7f3a9c", "name": i % 2 == 0 ? "Searched" : "Viewed Page", "timestamp": .int(t),
                                  "query": i % 3 == 0 ? "Xylophone-Mongoose-991" : "pricing", "n": .int(Int64(i))])
                    items.append(["uid": "bob", "name": "Searched", "timestamp": .int(t), "query": "pricing"])
                }
                #expect(try await app.post(app.hook("events/batch"), json: ["events": .array(items)]).status == 202)
                let segment = try await app.v3(.post, "/v3/edit/segments", ["name": "Pro", "items": [["prop": "plan", "op": "eq", "value": "pro"]]])
                let segmentID = try #require(segment.json?.at("segment.id")?.stringValue)
                try await trove.services.membership.catchUp()
                try await trove.services.ingestor.store.catchUp()
                try await deliverer.drain()
                let before = try await app.v1(.get, "/v1/reports/events?from=2026-02-01&to=2026-03-01&names=Searched", key: trove.credentials.appAPIKey).json
                #expect(before?.at("series")?.arrayValue?.first?["total"] == 450)
                #expect(try await app.v3(.get, "/v3/edit/segments/\(segmentID)").json?.at("segment.member_count") == 2)
                let annID = try #require(try await app.profile(uid: "ann-7f3a9c")?["id"]?.stringValue)

                let erased = try await app.v3(.delete, "/v3/edit/profiles/forget?uid=ann-7f3a9c")
                #expect(erased.status == 200, "\(erased.text)")
                #expect(erased.json?.at("profile.id") == .string(annID))
                let deletionID = try #require(erased.json?.at("deletion.id")?.stringValue)
                #expect(erased.json?.at("deletion.counts.events") == 300 && erased.json?.at("deletion.counts.memberships") == 1)

                // Twice: nobody there, nothing else changes.
                let again = try await app.v3(.delete, "/v3/edit/profiles/\(annID)/forget")
                #expect(again.status == 404, "\(again.text)")
                #expect(try await app.v3(.delete, "/v3/edit/profiles/forget?email=ann.zz9q%40example.com").status == 404)
                #expect(try await app.v3(.delete, "/v3/edit/profiles/forget").status == 422)
                #expect(try await app.get("/v3/analyze/profile?uid=ann-7f3a9c").status == 404)
                #expect(try await app.get("/v3/analyze/events?uid=ann-7f3a9c").status == 404)

                // Reports, segment size and its ledger as if she had never been there; the exit announced.
                let after = try await app.v1(.get, "/v1/reports/events?from=2026-02-01&to=2026-03-01&names=Searched", key: trove.credentials.appAPIKey).json
                #expect(after?.at("series")?.arrayValue?.first?["total"] == 300)
                #expect(try await app.v3(.get, "/v3/edit/segments/\(segmentID)").json?.at("segment.member_count") == 1)
                let changes = try await app.v3(.get, "/v3/edit/segments/\(segmentID)/changes").json?["changes"]?.arrayValue ?? []
                #expect(changes.count == 1)
                try await deliverer.drain()
                let kinds = receiver.received.withLock { $0 }.compactMap { try? JSONParser.parse($0.body) }
                let exits = kinds.filter { $0["kind"] == "segment.exited" }
                #expect(exits.count == 1 && exits.first?.at("data.profile.uid") == "ann-7f3a9c", "the receiver hears who left")
                let record = try await app.v3(.get, "/v3/edit/deletions").json
                let deletion = try #require(record?["deletions"]?.arrayValue?.first)
                #expect(deletion["id"] == .string(deletionID) && deletion["kind"] == "profile" && deletion["source"] == "api")
                #expect(deletion["completed_at"]?.stringValue != nil, "its one notification was delivered")
                #expect(deletion.at("counts.notifications") == 1)
                #expect(deletion.at("counts.deliveries")?.int ?? 0 >= 300, "the event.created and segment.entered deliveries about her went")

                // Bob is untouched.
                #expect(try await app.get("/v3/analyze/events?uid=bob&limit=500").json?["events"]?.arrayValue?.count == 300)
            }

            // On disk (SQLite: the file is Trove's): the file, its log after a checkpoint, and a backup taken afterwards.
            guard !trove.isPostgres else { return }
            let database = trove.services.database
            #expect(try database.truncateLog())
            let backup = database.path + ".backup"
            _ = try Maintenance.backup(source: database.path, destination: backup)
            for path in [database.path, database.path + "-wal", backup] {
                guard let bytes = FileManager.default.contents(atPath: path) else { continue }
                for trace in Self.traces {
                    #expect(bytes.range(of: Data(trace.utf8)) == nil, "\(trace) found in \(path)")
                }
                #expect(bytes.range(of: Data("bob@example.com".utf8)) != nil || path.hasSuffix("-wal"), "the search can find what is there")
            }
        }
    }

    /// The Track API's customer delete is the same erasure; the CLI's `trove forget` too (CLI tests).
    @Test(arguments: TestEngine.available)
    func trackDeleteErasesAndRacingEventsLeaveNoHalfPerson(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let c = trove.credentials
        try await trove.test { app in
            let basic = "Basic " + Data("\(c.siteID):\(c.trackAPIKey)".utf8).base64EncodedString()
            try await app.post(app.hook("events/batch"), json: ["events": .array((0..<5000).map { i in
                ["uid": "ann", "name": "Clicked", "timestamp": .int(1_772_000_000 + Int64(i)), "secret": .string("Quasar-\(i)")]
            })])
            // Events for her uid while the erasure runs: afterwards either a new person with only those, or nobody.
            async let erasure = app.send(.delete, "/api/v1/customers/ann", body: nil, headers: [.authorization: basic])
            var sentDuring = 0
            for i in 0..<20 {
                let r = try await app.post(app.hook("events"), json: ["uid": "ann", "name": "Clicked", "secret": .string("Nova-\(i)")])
                if r.status == 200 || r.status == 202 { sentDuring += 1 }
            }
            #expect(try await erasure.status == 200)
            let left = try await app.get("/v3/analyze/events?uid=ann&limit=500")
            if left.status == 200 {
                let events = left.json?["events"]?.arrayValue ?? []
                #expect(events.allSatisfy { $0.at("properties.secret")?.stringValue?.hasPrefix("Nova-") == true }, "nothing of the old person")
                #expect(events.count <= sentDuring)
            } else {
                #expect(left.status == 404)
            }
            let old = try await trove.number("SELECT count(*) FROM events WHERE CAST(properties AS text) LIKE '%Quasar-%'")
            #expect(old == 0)
            let record = try await app.v3(.get, "/v3/edit/deletions").json?["deletions"]?.arrayValue?.first
            #expect(record?["source"] == "track")
            // An unknown customer is no error on the Track API.
            #expect(try await app.send(.delete, "/api/v1/customers/nobody", body: nil, headers: [.authorization: basic]).status == 200)
        }
    }
}

extension ErasureHTTPTests {
    /// `DELETE /v3/edit/companies/:id`: without cascade the people stay, unlinked, and leave segments that
    /// needed the company; with `cascade=profiles` they are erased too.
    @Test(arguments: TestEngine.available)
    func companyDeleteUnlinksOrErasesItsPeople(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { app in
            try await app.post(app.hook("profiles"), json: ["uid": "ann", "company": ["uid": "acme", "employees": 80, "motto": "Quokka-Lantern-55"]])
            try await app.post(app.hook("profiles"), json: ["uid": "bob", "company": ["uid": "acme"]])
            try await app.post(app.hook("profiles"), json: ["uid": "cat", "company": ["uid": "beta", "employees": 90]])
            try await app.post(app.hook("profiles"), json: ["uid": "dan", "company": ["uid": "beta"]])
            try await app.post(app.hook("events"), json: ["uid": "cat", "name": "Clicked"])
            let segment = try await app.v3(.post, "/v3/edit/segments", ["name": "Big", "items": [["prop": "company.employees", "op": "gt", "value": 50]]])
            let segmentID = try #require(segment.json?.at("segment.id")?.stringValue)
            try await trove.services.membership.catchUp()
            #expect(try await app.v3(.get, "/v3/edit/segments/\(segmentID)").json?.at("segment.member_count") == 4)
            let acme = try #require(try await app.get("/v3/analyze/company?uid=acme").json?.at("company.id")?.stringValue)
            let beta = try #require(try await app.get("/v3/analyze/company?uid=beta").json?.at("company.id")?.stringValue)

            #expect(try await app.v3(.delete, "/v3/edit/companies/\(acme)?cascade=all").status == 422)
            let unlinked = try await app.v3(.delete, "/v3/edit/companies/\(acme)")
            #expect(unlinked.status == 200, "\(unlinked.text)")
            #expect(unlinked.json?["unlinked"] == 2 && unlinked.json?.at("company.id") == .string(acme))
            #expect(try await app.get("/v3/analyze/company?uid=acme").status == 404)
            #expect(try await app.profile(uid: "ann")?["company_id"] == .null)
            try await trove.services.membership.catchUp()
            #expect(try await app.v3(.get, "/v3/edit/segments/\(segmentID)").json?.at("segment.member_count") == 2, "ann and bob left")
            #expect(try await app.v3(.delete, "/v3/edit/companies/\(acme)").status == 404)

            let cascaded = try await app.v3(.delete, "/v3/edit/companies/\(beta)?cascade=profiles")
            #expect(cascaded.status == 200, "\(cascaded.text)")
            #expect(cascaded.json?["unlinked"] == 0 && cascaded.json?.at("deletion.counts.profiles") == 2)
            #expect(try await app.get("/v3/analyze/profile?uid=cat").status == 404)
            #expect(try await app.get("/v3/analyze/profile?uid=dan").status == 404)
            #expect(try await app.v3(.get, "/v3/edit/segments/\(segmentID)").json?.at("segment.member_count") == 0)
            let deletions = try await app.v3(.get, "/v3/edit/deletions").json?["deletions"]?.arrayValue ?? []
            #expect(deletions.map { "\($0["kind"]?.stringValue ?? "")/\($0["source"]?.stringValue ?? "")" }
                == ["company/api", "profile/company", "profile/company", "company/api"])
            // Newest first: dan, then cat (erased together, in id order), each with their own counts.
            #expect(deletions[1...2].map { $0.at("counts.events") } == [0, 1])
            #expect(deletions[1...2].map { $0.at("counts.memberships") } == [1, 1])
            #expect(deletions[1...2].map { $0.at("counts.ledger_rows") } == [1, 1], "each one's entry into Big")
            let catalog = try await app.get("/v3/edit/properties?kind=company").text
            #expect(!catalog.contains("Quokka-Lantern-55"), "the catalog keeps no example of an erased company's values")
        }
    }
}
