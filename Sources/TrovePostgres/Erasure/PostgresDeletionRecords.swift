import Logging
import TroveCore
import PostgresNIO

/// An erasure's notifications once they settle (as SQLite's `DeletionRecords.settled`): what named the person
/// is wiped from the delivery row, and the erasure completes once none of its notifications is pending.
enum PostgresDeletionRecords {
    enum Outbox {
        case webhooks, customerIO
    }

    static func settled(_ connection: PostgresConnection, table: Outbox, account: Int64, id: Int64, now: Timestamp, logger: Logger) async throws {
        let wiped: PostgresQuery
        switch table {
        case .webhooks:
            wiped = """
                UPDATE webhook_deliveries SET data = '{}', last_error = NULL
                WHERE account_id = \(account) AND id = \(id) AND deletion_id IS NOT NULL AND state <> 'pending' RETURNING deletion_id
                """
        case .customerIO:
            wiped = """
                UPDATE customerio_deliveries SET identifier = NULL, body = NULL, target = NULL, last_error = NULL
                WHERE account_id = \(account) AND id = \(id) AND deletion_id IS NOT NULL AND state <> 'pending' RETURNING deletion_id
                """
        }
        var deletion: Int64?
        for try await row in try await connection.query(wiped, logger: logger) { deletion = try row.decode(Int64.self) }
        guard let deletion else { return }
        try await connection.query(
            """
            UPDATE deletions SET completed_at = \(now.milliseconds)
            WHERE account_id = \(account) AND id = \(deletion) AND completed_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE account_id = \(account) AND deletion_id = \(deletion) AND state = 'pending')
              AND NOT EXISTS (SELECT 1 FROM customerio_deliveries WHERE account_id = \(account) AND deletion_id = \(deletion) AND state = 'pending')
            """, logger: logger)
    }
}
