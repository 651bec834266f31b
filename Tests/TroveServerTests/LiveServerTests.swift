import Testing
import TroveCore

/// The same contract over a real socket, as a client would use it.
@Suite struct LiveServerTests {
    @Test func concurrentClientsOverLoopbackAreAllStoredOnce() async throws {
        let trove = try await TestTrove(now: nil)
        try await trove.test(.live) { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var ok = 0
                        for i in 0..<25 {
                            let reply = try await client.post(
                                client.hook("events"), json: ["uid": .string("live-\(i % 5)"), "name": "Live", "message_id": .string("\(worker)-\(i)")])
                            if reply.status == 200 { ok += 1 }
                        }
                        return ok
                    }
                }
                var total = 0
                for try await ok in group { total += ok }
                #expect(total == 200)
            }
            let names = try await client.get("/v3/edit/event_names").json?["event_names"]?.arrayValue
            #expect(names?.first?["count"] == 200)
            #expect(try await client.get("/health").json == ["status": "ok"])
            #expect(try await client.get("/no/such/route").status == 404)
        }
    }
}
