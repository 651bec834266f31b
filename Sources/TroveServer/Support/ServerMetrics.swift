import Metrics
import Prometheus
import TroveCore

/// `/metrics` (contract §11): one Prometheus registry for the process, behind swift-metrics. Requests and
/// latency by route come from Hummingbird's `MetricsMiddleware` (the route template, never the raw path:
/// hook paths carry the account's secret); the core records ingest, evaluation, delivery and export
/// series; the backlog gauges (membership lag, outbox depth) are read from the database at each scrape.
enum ServerMetrics {
    static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Requests are mostly sub-millisecond: finer buckets at the low end than the defaults' 5 ms floor.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        MetricsSystem.bootstrap(factory)
    }()

    /// Installs the Prometheus backend once per process (every application built in it shares it).
    static func bootstrap() { _ = bootstrapped }

    /// The text exposition, with the backlog gauges read now.
    static func scrape(_ services: TroveServices) async throws -> [UInt8] {
        let backlog = try await services.upkeep.backlog(now: services.clock.now())
        registry.makeGauge(name: "trove_membership_events_behind", labels: [], help: "Events not yet evaluated for segment membership").set(Double(backlog.membershipEventsBehind))
        registry.makeGauge(name: "trove_membership_lag_seconds", labels: [], help: "Age of the oldest event not yet evaluated for membership").set(backlog.membershipLagSeconds)
        registry.makeGauge(name: "trove_membership_dirty_rows", labels: [], help: "Profiles and companies waiting to be re-evaluated").set(Double(backlog.membershipDirtyRows))
        for (outbox, depth) in backlog.outboxDepth {
            registry.makeGauge(name: "trove_outbox_depth", labels: [("outbox", outbox)], help: "Pending rows per outbox").set(Double(depth))
        }
        return registry.emitToBuffer()
    }
}
