import GRDB

/// Delivered outbox rows (webhooks, Customer.io) are kept 30 days for the delivery logs, then pruned
/// (contract §11); pending and failed rows stay.
public enum OutboxRetention {
    public static let keepDelivered: Int64 = 30 * 86_400_000

    /// The upkeep's round: delivered rows older than 30 days go.
    @discardableResult
    public static func prune(_ store: any UpkeepStore, now: Timestamp) async throws -> Int {
        try await store.pruneDelivered(before: now.adding(milliseconds: -keepDelivered))
    }

    /// Removes rows delivered before `before`; returns how many.
    @discardableResult
    public static func prune(_ database: AppDatabase, before: Timestamp) async throws -> Int {
        try await database.pool.write { db in
            try db.execute(sql: "DELETE FROM webhook_deliveries WHERE state = 'delivered' AND delivered_at < ?", arguments: [before.milliseconds])
            var removed = db.changesCount
            try db.execute(sql: "DELETE FROM customerio_deliveries WHERE state = 'delivered' AND delivered_at < ?", arguments: [before.milliseconds])
            removed += db.changesCount
            return removed
        }
    }
}
