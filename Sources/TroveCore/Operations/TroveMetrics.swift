import Dispatch
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
}
