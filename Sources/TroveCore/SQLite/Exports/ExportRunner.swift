import Foundation
import GRDB
import Logging

/// Runs export jobs (contract §7) one at a time, oldest first, and removes files past their retention.
/// A job is a row: a run that a crash interrupts leaves it `pending` with its attempt counted, and the
/// next start redoes it from the beginning into a fresh `.partial` file; only a complete, synced file is
/// renamed into place, and only then is the row marked done. A job that keeps dying fails after
/// `maxAttempts` rather than staying pending forever; a job that throws fails alone.
public final class ExportRunner: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    public let settings: ExportSettings
    let logger: Logger

    public static let maxAttempts: Int64 = 3

    public init(database: AppDatabase, clock: TroveClock = .system, settings: ExportSettings, logger: Logger = Logger(label: "trove.exports")) {
        self.database = database
        self.clock = clock
        self.settings = settings
        self.logger = logger
    }

    /// One job, else one retention pass. Returns whether there was anything to do.
    @discardableResult
    public func step() async throws -> Bool {
        if let job = try await claim() {
            await run(job)
            return true
        }
        return try await removeExpired() > 0
    }

    /// The oldest pending job, its attempt counted; one interrupted too often is failed instead. Looks on
    /// a reader first, so an idle runner never takes the writer from ingest.
    func claim() async throws -> Export? {
        let now = clock.now()
        let pending = try await database.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM exports WHERE status = 'pending')") ?? false
        }
        guard pending else { return nil }
        return try await database.pool.write { db in
            while let row = try Row.fetchOne(db, sql: "SELECT \(Export.columns) FROM exports WHERE status = 'pending' ORDER BY id LIMIT 1") {
                let export = try Export(row: row)
                if export.attempts >= Self.maxAttempts {
                    try Self.fail(export.id, Self.interrupted(export.attempts), now: now, db)
                    continue
                }
                try db.execute(sql: "UPDATE exports SET attempts = attempts + 1 WHERE id = ?", arguments: [export.id])
                return export
            }
            return nil
        }
    }

    func run(_ export: Export) async {
        let started = TroveMetrics.now()
        do {
            try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
            let now = clock.now()
            let (total, bytes) = try await database.backgroundRead { [settings] db in  // one read transaction: one snapshot
                try CSVWriter.file(at: settings.file(export.id), formulas: settings.formulas) { csv in
                    switch export.type {
                    case "customers": return try CustomerExport(CustomerExportRequest(stored: export.request, id: export.id)).write(db, account: export.account, now: now, to: &csv)
                    case "deliveries": return try DeliveryExport(DeliveryExportRequest(stored: export.request, id: export.id)).write(db, account: export.account, to: &csv)
                    default: throw ExportError.invalid("exports of type \(export.type) are not supported")
                    }
                }
            }
            let finished = clock.now()
            try await database.pool.write { db in
                try db.execute(
                    sql: """
                        UPDATE exports SET status = 'done', total = ?, file_bytes = ?, finished_at = ?, expires_at = ?, updated_at = ?
                        WHERE id = ? AND status = 'pending'
                        """,
                    arguments: [total, bytes, finished.milliseconds, finished.milliseconds + settings.retention.milliseconds,
                                finished.milliseconds, export.id])
                try Self.announce(export.id, account: export.account, now: finished, db)
            }
            TroveMetrics.export(kind: export.type, outcome: "done", nanoseconds: TroveMetrics.now() - started)
            logger.info("export \(export.id) done: \(total) rows, \(bytes) bytes")
        } catch {
            let message = (error as? ExportError)?.description ?? "\(error)"
            TroveMetrics.export(kind: export.type, outcome: "failed", nanoseconds: TroveMetrics.now() - started)
            logger.error("export \(export.id) failed: \(message)")
            let now = clock.now()
            do {
                try await database.pool.write { db in try Self.fail(export.id, message, now: now, db) }
            } catch {
                logger.error("could not record export \(export.id) as failed: \(error)")
            }
        }
    }

    static func fail(_ id: Int64, _ message: String, now: Timestamp, _ db: Database) throws {
        try db.execute(
            sql: "UPDATE exports SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
            arguments: [message, now.milliseconds, id])
        if db.changesCount > 0, let account = try Int64.fetchOne(db, sql: "SELECT account_id FROM exports WHERE id = ?", arguments: [id]) {
            try announce(id, account: account, now: now, db)
        }
    }

    /// `export.finished` to the account's webhook endpoints, in the transaction that finished it.
    static func announce(_ id: Int64, account: Int64, now: Timestamp, _ db: Database) throws {
        guard let export = try Export.fetch(db, account: account, id: id) else { return }
        try WebhookOutbox.enqueueExportFinished(db, account: account, export: export, now: now)
    }

    /// Deletes files past their retention; the rows stay (listed, with a download refused).
    func removeExpired() async throws -> Int {
        let now = clock.now()
        let due = try await database.pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM exports WHERE status = 'done' AND removed_at IS NULL AND expires_at <= ?", arguments: [now.milliseconds])
        }
        for id in due {
            try? FileManager.default.removeItem(atPath: settings.file(id))
            try await database.pool.write { db in
                try db.execute(sql: "UPDATE exports SET removed_at = ? WHERE id = ?", arguments: [now.milliseconds, id])
            }
        }
        return due.count
    }
}

extension FileManager {
    /// `rename(2)`: atomic on one file system, replacing what was there.
    func moveItemReplacing(from source: String, to destination: String) throws {
        guard rename(source, destination) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination, NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)])
        }
    }
}
