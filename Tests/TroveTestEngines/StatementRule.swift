import Foundation
import PostgresNIO
import TrovePostgres

/// The Citus rule (issue: "every statement Trove sends filters on account_id"), checked on what a test
/// actually sent: `pg_stat_statements` (preloaded by `.ci/postgres`) holds every statement of the test's
/// database, normalized; each one that reads or writes a distributed table — any table but the reference
/// tables `accounts` and `server_keys` — must name `account_id`.
public enum StatementRule {
    /// The tables Citus would distribute by `account_id`.
    public static let distributed = [
        "companies", "profiles", "event_names", "events", "anonymous_events", "event_counts", "event_rollups", "properties",
        "warnings", "idempotency_keys", "segments", "segment_members", "segment_changes", "membership_dirty", "membership_marks", "event_count_deltas", "exports", "integrations",
        "webhook_endpoints", "webhook_deliveries", "customerio_deliveries", "admin_sessions", "report_steps", "report_step_events",
        "deletions", "export_parts",
    ]

    /// Statements that are not queries over rows: schema changes (Citus propagates them), transaction
    /// control, session settings, the migrations' bookkeeping.
    static let exempt = ["CREATE ", "DROP ", "ALTER ", "ANALYZE", "BEGIN", "COMMIT", "ROLLBACK", "START ", "SET ", "SAVEPOINT", "RELEASE ",
                         "SELECT pg_advisory", "LOCK TABLE accounts"]

    /// Begins the statements a test sends to look at rows itself (`OpenedTestEngine.number`): not Trove's.
    public static let testMark = "/* trove-test */"

    struct Violation: Error, CustomStringConvertible {
        var statements: [String]
        var description: String {
            "statements on distributed tables without account_id (Citus rule):\n" + statements.map { "  " + $0 }.joined(separator: "\n")
        }
    }

    struct Unavailable: Error, CustomStringConvertible {
        var reason: String
        var description: String { "the statement check needs pg_stat_statements preloaded (.ci/postgres sets it): \(reason)" }
    }

    /// The statements of `database` that break the rule.
    public static func violations(_ database: PostgresAppDatabase) async throws -> [String] {
        let rows: [PostgresRow]
        do {
            try await database.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            rows = try await database.query(
                """
                SELECT s.query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname = current_database()
                """)
        } catch {
            throw Unavailable(reason: "\(error)")
        }
        // A table read or written: named after FROM, JOIN, INTO or UPDATE (a column `p.properties` is not).
        let tables = try Regex("(?i)\\b(FROM|JOIN|INTO|UPDATE)\\s+(" + distributed.joined(separator: "|") + ")\\b")
        return try rows.map { try $0.decode(String.self) }.filter { query in
            let text = query.trimmingCharacters(in: .whitespacesAndNewlines)
            let upper = text.uppercased()
            guard !exempt.contains(where: { upper.hasPrefix($0.uppercased()) }), !text.contains("pg_stat_statements"), !text.hasPrefix(testMark),
                  !text.contains("trove_migrations")
            else { return false }
            return text.contains(tables) && !text.contains("account_id")
        }.sorted()
    }

    /// Throws when `database`'s statements break the rule.
    public static func check(_ database: PostgresAppDatabase) async throws {
        let found = try await violations(database)
        if !found.isEmpty { throw Violation(statements: found) }
    }
}
