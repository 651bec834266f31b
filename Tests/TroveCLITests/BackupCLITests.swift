import Foundation
import GRDB
import Testing
import TroveBench
import TroveCore
import TroveTestEngines

/// `trove backup` while a server ingests: the copy opens, passes the integrity check, and holds a
/// consistent moment of the database (contract §11, §13); `trove check` reports a damaged file.
@Suite struct BackupCLITests {
    @Test func aBackupTakenUnderLoadIsConsistentAndChecksOut() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/trove.sqlite"
        let server = try await onOwnThread { try ServerProcess.start(executable: try troveExecutable(), database: database, logDirectory: directory) }
        defer { server.kill(SIGTERM) }
        let load = LoadGenerator(
            port: server.port, path: "/v3/observe/hooks/\(server.accountSecret)/events", connections: 4, requests: 10_000_000,
            body: { i, body in body += Array(#"{"uid":"u\#(i % 500)","name":"Backup Test","message_id":"m\#(i)"}"#.utf8) },
            accept: { status, _ in status == 200 })
        async let outcome = load.run()
        while load.started < 2_000 { try await Task.sleep(for: .milliseconds(10)) }

        let backup = directory + "/backup.sqlite"
        let before = load.started
        let result = try await runTrove(["backup", "--database", database, backup])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("integrity ok"))
        #expect(load.started > before, "requests went on during the backup")
        load.stop()
        let acknowledged = await outcome.acknowledged.count

        #expect(try await runTrove(["check", "--database", backup]).status == 0)
        let copy = try AppDatabase(path: backup, readOnly: true)
        let (events, profilesWithEvents, names, maxID) = try await copy.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM events")!,
             try Int.fetchOne(db, sql: "SELECT count(DISTINCT profile_id) FROM events")!,
             try Int.fetchOne(db, sql: "SELECT count FROM event_names WHERE uid = 'backup_test'") ?? 0,
             try Int.fetchOne(db, sql: "SELECT max(id) FROM events") ?? 0)
        }
        #expect(events >= 2_000 && events <= acknowledged)
        #expect(events == maxID, "a moment of the log: no gaps")
        #expect(names == events, "the counters of the same moment as the rows")
        #expect(profilesWithEvents == min(events, 500))

        // A damaged copy is reported, not opened as if fine.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: backup))
        for i in stride(from: 8_192, to: min(bytes.count, 65_536), by: 7) { bytes[i] = 0xA5 }
        let damaged = directory + "/damaged.sqlite"
        try bytes.write(to: URL(fileURLWithPath: damaged))
        let check = try await runTrove(["check", "--database", damaged])
        #expect(check.status == 1 && !check.output.isEmpty)
        #expect(try await runTrove(["backup", "--database", database, backup]).status != 0, "never overwrites")
    }
}
