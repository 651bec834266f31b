import Foundation
import GRDB
import TroveCore
import PostgresNIO
import TrovePostgres

/// A scratch directory for one benchmark run: the data set (generated unless one is given), the
/// database, the server's log. Removed afterwards unless kept.
public struct BenchWorkspace: Sendable {
    public let directory: String
    public let dataDirectory: String
    public let manifest: DataSetManifest
    /// "Now" for everything the run stores (`--now`); by default the data set's own fixed now.
    public var now: Timestamp
    public var databasePath: String { directory + "/bench.sqlite" }
    /// Where the run's database is on PostgreSQL (`trove bench … --database postgres://…`): a database of its
    /// own made on that server by `createPostgresDatabase`, dropped by `dropPostgresDatabase`. Nil: SQLite.
    public var postgres: PostgresLocation?
    /// What `trove serve --database` takes for this run's database.
    public var databaseArgument: String { postgres?.url ?? databasePath }

    /// A fresh database for this run on the server `server` names (its database is only connected to).
    public mutating func createPostgresDatabase(on server: PostgresLocation) async throws {
        var location = server
        location.database = "trove_bench_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        try await Self.admin(server, "CREATE DATABASE \(location.database)")
        postgres = location
    }

    public func dropPostgresDatabase() async {
        guard let postgres else { return }
        var server = postgres
        server.database = "postgres"
        try? await Self.admin(server, "DROP DATABASE IF EXISTS \(postgres.database) WITH (FORCE)")
    }

    private static func admin(_ server: PostgresLocation, _ sql: String) async throws {
        let database = try await PostgresAppDatabase.connect(server, maxConnections: 1)
        do { try await database.query(PostgresQuery(unsafeSQL: sql)) } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    /// Uses the data set in `data` (written by `trove generate`), or generates one with `size` and `seed`.
    public static func prepare(
        data: String?, size: ReferenceDataSet.Size, seed: UInt64, now: Timestamp? = nil, log: (String) -> Void
    ) throws -> BenchWorkspace {
        let directory = FileManager.default.temporaryDirectory.path + "/trove-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let data {
            let manifest = try DataSetManifest.read(directory: data)
            return BenchWorkspace(directory: directory, dataDirectory: data, manifest: manifest, now: now ?? manifest.now)
        }
        log("generating a data set: \(size.companies) companies, \(size.profiles) profiles, \(size.events) events (seed \(seed))")
        let dataDirectory = directory + "/data"
        let manifest = try ReferenceDataSet(seed: seed, size: size).write(to: dataDirectory)
        return BenchWorkspace(directory: directory, dataDirectory: dataDirectory, manifest: manifest, now: now ?? manifest.now)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    public func path(of model: Model) -> String {
        switch model {
        case .company: return dataDirectory + "/" + ReferenceDataSet.fileNames.companies
        case .profile: return dataDirectory + "/" + ReferenceDataSet.fileNames.profiles
        case .event: return dataDirectory + "/" + ReferenceDataSet.fileNames.events
        }
    }

    public struct Loaded {
        public var database: AppDatabase
        public var accountSecret: String
        public var appAPIKey: String
        public var summaries: [Model: NDJSONImporter.Summary]
    }

    public struct LoadedEngine {
        public var engine: any TroveEngine
        public var credentials: Credentials
        public var accountSecret: String { credentials.accountSecret }
        public var appAPIKey: String { credentials.appAPIKey }
        public var summaries: [Model: NDJSONImporter.Summary]
        /// Rows per second over the last tenth of each file's bytes (how the rate holds up as the database grows).
        public var tailRates: [Model: Double] = [:]
    }

    /// Either engine (`postgres`, else the SQLite file): migrated, the default account made, the models
    /// imported in order through the same path as `trove import`, the writes settled.
    public func loadEngine(_ models: [Model], durability: Durability = .normal, log: (String) -> Void) async throws -> LoadedEngine {
        let engine = try await openEngine(migrate: true, durability: durability)
        let accounts = Accounts(store: engine.accountStore, clock: .fixed(now))
        guard let credentials = try await accounts.ensureDefaultAccount() else { throw BenchError("\(engine.location) is not new") }
        let account = try await accounts.accountID(named: Accounts.defaultName)
        var tailRates: [Model: Double] = [:]
        let summaries = try await importModels(models, into: Ingestor(store: engine.ingestStore), account: account, log: log, tailRates: &tailRates)
        await engine.ingestStore.settled()
        return LoadedEngine(engine: engine, credentials: credentials, summaries: summaries, tailRates: tailRates)
    }

    /// The run's database (`postgres`, else the SQLite file) through a new engine: new connections, nothing
    /// cached in the process.
    public func openEngine(migrate: Bool = false, durability: Durability = .normal) async throws -> any TroveEngine {
        if let postgres {
            let database = try await PostgresAppDatabase.connect(postgres)
            if migrate { try await database.migrate() }
            return PostgresEngine(database: database, clock: .fixed(now))
        }
        return SQLiteEngine(database: try AppDatabase(path: databasePath, durability: durability), clock: .fixed(now))
    }

    /// SQLite: the log folded into the file, so that a run reads the database as a server started now
    /// would. Nothing to do on PostgreSQL.
    public func checkpoint(_ engine: any TroveEngine) async throws {
        guard let sqlite = engine as? SQLiteEngine else { return }
        try await sqlite.database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    private func importModels(_ models: [Model], into ingestor: Ingestor, account: Int64, log: (String) -> Void,
                              tailRates: inout [Model: Double]) async throws -> [Model: NDJSONImporter.Summary] {
        var summaries: [Model: NDJSONImporter.Summary] = [:]
        for model in models {
            log("importing \(path(of: model))")
            var tail: (started: Date, rows: Int)?
            let summary = try await NDJSONImporter(ingestor: ingestor).run(path: path(of: model), model: model, account: account) { read, size, rows in
                if tail == nil, read * 10 >= size * 9 { tail = (Date(), rows) }
            }
            if let tail, summary.rows > tail.rows {
                tailRates[model] = Double(summary.rows - tail.rows) / max(1e-9, Date().timeIntervalSince(tail.started))
            }
            if let e = summary.firstErrors.first {
                throw BenchError("\(path(of: model)) line \(e.line): \(e.message)")
            }
            summaries[model] = summary
        }
        return summaries
    }

    /// Creates the database with its default account and imports the given models in order, through the
    /// same path as `trove import`.
    /// SQLite only (the workloads that read its file directly).
    public func load(_ models: [Model], durability: Durability = .normal, log: (String) -> Void) async throws -> Loaded {
        let database = try AppDatabase(path: databasePath, durability: durability)
        let accounts = Accounts(database: database)
        guard let credentials = try await accounts.ensureDefaultAccount() else { throw BenchError("\(databasePath) is not new") }
        let account = try await accounts.accountID(named: Accounts.defaultName)
        let ingestor = Ingestor(store: WriteQueue(database: database, clock: .fixed(now)))
        var tailRates: [Model: Double] = [:]
        let summaries = try await importModels(models, into: ingestor, account: account, log: log, tailRates: &tailRates)
        return Loaded(database: database, accountSecret: credentials.accountSecret, appAPIKey: credentials.appAPIKey, summaries: summaries)
    }
}
