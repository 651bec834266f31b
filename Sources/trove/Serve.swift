import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TroveCore
import TrovePostgres
import TroveServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server (creates and migrates a SQLite database; a PostgreSQL one is migrated by `trove migrate`).")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var clockOptions: ClockOptions

    @Option(help: "Address to listen on (default 127.0.0.1, or TROVE_HOST).")
    var host: String?

    @Option(help: "Port to listen on (default 8080, or TROVE_PORT).")
    var port: Int?

    @Option(help: "normal: commits survive a process crash; full: also power loss (an fsync per commit).")
    var durability: Durability = .normal

    @Option(help: "Base URL of links Trove hands out, e.g. export downloads (default http://<host>:<port>, or TROVE_PUBLIC_URL).")
    var publicURL: String?

    @Option(help: "Directory for export files (default: <database>-exports).")
    var exportsDir: String?

    @Option(help: "Days export files are kept.")
    var exportRetentionDays: Int = 7

    @Option(help: "Export text cells that start like a spreadsheet formula (=, +, -, @, tab, CR): escape (an apostrophe before them, the default) or keep (Customer.io's exact bytes).")
    var csvFormulas: FormulaCells = .escape

    @Option(help: "Delete events older than this many days (hourly); default: keep every event.")
    var retainEventsDays: Int?

    @Option(help: "Least severe log level written: trace, debug, info (one line per request), notice, warning, error (default info, or TROVE_LOG_LEVEL).")
    var logLevel: String?

    @Option(help: "Log lines as text or json (default text, or TROVE_LOG_FORMAT).")
    var logFormat: String?

    @Option(help: "Heavy reads (ad-hoc filters, previews, explains, reports) run at once (default: half the cores, at least 1).")
    var heavyReads: Int?

    @Option(help: "Heavy reads that may wait for a turn; past that they get 429 with Retry-After (default: 8 per running one).")
    var heavyReadQueue: Int?

    @Option(help: "Seconds a heavy read may run before it is stopped with a 422 (default 30).")
    var readBudget: Double = 30

    @Flag(help: "Let webhooks and Customer.io calls go to http URLs and loopback or private addresses (tests, local development).")
    var allowInsecureWebhooks = false

    @Option(help: "api: answer the API, run no background work; worker: run the background work, answer only /health and /metrics; all: both. api and worker need PostgreSQL (several nodes on one database).")
    var role: ServerRole = .all

    @Option(help: "PostgreSQL, several nodes: seconds after a node's last heartbeat before the others take over its work.")
    var leaseSeconds: Int = 30

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let host = host ?? env["TROVE_HOST"] ?? "127.0.0.1"
        guard let port = port ?? Int(env["TROVE_PORT"] ?? "8080") else {
            throw ValidationError("TROVE_PORT must be a port number")
        }
        let formatName = logFormat ?? env["TROVE_LOG_FORMAT"] ?? "text"
        guard let format = LogSink.Format(rawValue: formatName) else { throw ValidationError("--log-format: text or json, not \"\(formatName)\"") }
        let sink = LogSink(format: format)
        LoggingSystem.bootstrap { sink.handler(label: $0) }
        defer { sink.flush() }
        var logger = Logger(label: "trove")
        let level = logLevel ?? env["TROVE_LOG_LEVEL"] ?? "info"
        guard let parsed = Logger.Level(rawValue: level) else {
            throw ValidationError("--log-level: \"\(level)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        logger.logLevel = parsed
        guard exportRetentionDays >= 1 else { throw ValidationError("--export-retention-days must be at least 1") }
        if let days = retainEventsDays, days < 1 { throw ValidationError("--retain-events-days must be at least 1") }
        guard heavyReads.map({ $0 >= 1 }) ?? true, heavyReadQueue.map({ $0 >= 0 }) ?? true else {
            throw ValidationError("--heavy-reads must be at least 1 and --heavy-read-queue at least 0")
        }
        guard readBudget > 0 else { throw ValidationError("--read-budget must be a positive number of seconds") }
        guard leaseSeconds >= 3 else { throw ValidationError("--lease-seconds must be at least 3") }
        if role != .all, try db.postgres == nil {
            throw ValidationError("--role \(role.rawValue) needs PostgreSQL (--database postgres://…): a SQLite file has one process, which does everything")
        }
        var limits = ReadLimits.forThisMachine()
        if let n = heavyReads {
            limits.concurrent = n
            limits.queued = 8 * n
        }
        if let q = heavyReadQueue { limits.queued = q }
        limits.budget = .milliseconds(Int64(readBudget * 1000))
        let engine = try await db.openEngine(clock: try clockOptions.clock(), durability: durability, readLimits: limits,
                                             lease: .seconds(leaseSeconds), logger: logger)
        let exports = ExportSettings(
            directory: exportsDir ?? engine.defaultExportDirectory,
            publicURL: publicURL ?? env["TROVE_PUBLIC_URL"] ?? "http://\(host):\(port)",
            retention: .seconds(Int64(exportRetentionDays) * 86_400), formulas: csvFormulas)
        let services = TroveServices(
            engine: engine, exports: exports,
            webhookPolicy: WebhookAddressPolicy(allowInsecure: allowInsecureWebhooks), retainEventsDays: retainEventsDays, logger: logger)
        if let credentials = try await services.accounts.ensureDefaultAccount() {
            FileHandle.standardError.write(Data("Created account \"default\". Its credentials are shown once:\n".utf8))
            printJSON(credentials.json)
        }
        let path = engine.location
        let app = buildApplication(services: services, options: ServerOptions(host: host, port: port, role: role), logger: logger) { bound in
            // A stable line: `trove bench` and the crash test read the port from it (`--port 0`).
            FileHandle.standardError.write(Data("Trove serving \(path) on http://\(host):\(bound)\n".utf8))
        }
        try await app.runService()
        // Stopped: the writer's last work (a rollup or counts step the final commits started) finished, then
        // the log copied into the database file and emptied, the connections closed.
        await services.ingestor.store.settled()
        do { try await services.engine.close() } catch { logger.warning("closing the database: \(error)") }
        logger.info("stopped")
    }
}

extension ServerRole: ExpressibleByArgument {}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or migrate the database, then exit.")

    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        if let location = try db.postgres {
            let database = try await PostgresAppDatabase.connect(location)
            let now = try await database.migrate()
            let applied = try await database.appliedMigrations()
            print("\(location): \(applied.count) migrations applied (latest \(applied.last ?? "none"); \(now.count) now)")
            await database.close()
            return
        }
        let database = try db.open()
        let applied = try database.appliedMigrations()
        print("\(db.path): \(applied.count) migrations applied (latest \(applied.last ?? "none"))")
    }
}
