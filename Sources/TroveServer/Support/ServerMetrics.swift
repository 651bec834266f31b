import Hummingbird
import Metrics
import Prometheus
import Synchronization
import TroveCore

/// `/metrics`: one Prometheus registry for the process. Every series is declared up front (the core's in
/// `TroveMetrics.catalog`, HTTP's here), with its help text, its buckets and every label set it takes, so
/// a scrape shows them all from the start and stays bounded: requests are counted per route template (never
/// the raw path: hook paths carry the account's secret), method and status class; latency is a histogram per
/// API family with a handful of buckets. The core records through swift-metrics; the backlog gauges are
/// read from the database at each scrape.
enum ServerMetrics {
    static let registry = PrometheusCollectorRegistry()

    static let requests = MetricSeries("trove_http_requests_total", "HTTP requests answered, per route template, method and status class", .counter)
    static let duration = MetricSeries(
        "trove_http_request_duration_seconds", "Time to answer HTTP requests, per API family",
        .histogram([0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10]),
        labels: ["family": families])
    /// In the order of their first digit, from 2.
    static let statusClasses = ["2xx", "3xx", "4xx", "5xx"]
    static let families = ["v3", "v1", "api_v1", "segment_v1", "admin", "other"]
    /// Where requests no route took (or with a method their path does not take) are counted.
    static let unrouted = Route(method: "(other)", path: "(unrouted)")

    /// The latency family of a path: its API family (`APIFamily`, the one place that tells them apart),
    /// or the admin UI, or anything else.
    static func family(_ path: String) -> String {
        switch APIFamily(path: path) {
        case .appAPI: return "v1"
        case .trackAPI: return "api_v1"
        case .segmentAPI: return "segment_v1"
        case .chameleon: return path.hasPrefix("/v3/") ? "v3" : path.hasPrefix("/admin") ? "admin" : "other"
        }
    }

    private static let bootstrapped: Void = {
        for series in TroveMetrics.catalog + [duration] {
            for labels in series.labelSets { _ = make(series, labels) }
        }
        MetricsSystem.bootstrap(CatalogMetricsFactory())
    }()

    /// Installs the backend and every catalogued series once per process (every application built in it shares it).
    static func bootstrap() { _ = bootstrapped }

    /// Creates the request counters for the routes a router serves (and one for requests no route took),
    /// and keeps them at hand so that counting a request takes no registry lookup.
    static func register(routes: [Route]) {
        for route in routes + [unrouted] {
            let made = statusClasses.map { requestCounter(route, statusClass: $0) }
            counters.withLock { $0[route] = made }
        }
    }

    private static let counters = Mutex<[Route: [Prometheus.Counter]]>([:])

    /// The latency histogram of each family, made once.
    static let durations: [String: DurationHistogram] = Dictionary(
        uniqueKeysWithValues: families.map { ($0, make(duration, [("family", $0)]) as! DurationHistogram) })

    /// One answered request: its route's counter for the status class.
    static func count(_ route: Route, status: Int) {
        let index = status / 100 - 2
        if statusClasses.indices.contains(index), let counter = counters.withLock({ $0[route] })?[index] {
            counter.increment()
        } else {
            requestCounter(route, statusClass: "\(status / 100)xx").increment()
        }
    }

    static func requestCounter(_ route: Route, statusClass: String) -> Prometheus.Counter {
        registry.makeCounter(descriptor: descriptor(requests), labels: [("route", route.path), ("method", route.method), ("status", statusClass)])
    }

    static func descriptor(_ series: MetricSeries) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: series.name, unitName: "", helpText: series.help)
    }

    /// The registry's handle for one label set of a catalogued series.
    static func make(_ series: MetricSeries, _ labels: [(String, String)]) -> AnyObject {
        switch series.kind {
        case .counter: registry.makeCounter(descriptor: descriptor(series), labels: labels)
        case .gauge: registry.makeGauge(descriptor: descriptor(series), labels: labels)
        case .histogram(let bounds):
            registry.makeDurationHistogram(
                descriptor: descriptor(series), labels: labels, buckets: bounds.map { .nanoseconds(Int64($0 * 1_000_000_000)) })
        }
    }

    static func gauge(_ name: String, _ labels: [(String, String)] = []) -> Prometheus.Gauge? {
        TroveMetrics.catalog.first { $0.name == name }.map { make($0, labels) as! Prometheus.Gauge }
    }

    /// The text exposition, with the backlog gauges read now.
    static func scrape(_ services: TroveServices) async throws -> [UInt8] {
        let backlog = try await services.upkeep.backlog(now: services.clock.now())
        gauge("trove_membership_events_behind")?.set(Double(backlog.membershipEventsBehind))
        gauge("trove_membership_lag_seconds")?.set(backlog.membershipLagSeconds)
        gauge("trove_membership_dirty_rows")?.set(Double(backlog.membershipDirtyRows))
        for (outbox, depth) in backlog.outboxDepth {
            gauge("trove_outbox_depth", [("outbox", outbox)])?.set(Double(depth))
        }
        return registry.emitToBuffer()
    }
}

/// swift-metrics' backend for the core: each label resolves to its catalogued series (help and buckets
/// included); a label not in the catalog still counts, with a help text saying so.
struct CatalogMetricsFactory: MetricsFactory {
    func series(_ label: String, _ kind: MetricSeries.Kind) -> MetricSeries {
        TroveMetrics.catalog.first { $0.name == label } ?? MetricSeries(label, "Uncatalogued series \(label)", kind)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        ServerMetrics.make(series(label, .counter), dimensions) as! Prometheus.Counter
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        ServerMetrics.make(series(label, .counter), dimensions) as! Prometheus.Counter
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        ServerMetrics.make(series(label, .gauge), dimensions) as! Prometheus.Gauge
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        ServerMetrics.make(series(label, .gauge), dimensions) as! Prometheus.Gauge
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        ServerMetrics.make(series(label, .histogram([0.001, 0.01, 0.1, 1, 10])), dimensions) as! DurationHistogram
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

/// Counts each request under its route template (HEAD under its GET; a request no route took, or a method
/// its path does not take, under `unrouted`) and times it per API family.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let known: KnownRoutes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let route = known.contains(request.method, context.endpointPath)
            ? Route(method: (request.method == .head ? .get : request.method).rawValue, path: context.endpointPath!) : ServerMetrics.unrouted
        ServerMetrics.count(route, status: response.status.code)
        ServerMetrics.durations[ServerMetrics.family(request.uri.path)]?.record(ContinuousClock.now - started)
        return response
    }
}
