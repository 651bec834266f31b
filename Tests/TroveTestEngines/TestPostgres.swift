import Foundation
import PostgresNIO
import TrovePostgres

/// The PostgreSQL server the tests use: `TROVE_TEST_POSTGRES` (a URL whose role may create databases;
/// `.ci/run` starts a throwaway cluster and sets it). Without it the PostgreSQL tests are skipped, so
/// `swift test` still passes on a machine without PostgreSQL.
public enum TestPostgres {
    public static let url: String? = ProcessInfo.processInfo.environment["TROVE_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
    public static var available: Bool { url != nil }
    public static var server: PostgresLocation { try! PostgresLocation(url: url!) }

    /// A database of its own for one test, created empty (migrated unless `migrated` is false), dropped after.
    public static func withDatabase<T>(migrated: Bool = true, _ body: (PostgresAppDatabase) async throws -> T) async throws -> T {
        let admin = try await PostgresAppDatabase.connect(server, maxConnections: 1)
        let name = "trove_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        var location = server
        location.database = name
        do {
            let database = try await PostgresAppDatabase.connect(location, maxConnections: 4)
            if migrated { try await database.migrate() }
            let result: T
            do {
                result = try await body(database)
            } catch {
                await database.close()
                throw error
            }
            await database.close()
            try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"))
            await admin.close()
            return result
        } catch {
            _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"))
            await admin.close()
            throw error
        }
    }
}
