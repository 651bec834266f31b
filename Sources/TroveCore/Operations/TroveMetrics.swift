import Dispatch
import Metrics

/// The operational series (`/metrics`) the core records through swift-metrics; the server bootstraps the
/// Prometheus backend. Handles are made at each use (a registry lookup, once per commit, step, delivery or
/// export), so a value recorded before the backend is set up is the only one lost. Every series and each of
/// its label sets is listed in `catalog`, so a scrape shows them all (at zero) from the start.
public enum TroveMetrics {
    /// The core's series: names, help, kinds and every label set they take.
    public static let catalog: [MetricSeries] = [
        MetricSeries("trove_ingested_rows_total", "Rows stored by ingest, per model", .counter,
                     labels: ["model": ["profile", "company", "event"]]),
        MetricSeries("trove_segment_evaluation_seconds", "Duration of membership evaluation steps that did work, per kind", .histogram(stepBuckets),
                     labels: ["kind": ["index", "build", "refresh", "touched"]]),
        MetricSeries("trove_deliveries_total", "Delivery attempts per outbox and outcome", .counter,
                     labels: ["outbox": ["webhook", "customerio"], "outcome": ["delivered", "retrying", "failed"]]),
        MetricSeries("trove_export_duration_seconds", "Duration of finished export jobs, per kind and outcome", .histogram(exportBuckets),
                     labels: ["kind": ["customers", "deliveries"], "outcome": ["done", "failed"]]),
        MetricSeries("trove_membership_events_behind", "Events not yet evaluated for segment membership", .gauge),
        MetricSeries("trove_membership_lag_seconds", "Age of the oldest event not yet evaluated for membership", .gauge),
        MetricSeries("trove_membership_dirty_rows", "Profiles and companies waiting to be re-evaluated", .gauge),
        MetricSeries("trove_outbox_depth", "Pending rows per outbox", .gauge, labels: ["outbox": ["webhook", "customerio", "export"]]),
    ]

    /// Evaluation steps run from a millisecond (a touched profile) to a minute (a first build at scale).
    static let stepBuckets: [Double] = [0.001, 0.01, 0.1, 1, 10, 60]
    static let exportBuckets: [Double] = [0.1, 1, 10, 60, 600]

    /// Rows one write transaction stored, per model.
    public static func ingested(profiles: Int, companies: Int, events: Int) {
        for (model, n) in [("profile", profiles), ("company", companies), ("event", events)] where n > 0 {
            Counter(label: "trove_ingested_rows_total", dimensions: [("model", model)]).increment(by: n)
        }
    }

    /// One membership evaluation step that did work: `build` (a new segment version), `refresh` (time
    /// windows), or `touched` (profiles ingest changed).
    public static func segmentEvaluation(kind: String, nanoseconds: UInt64) {
        Timer(label: "trove_segment_evaluation_seconds", dimensions: [("kind", kind)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// One delivery attempt's outcome: `delivered`, `retrying` or `failed`, per outbox (`webhook`, `customerio`).
    static func delivery(_ outbox: String, outcome: String) {
        Counter(label: "trove_deliveries_total", dimensions: [("outbox", outbox), ("outcome", outcome)]).increment()
    }

    /// A finished export job, `done` or `failed`.
    public static func export(kind: String, outcome: String, nanoseconds: UInt64) {
        Timer(label: "trove_export_duration_seconds", dimensions: [("kind", kind), ("outcome", outcome)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(clamping: nanoseconds))
    }

    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The series read from the database when scraped: how far membership trails ingest, and what waits
    /// in each outbox.
    public struct Backlog: Sendable, Equatable {
        /// Events past the membership watermark, and the age of the oldest (0 without dynamic segments).
        public var membershipEventsBehind: Int64 = 0
        public var membershipLagSeconds: Double = 0
        public var membershipDirtyRows: Int64 = 0
        /// Pending rows per outbox: `webhook`, `customerio`, `export`.
        public var outboxDepth: [String: Int64] = [:]

        public init() {}
    }
}

/// One exported series: its name, help text, kind, and the values each label takes (every combination
/// exists from the start).
public struct MetricSeries: Sendable {
    public enum Kind: Sendable {
        case counter
        case gauge
        /// Upper bounds in seconds.
        case histogram([Double])
    }

    public var name: String
    public var help: String
    public var kind: Kind
    public var labels: KeyValuePairs<String, [String]>

    public init(_ name: String, _ help: String, _ kind: Kind, labels: KeyValuePairs<String, [String]> = [:]) {
        self.name = name
        self.help = help
        self.kind = kind
        self.labels = labels
    }

    /// Every label set the series takes, in label order.
    public var labelSets: [[(String, String)]] {
        labels.reduce([[]]) { sets, label in sets.flatMap { set in label.value.map { set + [(label.key, $0)] } } }
    }
}
