import GRDB

/// Delivered outbox rows (webhooks, Customer.io) are kept 30 days for the delivery logs, then pruned
/// (contract §11); pending and failed rows stay.
public enum OutboxRetention {
    public static let keepDelivered: Int64 = 30 * 86_400_000

    /// Removes delivered rows older than 30 days; returns how many.
    @discardableResult
    public static func prune(_ database: AppDatabase, now: Timestamp) async throws -> Int {
        let before = now.milliseconds - keepDelivered
        return try await database.pool.write { db in
            try db.execute(sql: "DELETE FROM webhook_deliveries WHERE state = 'delivered' AND delivered_at < ?", arguments: [before])
            var removed = db.changesCount
            try db.execute(sql: "DELETE FROM customerio_deliveries WHERE state = 'delivered' AND delivered_at < ?", arguments: [before])
            removed += db.changesCount
            return removed
        }
    }
}
