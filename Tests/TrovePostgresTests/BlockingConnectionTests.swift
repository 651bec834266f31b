import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing
import TroveTestEngines

@testable import TrovePostgres

/// The writer threads' synchronous connection, when its server goes away mid-statement.
@Suite(.enabled(if: TestPostgres.available, "needs TROVE_TEST_POSTGRES (.ci/run starts a cluster)"))
struct BlockingConnectionTests {
    /// A `COPY … FROM STDIN` whose backend dies while the client waits for the socket to drain (the server
    /// stopped reading) fails as unavailable and leaves the connection marked broken. postgres-nio drops the
    /// copy's wait for writability when the connection fails in that state, so the copy would otherwise wait
    /// forever (seen: a fault test's ingest requests hung for minutes after PostgreSQL was stopped).
    @Test func aCopyWhoseBackendDiesUnderBackpressureFailsInsteadOfHanging() async throws {
        try await TestPostgres.withDatabase(migrated: false) { db in
            try await db.query("CREATE TABLE copy_target (id int8 PRIMARY KEY, body text NOT NULL)")
            let logger = Logger(label: "test.holder")
            let holder = try await PostgresConnection.connect(
                configuration: try PostgresAppDatabase.connectionConfiguration(db.location), id: 9, logger: logger)
            do {
                try await copyUntilTerminated(db, holder: holder, logger: logger)
            } catch {
                try? await holder.close()
                throw error
            }
            try await holder.close()
        }
    }

    /// Another transaction (`holder`'s) holds key 1, so the copy's first row waits on it: the backend stops
    /// reading and the rest of the copy fills the socket, leaving the client waiting for writability. Then the
    /// copy's backend is terminated.
    private func copyUntilTerminated(_ db: PostgresAppDatabase, holder: PostgresConnection, logger: Logger) async throws {
        try await holder.query("BEGIN", logger: logger)
        try await holder.query("INSERT INTO copy_target VALUES (1, 'held')", logger: logger)

        let connection = try await onOwnThread { try BlockingConnection.open(db.location, logger: Logger(label: "test.copy")) }
        defer { connection.close() }
        let pid = try await onOwnThread { try connection.query("SELECT pg_backend_pid()")[0].decode(Int32.self) }
        var rows = CopyText(capacity: 70 << 20)
        let body = String(repeating: "x", count: 1000)
        for id in 1...65_536 {
            rows.put(Int64(id))
            rows.put(body)
            rows.endRow()
        }
        // On a thread of its own, as the writers run it; its outcome lands in `ended`.
        let ended = Mutex<Result<Void, any Error>?>(nil)
        Thread { [rows] in
            let result = Result {
                try connection.query("BEGIN")
                try connection.copy(into: "copy_target", columns: ["id", "body"], rows: rows)
            }
            ended.withLock { $0 = result }
        }.start()
        try await waitUntil("the copy waits on the held key", giveUpAfter: 60) {
            let waiting = try await holder.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = \(pid)", logger: logger).collect()
            return try waiting.first?.decode(String?.self) == "Lock"
        }
        let terminated = try await holder.query("SELECT pg_terminate_backend(\(pid))", logger: logger).collect()
        #expect(try terminated.first?.decode(Bool.self) == true)

        // The copy ends, as an error (the wait gives up after 60 s of no progress, so a regression fails
        // instead of hanging the suite).
        try await waitUntil("the copy to end after its backend was terminated", giveUpAfter: 60) { ended.withLock { $0 != nil } }
        let result = try #require(ended.withLock { $0 })
        #expect(throws: PostgresStoreError.self) { try result.get() }
        if case .failure(let error as PostgresStoreError) = result {
            switch error {
            case .unavailable, .unreachable: break
            default: Issue.record("expected the server to be reported gone, got \(error)")
            }
        }
        #expect(connection.broken)
    }
}
