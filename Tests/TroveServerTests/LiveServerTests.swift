import AsyncHTTPClient
import NIOCore
import Testing
import TroveCore

/// The same contract over a real socket, as a client would use it.
@Suite struct LiveServerTests {
    @Test func concurrentClientsOverLoopbackAreAllStoredOnce() async throws {
        let trove = try await TestTrove(now: nil)
        try await trove.test(.live) { client in
            // Clients of our own over the server's socket: HummingbirdTesting's live client gives up after a fixed
            // 20 s, which the whole suite starting at once on two cores has exceeded (every in-process request
            // of that moment waited ~11 s, the same before and after the PostgreSQL engine's changes).
            let port = try #require(client.client.port)
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let total = try await withThrowingTaskGroup(of: Int.self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            var ok = 0
                            for i in 0..<25 {
                                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(client.hook("events"))")
                                request.method = .POST
                                request.headers.add(name: "Content-Type", value: "application/json")
                                request.body = .bytes(JSONWriter.bytes(["uid": .string("live-\(i % 5)"), "name": "Live", "message_id": .string("\(worker)-\(i)")]))
                                let reply = try await http.execute(request, deadline: .now() + .seconds(120))
                                _ = try await reply.body.collect(upTo: 1 << 16)
                                if reply.status.code == 200 { ok += 1 }
                            }
                            return ok
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(total == 200)
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
            let names = try await client.get("/v3/edit/event_names").json?["event_names"]?.arrayValue
            #expect(names?.first?["count"] == 200)
            #expect(try await client.get("/health").json == ["status": "ok"])
            #expect(try await client.get("/no/such/route").status == 404)
        }
    }
}
