import Dispatch
import GRDB
import Metrics

/// The operational series (contract §11 `/metrics`) the core records through swift-metrics; the server
/// bootstraps the Prometheus backend. Handles are made at each use (a registry lookup, once per commit,
/// step, delivery or export), so a value recorded before the backend is set up is the only one lost.
public enum TroveMetrics {
    /// Rows one write transaction stored, per model.
    static func ingested(profiles: Int, companies: Int, events: Int) {
        for (model, n) in [("profile", profiles), ("company", companies), ("event", events)] where n > 0 {
            Counter(label: "trove_ingested_rows_total", dimensions: [("model", model)]).increment(by: n)
        }
    }

    /// One membership evaluation step that did work: `build` (a new segment version), `refresh` (time
    /// windows), or `touched` (profiles ingest changed).
    static func segmentEvaluation(kind: String, nanoseconds: UInt64) {
        Timer(label: "trove_segment_evaluation_seconds", dimensions: [("kind", kind)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// One delivery attempt's outcome: `delivered`, `retrying` or `failed`, per outbox (`webhook`, `customerio`).
    static func delivery(_ outbox: String, outcome: String) {
        Counter(label: "trove_deliveries_total", dimensions: [("outbox", outbox), ("outcome", outcome)]).increment()
    }

    /// A finished export job, `done` or `failed`.
    static func export(kind: String, outcome: String, nanoseconds: UInt64) {
        Timer(label: "trove_export_duration_seconds", dimensions: [("kind", kind), ("outcome", outcome)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(clamping: nanoseconds))
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The series read from the database when scraped: how far membership trails ingest, and what waits
    /// in each outbox.
    public struct Backlog: Sendable, Equatable {
        /// Events past the membership watermark, and the age of the oldest (0 without dynamic segments).
        public var membershipEventsBehind: Int64 = 0
        public var membershipLagSeconds: Double = 0
        public var membershipDirtyRows: Int64 = 0
        /// Pending rows per outbox: `webhook`, `customerio`, `export`.
        public var outboxDepth: [String: Int64] = [:]
    }

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
