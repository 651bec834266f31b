import Foundation
import GRDB
import Testing
import TroveBench
import TroveCore
import TroveTestEngines

/// contract §13: `kill -9` under load, restart, and every 2xx'd event is there, once.
@Suite struct CrashDurabilityTests {
    @Test func everyAcknowledgedEventSurvivesSIGKILLExactlyOnce() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/trove.sqlite"
        let server = try await onOwnThread { try ServerProcess.start(executable: try troveExecutable(), database: database, logDirectory: directory) }

        // Single events and batches at once, each event with its own message_id.
        let single = LoadGenerator(
            port: server.port, path: "/v3/observe/hooks/\(server.accountSecret)/events", connections: 12, requests: 10_000_000,
            body: { i, body in body += Array(#"{"uid":"u\#(i % 997)","name":"Crash Test","message_id":"s\#(i)","n":\#(i)}"#.utf8) },
            accept: { status, _ in status == 200 })
        let batchSize = 50
        let batches = LoadGenerator(
            port: server.port, path: "/v3/observe/hooks/\(server.accountSecret)/events/batch", connections: 4, requests: 10_000_000,
            body: { i, body in
                let events = (0..<batchSize).map { j in #"{"uid":"b\#((i + j) % 331)","name":"Crash Batch","message_id":"b\#(i * batchSize + j)"}"# }
                body += Array(#"{"events":[\#(events.joined(separator: ","))]}"#.utf8)
            },
            accept: { status, body in
                status == 202 && (try? JSONParser.parse(body))?["batch"]?["accepted"] == .int(Int64(batchSize))
            })
        async let singleOutcome = single.run()
        async let batchOutcome = batches.run()

        // Kill it mid-stream, once it has acknowledged a fair amount.
        let deadline = Date().addingTimeInterval(60)
        while single.started < 3_000 || batches.started < 100, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        server.kill(SIGKILL)
        let (s, b) = await (singleOutcome, batchOutcome)
        let acknowledged = s.acknowledged.map { "s\($0)" } + b.acknowledged.flatMap { i in (0..<batchSize).map { "b\(i * batchSize + $0)" } }
        #expect(s.acknowledged.count > 1_000)
        #expect(b.acknowledged.count > 20)
        #expect(s.transportErrors + b.transportErrors > 0, "the kill should have cut requests off mid-way")

        // Restart on the same file: recovery, then every acknowledged event is there exactly once.
        let restarted = try await onOwnThread { try ServerProcess.start(
            executable: try troveExecutable(), database: database, accountSecret: server.accountSecret, logDirectory: directory) }
        defer { restarted.kill(SIGTERM) }
        let reader = try AppDatabase(path: database, readOnly: true)
        let stored = try await reader.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT dedupe_key, count(*) AS n FROM events GROUP BY dedupe_key")
                .reduce(into: [String: Int]()) { $0[$1["dedupe_key"]] = $1["n"] }
        }
        let missing = acknowledged.filter { stored[$0] == nil }
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged events lost, e.g. \(missing.prefix(5))")
        #expect(stored.values.allSatisfy { $0 == 1 })

        // A client retrying acknowledged events after the crash stores nothing twice.
        let retried = Array(s.acknowledged.suffix(200))
        let retry = LoadGenerator(
            port: restarted.port, path: "/v3/observe/hooks/\(server.accountSecret)/events", connections: 4, requests: retried.count,
            body: { i, body in
                let n = retried[i]
                body += Array(#"{"uid":"u\#(n % 997)","name":"Crash Test","message_id":"s\#(n)","n":\#(n)}"#.utf8)
            },
            accept: { status, _ in status == 200 })
        #expect(await retry.run().acknowledged.count == retried.count)
        let after = try await reader.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events")! }
        #expect(after == stored.values.reduce(0, +))
    }
}
