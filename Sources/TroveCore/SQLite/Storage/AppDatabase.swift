import Foundation
import GRDB
import TroveMigrations

/// How hard a commit works to survive failures (contract §3 "Durability").
public enum Durability: String, Sendable, CaseIterable {
    /// WAL with `synchronous=NORMAL`: a committed transaction survives a process crash.
    case normal
    /// WAL with `synchronous=FULL`: also survives power loss, at the cost of an fsync per commit.
    case full
}

/// The one database: a WAL-mode pool (one writer, concurrent readers), migrated on open.
public final class AppDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String
    /// Where reads that may take long run (ad-hoc filters, previews, explains, reports).
    public let heavyReads: HeavyReads
    /// Where background jobs' long reads run (an export's file), one at a time, at the lowest priority.
    private let backgroundThreads = IdleThreads(name: "trove-background-read", limit: 1)
    private let checkpointer: WALCheckpointer?

    public init(
        path: String, durability: Durability = .normal, readOnly: Bool = false,
        readLimits: ReadLimits = .forThisMachine(), stopwatch: Stopwatch = .continuous
    ) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.readonly = readOnly
        config.maximumReaderCount = 8
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            try db.execute(sql: "PRAGMA cache_size = -65536")  // 64 MiB page cache per connection
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            // Deleted content is overwritten with zeros, in the file and in the log's copies of its pages:
            // an erased person (contract §5 forget) leaves no bytes behind once the log is checkpointed.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // WALCheckpointer copies the log back off the writer; when the log passes 64 MiB the writer
            // checkpoints too, which finds nearly everything copied already and lets the log start over.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
            db.add(function: Self.foldFunction)
        }
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: config)
        self.heavyReads = HeavyReads(pool: pool, limits: readLimits, stopwatch: stopwatch)
        if !readOnly {
            try Self.migrator.migrate(pool)
        }
        checkpointer = readOnly ? nil : try WALCheckpointer(path: path, durability: durability)
    }

    deinit { checkpointer?.stop() }

    /// A read on one snapshot, on GRDB's reader threads: never on an event loop or the async executor's
    /// threads, which a blocking call would take from every other request. For reads bounded by an index;
    /// anything that may scan goes through `heavyRead`.
    public func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(work)
    }

    /// A read that may take long: on `heavyReads`, bounded in number and time.
    public func heavyRead<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await heavyReads.read(work)
    }

    /// A long read for background work (an export's file): one snapshot, no time budget, on a thread of the
    /// lowest priority, so it takes only the time the requests and the writer leave.
    public func backgroundRead<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await backgroundThreads.read(pool, work)
    }

    /// CPU work for the background (sorting what a `backgroundRead` found) on the same lowest-priority thread.
    public func backgroundWork<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await backgroundThreads.perform(work)
    }

    /// A write transaction on GRDB's writer queue (request-path writes other than ingest, which goes through
    /// `WriteQueue`).
    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.write(work)
    }

    /// At a graceful stop: the whole log is copied into the database file and emptied, then the pool's
    /// connections close. Nothing may use the database afterwards.
    public func close() throws {
        checkpointer?.stop()
        if !pool.configuration.readonly { _ = try truncateLog() }
        try pool.close()
    }

    /// Asks the checkpointer to empty the log soon (after an erasure, or once its notifications were wiped).
    public func requestLogTruncation() { checkpointer?.requestTruncation() }

    /// Copies the whole log into the database file and empties it (after an erasure: the log's copies of
    /// the erased pages go). A reader still finishing keeps the log from being reset; tries again for up to a
    /// second. True when the log was emptied.
    @discardableResult
    public func truncateLog() throws -> Bool {
        try pool.writeWithoutTransaction { db in
            for _ in 0..<100 {
                if try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") == 0 { return true }
                usleep(10_000)
            }
            return false
        }
    }

    /// `trove_fold(text)`: case folding for the `in-i` filter operators, the same as Swift's, so non-ASCII
    /// letters compare case-insensitively too (SQLite's `lower` folds ASCII only).
    static let foldFunction = DatabaseFunction("trove_fold", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).map { $0.lowercased() }
    }

    /// The ordered migrations from `Migrations/`.
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in TroveMigrations.all {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
                try afterMigration[migration.name]?(db)
            }
        }
        return migrator
    }

    /// What a migration needs that SQL cannot say, run in its transaction right after its SQL.
    static let afterMigration: [String: @Sendable (Database) throws -> Void] = [
        // The old design's indexes have names SQL cannot enumerate.
        "0013_report_steps": ReportSteps.dropLegacyIndexes,
    ]

    public static var migrationNames: [String] { TroveMigrations.all.map(\.name) }

    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }
}
