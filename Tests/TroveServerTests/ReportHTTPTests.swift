import Foundation
import GRDB
import HTTPTypes
import Testing
@testable import TroveCore
@testable import TroveServer

/// `GET /v1/reports/events` (SPEC §11): counts per name per bucket from the counters plus the log's tail,
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

    @Test func countsMatchTheEventsBeforeAndAfterTheRollupAndAfterADelete() async throws {
        let trove = try TestTrove()
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
            try await trove.services.ingestor.queue.catchUp()
            let rolled = try await trove.services.database.pool.read { db in try Int64.fetchOne(db, sql: "SELECT sum(count) FROM event_counts") }
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
            try await app.post(app.hook("events"), json: ["uid": "dan", "name": "Started Tour (Chameleon)", "timestamp": "2026-11-20T09:00:00Z"])
            #expect(series(try await app.v1(.get, path, key: key), "started_tour_chameleon") == [2, 1, 1])
            try await trove.services.ingestor.queue.catchUp()
            #expect(series(try await app.v1(.get, path, key: key), "started_tour_chameleon") == [2, 1, 1])
            let stored = try await trove.services.database.pool.read { db in
                (try Int64.fetchOne(db, sql: "SELECT sum(count) FROM event_counts"), try Int64.fetchOne(db, sql: "SELECT count(*) FROM events"))
            }
            #expect(stored.0 == stored.1, "counters = events once caught up")
        }
    }

    /// Daily member counts from the ledger: the count now walked back through each day's entries and exits.
    @Test func segmentHistoryFollowsTheLedger() async throws {
        let time = MovableClock()
        let trove = try TestTrove(clock: time.clock)
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
    @Test func messageActivityHasPerMetricCountsAndRates() async throws {
        let trove = try TestTrove()
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
