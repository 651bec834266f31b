import Foundation
import GRDB
import HTTPTypes
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// `GET /v1/reports/events` (contract §11): counts per name per bucket from the counters plus the log's tail,
/// checked against the events themselves before and after the rollup, after a delete, by hour, in a zone.
@Suite struct ReportHTTPTests {
    /// Events of two names over three UTC days; some near midnight so zones move them across days.
    static let events: [(uid: String, name: String, at: String)] = [
        ("ann", "Started Tour (Chameleon)", "2026-11-18T10:00:00Z"),
        ("ann", "Started Tour (Chameleon)", "2026-11-18T23:30:00Z"),
        ("bob", "Started Tour (Chameleon)", "2026-11-19T03:15:00Z"),
        ("bob", "Completed Tour (Chameleon)", "2026-11-19T03:45:00Z"),
        ("ann", "Completed Tour (Chameleon)", "2026-11-20T00:10:00Z"),
        ("cat", "Started Tour (Chameleon)", "2026-11-20T12:00:00Z"),
        ("cat", "Started Tour (Chameleon)", "2026-11-20T12:59:59.999Z"),
    ]

    func series(_ reply: TestTrove.Client.Reply, _ uid: String) -> [Int64] {
        let s = reply.json?["series"]?.arrayValue?.first { $0["uid"]?.stringValue == uid }
        return s?["points"]?.arrayValue?.compactMap { $0["count"]?.int } ?? []
    }

    @Test(arguments: TestEngine.available)
    func countsMatchTheEventsBeforeAndAfterTheRollupAndAfterADelete(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        let key = trove.credentials.appAPIKey
        try await trove.test { app in
            for e in Self.events {
                #expect(try await app.post(app.hook("events"), json: ["uid": .string(e.uid), "name": .string(e.name), "timestamp": .string(e.at)]).status == 200)
            }
            let path = "/v1/reports/events?from=2026-11-18&to=2026-11-20"
            // Whatever the rollup has reached, the answer is the same.
            let before = try await app.v1(.get, path, key: key)
            #expect(before.status == 200, "\(before.json ?? .null)")
            #expect(series(before, "started_tour_chameleon") == [2, 1, 2])
            #expect(series(before, "completed_tour_chameleon") == [0, 1, 1])
            #expect(before.json?["series"]?.arrayValue?.first?["points"]?.arrayValue?.first?["at"] == "2026-11-18T00:00:00Z")
            #expect(before.json?["tz"] == "UTC")
            try await trove.services.ingestor.store.catchUp()
            let rolled = try await trove.number("SELECT CAST(sum(count) AS bigint) FROM event_counts")
            #expect(rolled == 7, "the counters hold every event now")
            let after = try await app.v1(.get, path, key: key)
            #expect(after.json == before.json)
            #expect(after.json?["series"]?.arrayValue?.first { $0["uid"] == "started_tour_chameleon" }?["total"] == 5)

            // By hour, and in New York (UTC-5 in November): 23:30Z on the 18th is still the 18th there, 03:15Z
            // on the 19th is the 18th, 00:10Z on the 20th is the 19th.
            let hourly = try await app.v1(.get, "/v1/reports/events?interval=hour&from=2026-11-20T12:00:00Z&to=2026-11-20T14:00:00Z&names=Started%20Tour%20(Chameleon)", key: key)
            #expect(series(hourly, "started_tour_chameleon") == [2, 0])
            let newYork = try await app.v1(.get, path + "&tz=America/New_York", key: key)
            #expect(series(newYork, "started_tour_chameleon") == [3, 0, 2])
            #expect(series(newYork, "completed_tour_chameleon") == [1, 1, 0])
            #expect(newYork.json?["series"]?.arrayValue?.first?["points"]?.arrayValue?.first?["at"] == "2026-11-18T00:00:00-05:00")
            #expect(try await app.v1(.get, path + "&tz=Asia/Kolkata", key: key).status == 422, "a half-hour zone")
            #expect(try await app.v1(.get, path + "&tz=Mars/Olympus", key: key).status == 422)
            #expect(try await app.v1(.get, "/v1/reports/events?interval=week", key: key).status == 422)
            let unknown = try await app.v1(.get, path + "&names=Never%20Sent", key: key)
            #expect(unknown.json?["series"]?.arrayValue?.map { $0["total"] } == [0])

            // A delete takes its events out of the counts (rolled up ones included), and new events after it count.
            let c = trove.credentials
            #expect(try await app.track(.delete, "/api/v1/customers/cat", site: c.siteID, key: c.trackAPIKey).status == 200)
            #expect(series(try await app.v1(.get, path, key: key), "started_tour_chameleon") == [2, 1, 0])
            let names = try await app.get("/v3/edit/event_names").json?["event_names"]?.arrayValue ?? []
            #expect(names.first { $0["uid"] == "started_tour_chameleon" }?["count"] == 3, "cat's two starts are gone from the name's total")
            try await app.post(app.hook("events"), json: ["uid": "dan", "name": "Started Tour (Chameleon)", "timestamp": "2026-11-20T09:00:00Z"])
            #expect(series(try await app.v1(.get, path, key: key), "started_tour_chameleon") == [2, 1, 1])
            try await trove.services.ingestor.store.catchUp()
            #expect(series(try await app.v1(.get, path, key: key), "started_tour_chameleon") == [2, 1, 1])
            let stored = (try await trove.number("SELECT CAST(sum(count) AS bigint) FROM event_counts"), try await trove.number("SELECT count(*) FROM events"))
            #expect(stored.0 == stored.1, "counters = events once caught up")
        }
    }

    /// Funnels (contract §11): entries in [from, to), later steps in order within `within` days of the entry
    /// (past `to` allowed), a later step of another tour does not count for this one (one with no tour does),
    /// a profile's best entry counts, each profile once in the total.
    @Test func funnelCountsProfilesReachingEachStepInOrderPerGroup() async throws {
        let trove = try await TestTrove()
        let key = trove.credentials.appAPIKey
        let (s, c) = ("Started Tour (Chameleon)", "Completed Tour (Chameleon)")
        let events: [(String, String, String?, String)] = [
            ("ann", s, "a", "2026-11-10T09:00:00Z"), ("ann", c, "a", "2026-11-12T09:00:00Z"),
            ("bob", s, "a", "2026-11-10T09:00:00Z"), ("bob", c, "b", "2026-11-11T09:00:00Z"),  // another tour
            ("cat", s, "a", "2026-11-01T09:00:00Z"), ("cat", c, "a", "2026-11-06T09:00:00Z"),  // started before from
            ("cat", s, "b", "2026-11-06T09:00:00Z"), ("cat", c, "b", "2026-11-20T09:00:00Z"),  // 14 days: too late …
            ("cat", s, "b", "2026-11-15T09:00:00Z"),  // … but within 7 days of this start
            ("dan", c, "a", "2026-11-09T09:00:00Z"), ("dan", s, "a", "2026-11-10T09:00:00Z"),  // out of order
            ("eve", s, nil, "2026-11-10T09:00:00Z"), ("eve", c, "a", "2026-11-11T09:00:00Z"),  // no tour, then tour a
            ("fay", s, "a", "2026-11-10T09:00:00Z"), ("fay", c, nil, "2026-11-10T12:00:00Z"),  // completion with no tour
            ("gus", s, "a", "2026-11-29T09:00:00Z"), ("gus", c, "a", "2026-12-02T09:00:00Z"),  // completed after to
        ]
        try await trove.test { app in
            for (uid, name, tour, at) in events {
                let body: JSON = tour.map { ["uid": .string(uid), "name": .string(name), "timestamp": .string(at), "tour_id": .string($0)] }
                    ?? ["uid": .string(uid), "name": .string(name), "timestamp": .string(at)]
                #expect(try await app.post(app.hook("events"), json: body).status == 200)
            }
            let steps = "steps=Started%20Tour%20(Chameleon),Completed%20Tour%20(Chameleon)"
            let reply = try await Self.funnel(trove, app, "\(steps)&group_by=tour_id&within=7&from=2026-11-05&to=2026-11-30")
            #expect(reply.status == 200, "\(reply.json ?? .null)")
            func counts(_ group: JSON?) -> [Int64] { group?["steps"]?.arrayValue?.compactMap { $0["profiles"]?.int } ?? [] }
            let groups = reply.json?["groups"]?.arrayValue ?? []
            #expect(groups.map { $0["value"] ?? "?" } == ["a", "b", .null])
            #expect(groups.map(counts) == [[5, 3], [1, 1], [1, 0]])
            #expect(counts(reply.json?["total"]) == [7, 4])
            #expect(groups.first?["conversion"] == .double(0.6))
            #expect(groups.first?["steps"]?.arrayValue?.map { $0["uid"] } == ["started_tour_chameleon", "completed_tour_chameleon"])
            #expect(reply.json?["groups_not_shown"] == 0)
            let one = try await Self.funnel(trove, app, "\(steps)&group_by=tour_id&within=7&from=2026-11-05&to=2026-11-30&limit=1")
            #expect(one.json?["groups"]?.arrayValue?.count == 1 && one.json?["groups_not_shown"] == 2)

            // The same name twice: a second start after the first (strictly), within the window.
            let twice = "steps=Started%20Tour%20(Chameleon),Started%20Tour%20(Chameleon)&from=2026-11-05&to=2026-11-30"
            #expect(counts(try await Self.funnel(trove, app, twice + "&within=30").json?["total"]) == [7, 1])
            #expect(counts(try await Self.funnel(trove, app, twice + "&within=7").json?["total"]) == [7, 0])
            // Without grouping, any completion counts: bob and eve now convert.
            let plain = try await Self.funnel(trove, app, "\(steps)&within=7&from=2026-11-05&to=2026-11-30")
            #expect(counts(plain.json?["total"]) == [7, 6])
            #expect(plain.json?["groups"] == nil)
            let unknown = try await Self.funnel(trove, app, "steps=Started%20Tour%20(Chameleon),Never%20Sent&from=2026-11-05&to=2026-11-30")
            #expect(counts(unknown.json?["total"]) == [7, 0])

            for bad in ["steps=A", "steps=A,,B", "\(steps)&within=0", "\(steps)&group_by=a..b", "\(steps)&from=2026-12-01&to=2026-11-01", "\(steps)&limit=0"] {
                let refused = try await app.v1(.get, "/v1/reports/funnel?" + bad, key: key)
                #expect(refused.status == 422, "\(bad): \(refused.json ?? .null)")
            }
            #expect(try await app.v1(.get, "/v1/reports/funnel?\(steps)", key: "wrong").status == 401)

            // Events after the lists were built are read from the log's tail; a built list is kept current and
            // a deleted profile's events leave it.
            let creds = trove.credentials
            let query = "\(steps)&group_by=tour_id&within=7&from=2026-11-05&to=2026-11-30"
            for (name, at) in [(s, "2026-11-20T09:00:00Z"), (c, "2026-11-21T09:00:00Z")] {
                #expect(try await app.post(app.hook("events"), json: ["uid": "hal", "name": .string(name), "timestamp": .string(at), "tour_id": "a"]).status == 200)
            }
            let withHal = try await app.v1(.get, "/v1/reports/funnel?" + query, key: key)
            #expect(withHal.status == 200, "built lists answer at once; the new events come from the tail")
            #expect(counts(withHal.json?["total"]) == [8, 5])
            try await ReportSteps.catchUp(trove.services.database, now: trove.services.clock.now())
            #expect(try await app.v1(.get, "/v1/reports/funnel?" + query, key: key).json == withHal.json, "the same once they are in the lists")
            #expect(try await app.track(.delete, "/api/v1/customers/hal", site: creds.siteID, key: creds.trackAPIKey).status == 200)
            #expect(try await app.v1(.get, "/v1/reports/funnel?" + query, key: key).json == reply.json, "hal's events left the lists")

            // Unread for 30 days, upkeep drops the lists (rows in the background), and the next funnel builds them again.
            let database = trove.services.database
            func lists() async throws -> (lists: Int, rows: Int) {
                try await database.read { db in
                    (try Int.fetchOne(db, sql: "SELECT count(*) FROM report_steps")!, try StepListRows.listed(db).count)
                }
            }
            #expect(try await lists().lists == 4, "two names by tour_id, and the same two without grouping")
            #expect(try await ReportSteps.pruneUnused(database, now: trove.services.clock.now().adding(milliseconds: 31 * 86_400_000)) == 4)
            try await ReportSteps.catchUp(database, now: trove.services.clock.now())
            #expect(try await lists() == (0, 0))
            let again = try await Self.funnel(trove, app, query)
            #expect(again.json == reply.json)
            #expect(try await lists().lists == 2)
        }
    }

    /// A funnel over HTTP as a client meets it: the first ask answers 202 while the lists its steps read are
    /// built; here they are built as the server's ReportStepService would, then it is asked again.
    static func funnel(_ trove: TestTrove, _ app: TestTrove.Client, _ query: String) async throws -> TestTrove.Client.Reply {
        let key = trove.credentials.appAPIKey
        let first = try await app.v1(.get, "/v1/reports/funnel?" + query, key: key)
        guard first.status == 202 else { return first }
        #expect(first.json?["state"] == "building")
        #expect(first.headers[.retryAfter] == "2")
        try await ReportSteps.catchUp(trove.services.database, now: trove.services.clock.now())
        return try await app.v1(.get, "/v1/reports/funnel?" + query, key: key)
    }

    /// Funnels asked with ever new properties cannot pile up lists: past 32 the least recently read go.
    @Test func funnelListsAreBounded() async throws {
        let time = MovableClock()
        let trove = try await TestTrove(clock: time.clock)
        try await trove.test { app in
            try await app.post(app.hook("events"), json: ["uid": "ann", "name": "A", "timestamp": "2026-02-20T00:00:00Z"])
            try await app.post(app.hook("events"), json: ["uid": "ann", "name": "B", "timestamp": "2026-02-21T00:00:00Z"])
            for i in 0..<20 {
                time.advance(seconds: 1)
                let reply = try await Self.funnel(trove, app, "steps=A,B&group_by=p\(i)&from=2026-02-01&to=2026-02-28")
                #expect(reply.json?["total"]?["converted"] == 1)
            }
            try await ReportSteps.catchUp(trove.services.database, now: time.clock.now())
            let (paths, rows) = try await trove.services.database.read { db in
                (try String.fetchAll(db, sql: "SELECT path FROM report_steps"), try StepListRows.listed(db).count)
            }
            #expect(paths.count == 32 && rows == 32, "40 asked for, the 32 most recently read kept, each with its one event")
            #expect(paths.contains(PropertyPath(normalizing: ["p19"])!.jsonPath))
            #expect(!paths.contains(PropertyPath(normalizing: ["p0"])!.jsonPath))
        }
    }

    /// Daily member counts from the ledger: the count now walked back through each day's entries and exits.
    @Test(arguments: TestEngine.available)
    func segmentHistoryFollowsTheLedger(engine: TestEngine) async throws {
        let time = MovableClock()
        let trove = try await TestTrove(engine: engine, clock: time.clock)
        let key = trove.credentials.appAPIKey
        try await trove.test { app in
            let created = try await app.v3(.post, "/v3/edit/segments", ["name": "Pro", "items": [["prop": "plan", "op": "eq", "value": "pro"]]])
            let id = try #require(created.json?.at("segment.id")?.stringValue.flatMap(PublicID.decode))
            let day0 = String(time.clock.now().iso8601.prefix(10))
            try await app.post(app.hook("profiles/batch"), json: ["profiles": [["uid": "ann", "plan": "pro"], ["uid": "bob", "plan": "pro"]]])
            try await trove.services.membership.catchUp()
            time.advance(seconds: 86_400)
            try await app.post(app.hook("profiles"), json: ["uid": "bob", "plan": "free"])
            try await trove.services.membership.catchUp()
            time.advance(seconds: 86_400)
            try await app.post(app.hook("profiles/batch"), json: ["profiles": [["uid": "cat", "plan": "pro"], ["uid": "dan", "plan": "pro"]]])
            try await trove.services.membership.catchUp()
            let day2 = String(time.clock.now().iso8601.prefix(10))

            let history = try await app.v1(.get, "/v1/reports/segments/\(id)/history?from=\(day0)&to=\(day2)", key: key)
            #expect(history.status == 200, "\(history.json ?? .null)")
            let points = history.json?["points"]?.arrayValue ?? []
            #expect(points.map { $0["count"] } == [2, 1, 3])
            #expect(points.map { $0["entered"] } == [2, 0, 2] && points.map { $0["exited"] } == [0, 1, 0])
            #expect(points.first?["date"] == .string(day0))
            // Ending before today: the later changes are walked back.
            let earlier = try await app.v1(.get, "/v1/reports/segments/\(id)/history?from=\(day0)&to=\(day0)", key: key)
            #expect(earlier.json?["points"]?.arrayValue?.map { $0["count"] } == [2])
            #expect(try await app.v1(.get, "/v1/reports/segments/999/history", key: key).status == 404)
            #expect(try await app.v1(.get, "/v1/reports/segments/\(id)/history?from=yesterday", key: key).status == 422)
        }
    }

    /// Customer.io's reported activity for one campaign, per metric, with its rates; other campaigns and
    /// hook events with a campaign_id property do not count.
    @Test(arguments: TestEngine.available)
    func messageActivityHasPerMetricCountsAndRates(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { app in
            var n = 0
            func report(_ person: String, _ metric: String, campaign: Int) async throws {
                n += 1
                let body: JSON = [
                    "data": ["customer_id": .string(person), "identifiers": ["id": .string(person)], "campaign_id": .int(Int64(campaign)),
                             "delivery_id": .string("d-\(person)-\(campaign)")],
                    "event_id": .string("ev\(n)"), "metric": .string(metric), "object_type": "email", "timestamp": .int(1_772_362_840 + Int64(n)),
                ]
                #expect(try await app.post(app.hook("customerio"), json: body).status == 200)
            }
            for p in ["a", "b", "c", "d"] { try await report(p, "sent", campaign: 77) }
            for p in ["a", "b", "c"] { try await report(p, "delivered", campaign: 77) }
            for p in ["a", "a", "b"] { try await report(p, "opened", campaign: 77) }
            try await report("a", "clicked", campaign: 77)
            try await report("d", "bounced", campaign: 77)
            try await report("a", "opened", campaign: 78)
            try await app.post(app.hook("events"), json: ["uid": "a", "name": "Email Opened (Customer.io)", "campaign_id": 77, "metric": "opened"])

            let key = trove.credentials.appAPIKey
            let reply = try await app.v1(.get, "/v1/reports/messages?campaign_id=77", key: key)
            #expect(reply.status == 200, "\(reply.json ?? .null)")
            let metrics = reply.json?["metrics"]?.arrayValue ?? []
            #expect(metrics.map { $0["metric"] } == ["bounced", "clicked", "delivered", "opened", "sent"])
            #expect(metrics.map { $0["events"] } == [1, 1, 3, 3, 4])
            #expect(metrics.map { $0["people"] } == [1, 1, 3, 2, 4])
            #expect(reply.json?.at("rates.delivery_rate") == .double(0.75))
            #expect(reply.json?.at("rates.open_rate") == .double(0.6667), "2 people of 3 delivered")
            #expect(reply.json?.at("rates.click_rate") == .double(0.3333))
            #expect(reply.json?.at("rates.bounce_rate") == .double(0.25))
            #expect(reply.json?.at("rates.conversion_rate") == 0)
            #expect(try await app.v1(.get, "/v1/reports/messages?campaign_id=78", key: key).json?.at("rates.open_rate") == .null, "nothing delivered")
            #expect(try await app.v1(.get, "/v1/reports/messages", key: key).status == 422)
            #expect(try await app.v1(.get, "/v1/reports/messages?campaign_id=1&action_id=2", key: key).status == 422)
        }
    }
}
