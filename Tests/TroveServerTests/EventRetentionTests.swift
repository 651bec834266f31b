import Foundation
import GRDB
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// `--retain-events-days` (contract §11): old events go in batches through the writer; the counters stay exact
/// and a segment whose condition rested on the deleted events loses its member.
@Suite struct EventRetentionTests {
    @Test(arguments: TestEngine.available)
    func oldEventsGoAndEverythingDerivedFollows(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)  // now: 2026-03-01T12:00:00Z
        let key = trove.credentials.appAPIKey
        let other = try await trove.services.accounts.create(name: "other")
        try await trove.test { app in
            // Another account's old events go too, in the same batches (a batch spans both accounts).
            for at in ["2026-01-05T10:00:00Z", "2026-01-06T10:00:00Z", "2026-02-20T10:00:00Z"] {
                let sent = try await app.post("/v3/observe/hooks/\(other.accountSecret)/events",
                                              json: ["uid": "dan", "name": "Started Tour", "timestamp": .string(at)])
                #expect(sent.status == 200)
            }
            let events: [(String, String)] = [
                ("ann", "2026-01-02T10:00:00Z"), ("ann", "2026-01-03T10:00:00Z"), ("bob", "2026-01-04T10:00:00Z"),
                ("bob", "2026-02-27T10:00:00Z"), ("cat", "2026-02-28T10:00:00Z"),
            ]
            for (uid, at) in events {
                #expect(try await app.post(app.hook("events"), json: ["uid": .string(uid), "name": "Started Tour", "timestamp": .string(at)]).status == 200)
            }
            let segment = try await app.v3(.post, "/v3/edit/segments", ["name": "Ever started", "items": [["kind": "event", "value": "Started Tour"]]])
            let id = try #require(segment.json?.at("segment.id")?.stringValue)
            try await trove.services.membership.catchUp()
            try await trove.services.ingestor.store.catchUp()
            func members() async throws -> Int64? { try await app.v3(.get, "/v3/edit/segments/\(id)", nil).json?.at("segment.member_count")?.int }
            #expect(try await members() == 3)
            let report = "/v1/reports/events?from=2026-01-01&to=2026-02-28&names=Started%20Tour"
            #expect(try await app.v1(.get, report, key: key).json?["series"]?.arrayValue?.first?["total"] == 5)

            // Keep 30 days: the three January events go, in batches of 2 to cross a batch boundary.
            let cutoff = trove.services.clock.now().adding(milliseconds: -30 * 86_400_000)
            var removed = 0
            while true {
                let n = try await trove.services.ingestor.store.write { session in try session.deleteEvents(before: cutoff, limit: 2) }
                removed += n
                if n < 2 { break }
            }
            #expect(removed == 5)
            #expect(try await EventRetention.prune(trove.services.ingestor.store, before: cutoff) == 0, "nothing left to delete")
            let left = try await trove.number("SELECT count(*) FROM events")
            #expect(left == 3)
            #expect(try await app.v1(.get, report, key: key).json?["series"]?.arrayValue?.first?["total"] == 2, "the counters lost the deleted events")
            let names = try await app.get("/v3/edit/event_names").json?["event_names"]?.arrayValue
            #expect(names?.first?["count"] == 2, "the name's total counts the events stored under it")
            try await trove.services.ingestor.store.catchUp()
            let counted = try await trove.number("SELECT CAST(sum(count) AS bigint) FROM event_counts")
            #expect(counted == 3)
            try await trove.services.membership.catchUp()
            #expect(try await members() == 2, "ann's only events were deleted: she leaves the segment")
        }
    }
}
