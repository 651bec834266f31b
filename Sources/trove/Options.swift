import ArgumentParser
import Foundation
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
        guard let location = try postgres else { return try await body(Accounts(database: try open(), clock: clock)) }
        let database = try await PostgresAppDatabase.connect(location, maxConnections: 2)
        do {
            try await database.checkSchema()
            let result = try await body(Accounts(store: PostgresAccountStore(database: database), clock: clock))
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }

    /// The SQLite file. PostgreSQL serves only `trove migrate`, `trove accounts` and `trove check` so far (issue 19 is
    /// bringing the rest).
    func open(durability: Durability = .normal, readLimits: ReadLimits = .forThisMachine()) throws -> AppDatabase {
        if try postgres != nil {
            throw ValidationError("--database: this command does not run on PostgreSQL yet (only `trove migrate`, `trove accounts` and `trove check` do); give a SQLite file")
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
