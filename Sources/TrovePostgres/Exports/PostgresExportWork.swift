import Foundation
import Logging
import PostgresNIO
import TroveCore

/// Runs export jobs on PostgreSQL (contract §7) as `ExportRunner` does on SQLite: the oldest pending job no
/// live node holds, claimed for this node with its attempt counted (`FOR UPDATE SKIP LOCKED`, then
/// `claimed_by`: two runners never take one job; one whose node died is taken over), written
/// from one snapshot into a `.partial` file renamed into place when complete, kept in the database
/// (`export_parts`: any node serves it; the folder's copy removed), then marked done with its
/// `export.finished` webhooks in the same transaction; a job that keeps dying fails after
/// `ExportRunner.maxAttempts`. Files past their retention are removed; the rows stay.
public final class PostgresExportWork: ExportWork {
    public let database: PostgresAppDatabase
    public let clock: TroveClock
    public let settings: ExportSettings
    /// Rows read per page of a file's snapshot.
    public let pageSize: Int64
    let logger: Logger

    public init(database: PostgresAppDatabase, clock: TroveClock, settings: ExportSettings, pageSize: Int64 = 10_000,
                logger: Logger = Logger(label: "trove.exports")) {
        self.pageSize = pageSize
        self.database = database
        self.clock = clock
        self.settings = settings
        self.logger = logger
    }

    @discardableResult
    public func step() async throws -> Bool {
        if let job = try await claim() {
            await run(job)
            return true
        }
        return try await removeExpired() > 0
    }

    func accounts() async throws -> [Int64] {
        try await database.query("SELECT id FROM accounts ORDER BY id").map { try $0.decode(Int64.self) }
    }

    func claim() async throws -> Export? {
        let now = clock.now()
        let accounts = try await accounts()
        guard !accounts.isEmpty else { return nil }
        try await database.keepAlive()
        let me = database.node.id
        return try await database.transaction { connection in
            let run = connection.collecting(self.logger)
            // Not one another node is writing: claimed by none, by a node no longer alive, or by this one (whose
            // runner takes one job at a time, so a job it claimed and is not running was cut off).
            while let row = try await run(
                """
                SELECT \(unescaped: PostgresExportStore.columns) FROM exports WHERE account_id = ANY(\(accounts)) AND status = 'pending'
                  AND (claimed_by = \(me) OR \(unescaped: PostgresNode.notAlive("claimed_by")))
                ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
                """).first {
                let export = try PostgresExportStore.export(row)
                if export.attempts >= ExportRunner.maxAttempts {
                    try await Self.fail(export, ExportRunner.interrupted(export.attempts), now: now, run)
                    continue
                }
                _ = try await run(
                    "UPDATE exports SET attempts = attempts + 1, claimed_by = \(me) WHERE account_id = \(export.account) AND id = \(export.id)")
                return export
            }
            return nil
        }
    }

    func run(_ export: Export) async {
        let started = TroveMetrics.now()
        do {
            try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
            let files = PostgresExportFiles(database: database, pageSize: pageSize)
            let path = settings.file(export.id)
            let (total, bytes): (Int64, Int64)
            switch try ExportPlan(export) {
            case .customers(let customers):
                (total, bytes) = try await files.customers(account: export.account, customers, now: clock.now(), path: path, formulas: settings.formulas,
                                                           progress: nil)
            case .deliveries(let deliveries):
                (total, bytes) = try await files.deliveries(account: export.account, deliveries, path: path, formulas: settings.formulas)
            }
            // Kept in the database, so any node serves it; the folder's copy goes.
            try await PostgresExportStore.keep(path, account: export.account, id: export.id, database)
            try? FileManager.default.removeItem(atPath: path)
            let finished = clock.now()
            let retention = settings.retention
            try await database.transaction { connection in
                let run = connection.collecting(self.logger)
                _ = try await run(
                    """
                    UPDATE exports SET status = 'done', total = \(total), file_bytes = \(bytes), finished_at = \(finished.milliseconds),
                        expires_at = \(finished.milliseconds + retention.milliseconds), updated_at = \(finished.milliseconds)
                    WHERE account_id = \(export.account) AND id = \(export.id) AND status = 'pending'
                    """)
                try await Self.announce(export.account, export.id, now: finished, run)
            }
            TroveMetrics.export(kind: export.type, outcome: "done", nanoseconds: TroveMetrics.now() - started)
            logger.info("export \(export.id) done: \(total) rows, \(bytes) bytes")
        } catch {
            let message = (error as? ExportError)?.description ?? "\(error)"
            TroveMetrics.export(kind: export.type, outcome: "failed", nanoseconds: TroveMetrics.now() - started)
            logger.error("export \(export.id) failed: \(message)")
            let now = clock.now()
            do {
                try await database.transaction { connection in
                    try await Self.fail(export, message, now: now, connection.collecting(self.logger))
                }
            } catch {
                logger.error("could not record export \(export.id) as failed: \(error)")
            }
        }
    }

    static func fail(_ export: Export, _ message: String, now: Timestamp, _ run: PostgresCompiling.Run) async throws {
        let changed = try await run(
            """
            UPDATE exports SET status = 'failed', error = \(message), updated_at = \(now.milliseconds)
            WHERE account_id = \(export.account) AND id = \(export.id) AND status = 'pending' RETURNING id
            """)
        if !changed.isEmpty { try await announce(export.account, export.id, now: now, run) }
    }

    /// `export.finished` with the export as it now stands to the account's endpoints that take it.
    static func announce(_ account: Int64, _ id: Int64, now: Timestamp, _ run: PostgresCompiling.Run) async throws {
        guard let row = try await run("SELECT \(unescaped: PostgresExportStore.columns) FROM exports WHERE account_id = \(account) AND id = \(id)").first
        else { return }
        let data = JSONWriter.string(["export": WebhookOutbox.exportData(try PostgresExportStore.export(row))])
        for endpoint in try await PostgresSegmentChangeOutbox.endpointsByTopic(account: account, run)["export.finished"] ?? [] {
            _ = try await run(
                """
                INSERT INTO webhook_deliveries (account_id, endpoint_id, envelope_id, kind, data, next_attempt_at, created_at)
                VALUES (\(account), \(endpoint), \(WebhookDelivery.newEnvelopeID()), 'export.finished', \(data)::jsonb, \(now.milliseconds), \(now.milliseconds))
                """)
        }
    }

    func removeExpired() async throws -> Int {
        let now = clock.now()
        let accounts = try await accounts()
        guard !accounts.isEmpty else { return 0 }
        let due = try await database.query(
            """
            SELECT account_id, id FROM exports WHERE account_id = ANY(\(accounts)) AND status = 'done' AND removed_at IS NULL
              AND expires_at <= \(now.milliseconds)
            """).map { try $0.decode((Int64, Int64).self) }
        for (account, id) in due {
            try? FileManager.default.removeItem(atPath: settings.file(id))
            try await database.query("DELETE FROM export_parts WHERE account_id = \(account) AND export_id = \(id)")
            try await database.query("UPDATE exports SET removed_at = \(now.milliseconds) WHERE account_id = \(account) AND id = \(id)")
        }
        return due.count
    }
}
