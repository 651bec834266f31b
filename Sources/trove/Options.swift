import ArgumentParser
import Foundation
import Logging
import TroveCore
import TrovePostgres

/// `--database PATH|URL`, default `./trove.sqlite` or `TROVE_DATABASE` (contract §1): a SQLite file, or a
/// PostgreSQL database named by a `postgres://` URL.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite database file, or a postgres://user:password@host:port/database URL (default: ./trove.sqlite, or TROVE_DATABASE).")
    var database: String?

    var path: String {
        database ?? ProcessInfo.processInfo.environment["TROVE_DATABASE"] ?? "./trove.sqlite"
    }

    /// The PostgreSQL database `--database` names, or nil for a SQLite file.
    var postgres: PostgresLocation? {
        get throws {
            guard PostgresLocation.isURL(path) else { return nil }
            do { return try PostgresLocation(url: path) } catch { throw ValidationError(error.description) }
        }
    }

    /// Runs `body` on the accounts of the database `--database` names (either engine), closing it after.
    func withAccounts<T>(clock: TroveClock = .system, _ body: (Accounts) async throws -> T) async throws -> T {
        try await withEngine(clock: clock) { engine in try await body(Accounts(store: engine.accountStore, clock: clock)) }
    }

    /// Runs `body` with the engine over the database `--database` names, then lets its writes settle and
    /// closes it: a SQLite file (created and migrated), or a PostgreSQL database (which `trove migrate` made).
    func withEngine<T>(clock: TroveClock = .system, durability: Durability = .normal, _ body: (any TroveEngine) async throws -> T) async throws -> T {
        let engine = try await openEngine(clock: clock, durability: durability)
        let result: T
        do {
            result = try await body(engine)
        } catch {
            await engine.ingestStore.settled()
            try? await engine.close()
            throw error
        }
        await engine.ingestStore.settled()
        try await engine.close()
        return result
    }

    /// The engine over the database `--database` names. PostgreSQL: unreachable, refused, missing or without
    /// Trove's schema → a clear error saying what to run; it is never migrated here (`trove migrate` does).
    func openEngine(clock: TroveClock = .system, durability: Durability = .normal, readLimits: ReadLimits = .forThisMachine(),
                    lease: Duration = .seconds(30), logger: Logger = Logger(label: "trove")) async throws -> any TroveEngine {
        if let location = try postgres {
            let database = try await PostgresAppDatabase.connect(location, readLimits: readLimits, lease: lease, logger: logger)
            do { try await database.checkSchema() } catch {
                await database.close()
                throw error
            }
            return PostgresEngine(database: database, clock: clock, logger: logger)
        }
        return SQLiteEngine(database: try open(durability: durability, readLimits: readLimits), clock: clock, logger: logger)
    }

    /// The SQLite file, for what only SQLite has (`trove backup`, `generate`, the benchmarks' own files).
    func open(durability: Durability = .normal, readLimits: ReadLimits = .forThisMachine()) throws -> AppDatabase {
        if try postgres != nil {
            throw ValidationError("--database: this command works on a SQLite file; for PostgreSQL use its own tools (pg_dump, see the README)")
        }
        return try AppDatabase(path: path, durability: durability, readLimits: readLimits)
    }
}

/// `--account NAME`, default `default`.
struct AccountOptions: ParsableArguments {
    @Option(name: .long, help: "The account to act for.")
    var account: String = Accounts.defaultName
}

/// A person named by one of `--uid`, `--email` or `--profile-id` (`trove events`, `trove forget`).
struct PersonOptions: ParsableArguments {
    @Option(help: "The person's uid.") var uid: String?
    @Option(help: "The person's email.") var email: String?
    @Option(help: "The person's profile id (24 hex characters or an integer).") var profileID: String?

    /// nil when none is given.
    func lookup() throws -> ObjectLookup? {
        switch (uid, email, profileID) {
        case (nil, nil, nil): return nil
        case (let uid?, nil, nil): return .uid(uid)
        case (nil, let email?, nil): return .email(email)
        case (nil, nil, let id?):
            guard let row = PublicID.decode(id) else { throw ValidationError("--profile-id: not a valid id (24 hex characters or an integer)") }
            return .id(row)
        default: throw ValidationError("give only one of --uid, --email or --profile-id")
        }
    }
}

/// `--now <ISO-8601>` or `TROVE_NOW`: a fixed clock for reproducible runs (contract §2).
struct ClockOptions: ParsableArguments {
    @Option(name: .long, help: "Fix \"now\" to this ISO-8601 time (or TROVE_NOW); default: the real clock.")
    var now: String?

    func clock() throws -> TroveClock {
        guard let text = now ?? ProcessInfo.processInfo.environment["TROVE_NOW"] else { return .system }
        guard let t = Timestamp.parseISO8601(text) else {
            throw ValidationError("--now: \"\(text)\" is not an ISO-8601 time")
        }
        return .fixed(t)
    }
}

extension Durability: ExpressibleByArgument {}
extension FormulaCells: ExpressibleByArgument {}

func printJSON(_ value: JSON) {
    // Written straight to the descriptor: `serve` prints credentials and then runs for hours, so a
    // buffered stdout would hold them back from a pipe.
    FileHandle.standardOutput.write(Data((JSONWriter.string(value) + "\n").utf8))
}

extension TroveEngine {
    /// The id of the account named `name` (`--account`), or a clear error.
    func accountID(named name: String) async throws -> Int64 {
        try await Accounts(store: accountStore, clock: clock).accountID(named: name)
    }
}
