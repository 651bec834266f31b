import Foundation
import GRDB
import Testing
import TroveTestEngines
@testable import TroveCore
@testable import TroveServer

/// A person's timeline (contract §5 `GET /v3/analyze/events`) through HTTP, against what was sent: events in
/// and out of time order, duplicates, other people's events between them, read from the log's tail before
/// the activity rollup, after it, and after a restart that left the writer's memory behind.
@Suite struct TimelineHTTPTests {
    struct Sent {
        var seq: Int
        var name: String
        var time: Int64
    }

    /// Every page of `query` with `limit`, following the cursor; the events' `seq` properties in order.
    func timeline(_ client: TestTrove.Client, _ query: String, limit: Int) async throws -> [Int] {
        var seqs: [Int] = []
        var before: String?
        for _ in 0..<1000 {
            let cursor = before.map { "&before=\($0)" } ?? ""
            let reply = try await client.get("/v3/analyze/events?\(query)&limit=\(limit)\(cursor)")
            #expect(reply.status == 200, "\(reply.text)")
            let events = reply.json?["events"]?.arrayValue ?? []
            #expect(events.count <= limit)
            seqs += events.compactMap { e -> Int? in
                if case .int(let n)? = e.at("properties.seq") { return Int(n) }
                return nil
            }
            guard let next = reply.json?.at("cursor.before")?.stringValue else { return seqs }
            #expect(events.count == limit, "a cursor only after a full page")
            before = next
        }
        Issue.record("the cursor never ended")
        return seqs
    }

    /// What the test sent, in order; touched by one task at a time.
    final class Script: @unchecked Sendable {
        var sent: [Sent] = []
        var random: UInt64 = 42
        let names = ["Clicked Button", "Viewed Page", "Completed Tour (Chameleon)"]
        let base: Int64 = 1_772_000_000

        func next(_ n: Int64) -> Int64 {
            random = random &* 6364136223846793005 &+ 1442695040888963407
            return Int64((random >> 33) % UInt64(n))
        }

        /// `count` events for ann, mostly forward in time, one in five from the past, some at a time already
        /// used; `seq` is the order sent (= stored). Bob gets one beside each, and a repeated message_id nothing.
        func batch(_ count: Int, _ client: TestTrove.Client) async throws {
            var items: [JSON] = []
            var time = sent.last.map { $0.time + 1 } ?? base
            for _ in 0..<count {
                let seq = sent.count
                let t = next(5) == 0 ? base + next(Int64(time - base + 1)) : time + next(3)
                time = max(time, t)
                let name = names[Int(next(3))]
                sent.append(Sent(seq: seq, name: name, time: t))
                items.append(["uid": "ann", "name": .string(name), "timestamp": .int(t), "seq": .int(Int64(seq)), "message_id": .string("m\(seq)")])
                items.append(["uid": "bob", "name": "Viewed Page", "timestamp": .int(t)])
            }
            items.append(["uid": "ann", "name": "Viewed Page", "timestamp": .int(base), "seq": 9999, "message_id": "m0"])
            let reply = try await client.post(client.hook("events/batch"), json: ["events": .array(items)])
            #expect(reply.status == 202, "\(reply.text)")
        }

        func expected(name: String? = nil) -> [Int] {
            sent.filter { name == nil || $0.name == name }.sorted { ($0.time, $0.seq) > ($1.time, $1.seq) }.map(\.seq)
        }
    }

    @Test func timelinesFollowTimeOrderAcrossPagesRollupsAndRestarts() async throws {
        let clock = MovableClock()
        let trove = try await TestTrove(clock: clock.clock)
        let script = Script()

        try await trove.test { client in
            for _ in 0..<3 { try await script.batch(15, client) }
            // In the log's tail: nothing rolled up yet.
            #expect(try await timeline(client, "uid=ann", limit: 7) == script.expected())
            try await trove.services.ingestor.store.catchUp()
            #expect(try await timeline(client, "uid=ann", limit: 7) == script.expected())
            #expect(try await timeline(client, "uid=ann", limit: 500) == script.expected())
            try await script.batch(10, client)  // rolled-up heads and a tail together
            #expect(try await timeline(client, "uid=ann", limit: 4) == script.expected())
            #expect(try await timeline(client, "uid=ann&name=clicked_button", limit: 3) == script.expected(name: "Clicked Button"))
            #expect(try await timeline(client, "email=&uid=ann&name=Completed%20Tour%20(Chameleon)", limit: 2) == script.expected(name: "Completed Tour (Chameleon)"))

            let first = try await client.get("/v3/analyze/events?uid=ann&limit=1").json
            let event = try #require(first?["events"]?.arrayValue?.first)
            #expect(event["uid"] == "ann")
            #expect(event["name"] == .string(script.sent.first { $0.seq == script.expected()[0] }!.name))
            #expect(event["timestamp"] == .string(Timestamp(seconds: script.sent.map(\.time).max()!).iso8601))
            let profileID = try #require(event["profile_id"]?.stringValue)
            #expect(try await timeline(client, "profile_id=\(profileID)", limit: 50) == script.expected())
        }

        // Both chains are in use: most events in time order, the ones sent from the past in the other.
        let (linked, late) = try await trove.services.database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE prev_id >= 0")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE prev_id < 0")!)
        }
        #expect(linked > 40 && late > 5, "linked \(linked), late \(late)")

        // A restarted server links new events to the heads it reads back (rolled up and in the tail).
        let restarted = try TestTrove(reopening: trove, clock: clock.clock)
        try await restarted.test { client in
            try await script.batch(12, client)
            #expect(try await timeline(client, "uid=ann", limit: 9) == script.expected())
        }

        // A database from before the chains (migration 0017): every event stored so far without a link, found
        // through the index built by the migration; new events start new chains beside them.
        try await trove.services.database.pool.write { db in
            try db.execute(sql: "UPDATE events SET prev_id = NULL")
            try db.execute(sql: "UPDATE profile_activity SET head_event_id = 0, late_head_id = 0")
        }
        let migrated = try TestTrove(reopening: trove, clock: clock.clock)
        try await migrated.test { client in
            #expect(try await timeline(client, "uid=ann", limit: 9) == script.expected())
            try await script.batch(12, client)
            #expect(try await timeline(client, "uid=ann", limit: 9) == script.expected())
            try await migrated.services.ingestor.store.catchUp()
            #expect(try await timeline(client, "uid=ann", limit: 9) == script.expected())
            #expect(try await timeline(client, "uid=ann&name=viewed_page", limit: 4) == script.expected(name: "Viewed Page"))
            let bob = try await client.get("/v3/analyze/events?uid=bob&limit=500").json?["events"]?.arrayValue ?? []
            #expect(bob.count == script.sent.count)
        }
    }

    @Test(arguments: TestEngine.available)
    func badTimelineRequestsAreRefusedWithTheirReason(engine: TestEngine) async throws {
        let trove = try await TestTrove(engine: engine)
        try await trove.test { client in
            try await client.post(client.hook("events"), json: ["uid": "ann", "email": "ann@example.com", "name": "Signed Up"])
            #expect(try await client.get("/v3/analyze/events?email=ANN@example.com").json?["events"]?.arrayValue?.count == 1)
            #expect(try await client.get("/v3/analyze/events?uid=ann&name=Signed%20Up").json?["events"]?.arrayValue?.count == 1)
            #expect(try await client.get("/v3/analyze/events?uid=ann&name=never_sent").json?["events"]?.arrayValue?.count == 0)
            let cases: [(String, Int, String)] = [
                ("uid=nobody", 404, #"no profile with uid \"nobody\""#),
                ("", 422, "give uid, email or profile_id"),
                ("uid=ann&limit=0", 422, "limit: must be a whole number from 1 to 500"),
                ("uid=ann&limit=501", 422, "limit: must be a whole number from 1 to 500"),
                ("uid=ann&limit=ten", 422, "limit"),
                ("uid=ann&before=12.x.3", 422, "before: not a cursor this API returned"),
                ("uid=ann&before=1.5.9", 422, "before: not a cursor this API returned"),
                ("uid=ann&name=%20!!", 422, #"name: \" !!\" has no letters or digits"#),
                ("profile_id=zz", 422, "profile_id: not a valid id"),
            ]
            for (query, status, message) in cases {
                let reply = try await client.get("/v3/analyze/events?\(query)")
                #expect(reply.status == status, "\(query): \(reply.text)")
                #expect(reply.text.contains(message), "\(query): \(reply.text)")
            }
            // Without credentials, nothing.
            let anonymous = try await client.send(.get, "/v3/analyze/events?uid=ann", body: nil, headers: [:])
            #expect(anonymous.status == 403, "\(anonymous.text)")
        }
    }
}
