import Foundation
import PostgresNIO
import Testing
import TroveBench
import TroveCore
import TrovePostgres
import TroveTestEngines

/// Issue 19's faults, on a PostgreSQL cluster of the test's own (it is stopped mid-way, so not the shared
/// one): while PostgreSQL is away ingest answers 503 with Retry-After and never 500; it resumes without a
/// restart; after `kill -9` of Trove every acknowledged event is there, once.
@Suite(.enabled(if: TestPostgres.available, "needs PostgreSQL (TROVE_TEST_POSTGRES)"))
struct PostgresFaultTests {
    @Test func outageAndKillUnderLoadLoseNoAcknowledgedEvent() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try await OwnCluster(directory: directory + "/pg")
        defer { cluster.stop() }
        let migrated = try await runTrove(["migrate", "--database", cluster.url])
        try #require(migrated.status == 0, "\(migrated.errors)")
        let server = try await onOwnThread { try ServerProcess.start(executable: try troveExecutable(), database: cluster.url, logDirectory: directory) }

        let statuses = StatusLog()
        let load = LoadGenerator(
            port: server.port, path: "/v3/observe/hooks/\(server.accountSecret)/events", connections: 6, requests: 10_000_000,
            body: { i, body in body += Array(#"{"uid":"u\#(i % 401)","name":"Fault Test","message_id":"f\#(i)","n":\#(i)}"#.utf8) },
            accept: { status, body in
                statuses.record(status, body)
                return status == 200
            })
        async let outcome = load.run()
        do {
            // Under way; then PostgreSQL stops the hard way (as a crash) and comes back.
            try await waitUntil("acknowledged 300 events before the outage", giveUpAfter: 120) { statuses.count(200) >= 300 }
            try await cluster.pause()
            let acknowledgedBefore = statuses.count(200)
            try await waitUntil("503s while PostgreSQL is away", giveUpAfter: 120) { statuses.count(503) >= 20 }
            try await cluster.resume()
            try await waitUntil("acknowledging again after PostgreSQL came back", giveUpAfter: 120) { statuses.count(200) >= acknowledgedBefore + 300 }
        } catch {
            load.stop()
            server.kill(SIGKILL)
            let partial = await outcome
            // What the server said and what the client saw, so a failure here can be read afterwards.
            let log = (try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? ""
            throw BenchError("\(error); replies \(partial.statuses), transport errors \(partial.transportErrors); server log's end:\n\(log.suffix(3000))")
        }

        // Then Trove is killed mid-stream.
        server.kill(SIGKILL)
        let result = await outcome
        #expect(statuses.unexpected.isEmpty, "replies other than 200 or 503: \(statuses.unexpected.prefix(3))")
        #expect(result.statuses[500] == nil)

        let acknowledged = Set(result.acknowledged.map { "f\($0)" })
        let stored = try await cluster.storedMessageIDs()
        let missing = acknowledged.subtracting(stored.keys)
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged events lost, e.g. \(missing.prefix(5))")
        #expect(stored.values.allSatisfy { $0 == 1 }, "an event stored twice")
    }
}

/// Replies as they arrive, counted by status.
private final class StatusLog: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int: Int] = [:]
    private(set) var unexpected: [String] = []

    func record(_ status: Int, _ body: ArraySlice<UInt8>) {
        lock.withLock {
            counts[status, default: 0] += 1
            if status != 200 && status != 503 { unexpected.append("\(status) \(String(decoding: body, as: UTF8.self))") }
        }
    }

    func count(_ status: Int) -> Int { lock.withLock { counts[status, default: 0] } }
}

/// A throwaway cluster made by `.ci/postgres` for this test alone.
private struct OwnCluster {
    let directory: String
    let url: String
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".ci/postgres").path

    /// Started off the cooperative threads (`onOwnThread`), as are a pause and a resume: each takes seconds.
    init(directory: String) async throws {
        self.directory = directory
        url = try await onOwnThread { try Self.run("start", directory) }.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func pause() async throws { _ = try await onOwnThread { [directory] in try Self.run("pause", directory) } }
    func resume() async throws { _ = try await onOwnThread { [directory] in try Self.run("resume", directory) } }
    func stop() { _ = try? Self.run("stop", directory) }

    /// Each stored event's message id (its dedupe key) and how many times it is there.
    func storedMessageIDs() async throws -> [String: Int] {
        let database = try await PostgresAppDatabase.connect(PostgresLocation(url: url), maxConnections: 1)
        let rows: [PostgresRow]
        do { rows = try await database.query("SELECT dedupe_key, count(*)::int8 FROM events GROUP BY dedupe_key") } catch {
            await database.close()
            throw error
        }
        await database.close()
        var stored: [String: Int] = [:]
        for row in rows {
            let (key, n) = try row.decode((String, Int64).self)
            stored[key] = Int(n)
        }
        return stored
    }

    /// Runs `.ci/postgres ACTION DIR`; what it printed. Its output goes through a file: the server it starts
    /// inherits the descriptors, so a pipe would never reach its end.
    @discardableResult
    private static func run(_ action: String, _ directory: String) throws -> String {
        let output = directory + "-\(action).out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let status = try ChildProcess("/bin/bash", [script, action, directory], stdout: .file(output), stderr: .file(output + ".err")).waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: output + ".err") }
        guard status == 0 else {
            throw BenchError(".ci/postgres \(action) failed (\(status)): \((try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? "")")
        }
        return try String(contentsOfFile: output, encoding: .utf8)
    }
}
