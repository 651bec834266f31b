import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import TroveCore
import TrovePostgresMigrations

/// One PostgreSQL database: a connection pool (postgres-nio's `PostgresClient`, run for as long as this
/// lives) and the schema's migrations. Everything is async on the pool's event loops; nothing here blocks a
/// thread.
public final class PostgresAppDatabase: Sendable {
    public let location: PostgresLocation
    public let client: PostgresClient
    public let logger: Logger
    /// Heavy reads (ad-hoc filters, previews, explains, reports): admitted by `gate`, run on a pool of their
    /// own of `readLimits.concurrent` connections whose statements PostgreSQL stops at the time budget.
    public let readLimits: ReadLimits
    let gate: ReadGate
    let heavyClient: PostgresClient
    /// The server found gone: statements fail at once until a probe reconnects.
    let outage: PostgresOutage
    /// This process as one node of several (`PostgresNode`).
    public let node: PostgresNode
    private let runner: Task<Void, Never>

    private init(location: PostgresLocation, client: PostgresClient, heavyClient: PostgresClient, readLimits: ReadLimits, lease: Duration,
                 logger: Logger) {
        self.location = location
        self.node = PostgresNode(lease: lease)
        self.client = client
        self.heavyClient = heavyClient
        self.readLimits = readLimits
        self.gate = ReadGate(readLimits)
        self.outage = PostgresOutage(location: location, logger: logger)
        self.logger = logger
        self.runner = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { await client.run() }
                group.addTask { await heavyClient.run() }
            }
        }
    }

    deinit { runner.cancel() }

    /// Opens one connection first, so that a server that is not there, a wrong password or a missing
    /// database is a clear error at once (the pool would retry quietly), then starts the pool. `lease`: how
    /// long this process's claims on background work outlive its last word (`PostgresNode`).
    public static func connect(_ location: PostgresLocation, maxConnections: Int = 20, readLimits: ReadLimits = .forThisMachine(),
                               lease: Duration = .seconds(30), logger: Logger = Logger(label: "trove.postgres"))
        async throws(PostgresStoreError) -> PostgresAppDatabase
    {
        do {
            let probe = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: try connectionConfiguration(location), id: 0, logger: logger
            ).get()
            try await probe.close().get()
        } catch {
            throw PostgresStoreError.from(error, location: location)
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password, database: location.database,
            tls: try clientTLS(location.tls))
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = location.connectTimeout
        // The pool's own log: only errors (it warns about a lease that comes before its run loop started, a
        // race with no consequence: the lease waits for it).
        var poolLogger = logger
        poolLogger.logLevel = .error
        var heavy = configuration
        heavy.options.maximumConnections = readLimits.concurrent
        heavy.options.minimumConnections = 0
        heavy.options.additionalStartupParameters = [("statement_timeout", String(Self.milliseconds(readLimits.budget)))]
        return PostgresAppDatabase(
            location: location, client: PostgresClient(configuration: configuration, backgroundLogger: poolLogger),
            heavyClient: PostgresClient(configuration: heavy, backgroundLogger: poolLogger), readLimits: readLimits, lease: lease,
            logger: logger)
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    /// Stops the pool; nothing may use the database afterwards.
    public func close() async {
        runner.cancel()
        _ = await runner.result
    }

    // MARK: Statements

    /// Runs one statement and collects its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try outage.check()
        do {
            var rows: [PostgresRow] = []
            for try await row in try await client.query(query, logger: logger) { rows.append(row) }
            return rows
        } catch {
            throw outage.failed(error)
        }
    }

    /// A prepared statement (`PostgresPreparedReads`): prepared on a pooled connection the first time it runs
    /// there, then only bound and run.
    func execute<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> [Statement.Row] {
        try outage.check()
        do {
            var rows: [Statement.Row] = []
            for try await row in try await client.execute(statement, logger: logger) { rows.append(row) }
            return rows
        } catch {
            throw outage.failed(error)
        }
    }

    /// A read that may take long, within the limits (`ReadGate`): refused with `ReadLimitError.busy` when
    /// too many wait, stopped by PostgreSQL past the budget (`ReadLimitError.overBudget`).
    public func heavyQuery(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try outage.check()
        try await gate.admit()
        defer { gate.leave() }
        do {
            var rows: [PostgresRow] = []
            for try await row in try await heavyClient.query(query, logger: logger) { rows.append(row) }
            return rows
        } catch {
            throw heavyError(error)
        }
    }

    /// Heavy reads running and waiting for a slot now.
    public var heavyLoad: (running: Int, waiting: Int) { gate.load }

    /// A heavy read's failure: stopped at the budget (SQLSTATE 57014, query_canceled) → `overBudget`.
    func heavyError(_ error: any Error) -> any Error {
        if let psql = error as? PSQLError, psql.serverInfo?[.sqlState] == "57014" { return ReadLimitError.overBudget(readLimits.budget) }
        return outage.failed(error)
    }

    /// Runs `work` in one transaction on one connection: committed when it returns, rolled back when it throws.
    public func transaction<T: Sendable>(_ work: (PostgresConnection) async throws -> T) async throws -> T {
        try outage.check()
        do {
            return try await client.withTransaction(logger: logger) { connection in try await work(connection) }
        } catch let error as PostgresTransactionError {
            // The work's own errors (a rule said no) pass as they are; the database's are mapped.
            if let closure = error.closureError, !(closure is PSQLError) {
                if closure is PostgresStoreError { throw outage.failed(closure) }
                throw closure
            }
            throw outage.failed(error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error)
        } catch {
            throw outage.failed(error)
        }
    }

    // MARK: Migrations

    /// Migrations this database has applied, in order.
    public func appliedMigrations() async throws -> [String] {
        let exists = try await query("SELECT to_regclass('trove_migrations') IS NOT NULL")
        guard try exists.first?.decode(Bool.self) == true else { return [] }
        return try await query("SELECT name FROM trove_migrations ORDER BY name").map { try $0.decode(String.self) }
    }

    /// Applies the migrations not yet applied, each in its own transaction, under an advisory lock so that
    /// several nodes starting at once migrate once. Returns the names applied now.
    @discardableResult
    public func migrate() async throws -> [String] {
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS trove_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
        }
        var applied: [String] = []
        for migration in TrovePostgresMigrations.all {
            let done = try await transaction { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                let rows = try await connection.query("SELECT 1 FROM trove_migrations WHERE name = \(migration.name)", logger: logger)
                for try await _ in rows { return true }
                for statement in SQLScript.statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO trove_migrations (name) VALUES (\(migration.name))", logger: logger)
                return false
            }
            if !done { applied.append(migration.name) }
        }
        return applied
    }

    /// Refuses a database this binary cannot serve: no schema, an older one, or a newer one.
    public func checkSchema() async throws {
        let applied = try await appliedMigrations()
        let known = TrovePostgresMigrations.all.map(\.name)
        let unknown = applied.filter { !known.contains($0) }
        if !unknown.isEmpty { throw PostgresStoreError.schemaNewer(location: location.description, unknown: unknown) }
        if applied.count < known.count {
            throw PostgresStoreError.schemaMissing(location: location.description, applied: applied.count, known: known.count)
        }
    }

    public static var migrationNames: [String] { TrovePostgresMigrations.all.map(\.name) }

    /// The advisory lock key migrations hold ("trove" as a number).
    static let migrationLock: Int64 = 0x74_72_6f_76_65

    // MARK: Configuration

    /// One TLS context for every connection this process opens: making one reads and parses the system's
    /// certificate bundle (some 140 PEM certificates), which in a debug build took long enough that the test
    /// suite's start, opening hundreds of connections at once, stalled every other request for seconds.
    private static let clientTLSContext = Result { try NIOSSLContext(configuration: .makeClientConfiguration()) }

    static func connectionConfiguration(_ location: PostgresLocation) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try clientTLSContext.get())
        case .require: tls = .require(try clientTLSContext.get())
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password, database: location.database,
            tls: tls)
        configuration.options.connectTimeout = TimeAmount(location.connectTimeout)
        return configuration
    }

    static func clientTLS(_ mode: PostgresLocation.TLSMode) throws(PostgresStoreError) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }
}
