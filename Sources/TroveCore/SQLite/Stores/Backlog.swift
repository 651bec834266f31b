import GRDB

extension TroveMetrics {
    public static func backlog(_ database: AppDatabase, now: Timestamp) async throws -> Backlog {
        try await database.read { db in
            var b = Backlog()
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM segments WHERE kind = 'dynamic')") ?? false {
                let watermark = try Int64.fetchOne(db, sql: "SELECT through_event_id FROM event_rollups WHERE name = 'membership'") ?? 0
                let last = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0
                b.membershipEventsBehind = max(0, last - watermark)
                if let oldest = try Int64.fetchOne(db, sql: "SELECT received_at FROM events WHERE id > ? ORDER BY id LIMIT 1", arguments: [watermark]) {
                    b.membershipLagSeconds = max(0, Double(now.milliseconds - oldest) / 1000)
                }
                b.membershipDirtyRows = try Int64.fetchOne(db, sql: "SELECT count(*) FROM membership_dirty") ?? 0
            }
            b.outboxDepth = [
                "webhook": try Int64.fetchOne(db, sql: "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'") ?? 0,
                "customerio": try Int64.fetchOne(db, sql: "SELECT count(*) FROM customerio_deliveries WHERE state = 'pending'") ?? 0,
                "export": try Int64.fetchOne(db, sql: "SELECT count(*) FROM exports WHERE status = 'pending'") ?? 0,
            ]
            return b
        }
    }
}
