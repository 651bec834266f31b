import Foundation
import PostgresNIO
import TroveCore
import TrovePostgres

/// The PostgreSQL server the tests use: `TROVE_TEST_POSTGRES` (a URL whose role may create databases;
/// `.ci/run` starts a throwaway cluster and sets it). Without it the PostgreSQL tests are skipped, so
/// `swift test` still passes on a machine without PostgreSQL.
public enum TestPostgres {
    public static let url: String? = ProcessInfo.processInfo.environment["TROVE_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    public static var available: Bool { url != nil }
    public static var server: PostgresLocation { try! PostgresLocation(url: url!) }

    /// The URL of another database on the test server (for a child process: `trove … --database URL`).
    public static func url(of database: String) -> String {
        let base = url!
        let query = base.firstIndex(of: "?").map { String(base[$0...]) } ?? ""
        let path = base[..<(base.firstIndex(of: "?") ?? base.endIndex)]
        return path[..<path.lastIndex(of: "/")!] + "/" + database + query
    }

    /// An account named "acme" in `database`, made as `trove accounts create` makes it; its id.
    public static func account(in database: PostgresAppDatabase) async throws -> Int64 {
        let accounts = Accounts(store: PostgresAccountStore(database: database))
        _ = try await accounts.create(name: "acme")
        return try await accounts.accountID(named: "acme")
    }

    /// A database of its own for one test, created empty (migrated unless `migrated` is false), dropped after.
    public static func withDatabase<T>(migrated: Bool = true, readLimits: ReadLimits = .forThisMachine(), _ body: (PostgresAppDatabase) async throws -> T)
        async throws -> T
    {
        let database = try await createDatabase(migrated: migrated, readLimits: readLimits)
        let result: T
        do {
            result = try await body(database)
        } catch {
            await database.close()
            try? await drop(database.location.database)
            throw error
        }
        await database.close()
        try await drop(database.location.database)
        return result
    }

    /// A new database of its own (migrated unless `migrated` is false), open; the caller closes and drops it.
    public static func createDatabase(migrated: Bool = true, maxConnections: Int = 4, readLimits: ReadLimits = .forThisMachine()) async throws
        -> PostgresAppDatabase
    {
        let name = "trove_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await asAdmin { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        var location = server
        location.database = name
        do {
            let database = try await PostgresAppDatabase.connect(location, maxConnections: maxConnections, readLimits: readLimits)
            if migrated {
                do { try await database.migrate() } catch {
                    await database.close()
                    throw error
                }
            }
            return database
        } catch {
            try? await drop(name)
            throw error
        }
    }

    /// Drops a test's database (its connections closed first, by force if need be).
    public static func drop(_ name: String) async throws {
        try await asAdmin { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) }
    }

    /// Runs `body` on the one admin connection the whole test run shares (creating and dropping a database
    /// for each test must not open two more connections per test: the suite's start opens hundreds at once).
    private static func asAdmin(_ body: (PostgresAppDatabase) async throws -> Void) async throws {
        try await body(admin.database())
    }

    private static let admin = Admin()

    private actor Admin {
        private var opening: Task<PostgresAppDatabase, any Error>?

        /// The shared connection, opened on first use (again after a failed open).
        func database() async throws -> PostgresAppDatabase {
            let task = opening ?? Task { try await PostgresAppDatabase.connect(TestPostgres.server, maxConnections: 2) }
            opening = task
            do { return try await task.value } catch {
                opening = nil
                throw error
            }
        }
    }
}
