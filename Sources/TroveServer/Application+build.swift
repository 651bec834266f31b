import Hummingbird
import Logging
import ServiceLifecycle
import TroveCore

public struct ServerOptions: Sendable {
    public var host: String
    public var port: Int
    public var role: ServerRole

    public init(host: String = "127.0.0.1", port: Int = 8080, role: ServerRole = .all) {
        self.host = host
        self.port = port
        self.role = role
    }
}

/// What a server does (`trove serve --role`): with PostgreSQL, several Trove processes share one database.
public enum ServerRole: String, Sendable, CaseIterable {
    /// Answers the API and runs no background work.
    case api
    /// Runs the background work (membership, deliveries, exports, upkeep); answers only `/health` and `/metrics`.
    case worker
    /// Both (the default, and the only role a SQLite file allows: one process owns it).
    case all

    var answersAPI: Bool { self != .worker }
    var runsBackgroundWork: Bool { self != .api }
}

/// The router with every route Trove serves; tests drive it directly or over a live socket.
public func buildRouter(services: TroveServices) -> Router<TroveRequestContext> {
    buildRoutes(services: services).router
}

/// Every route Trove serves (method and path template), as registered: what the API document must describe.
public func registeredRoutes(services: TroveServices) -> [Route] {
    buildRoutes(services: services).routes
}

private func buildRoutes(services: TroveServices, role: ServerRole = .all) -> RouteTable<TroveRequestContext> {
    ServerMetrics.bootstrap()
    let routes = RouteTable(router: Router(context: TroveRequestContext.self, options: .autoGenerateHeadEndpoints))
    routes.add(middleware: RequestLogMiddleware())
    routes.add(middleware: RequestMetricsMiddleware(known: routes.known))
    routes.add(middleware: ErrorMiddleware())
    routes.add(middleware: NULRefusalMiddleware())
    routes.add(middleware: AccountMiddleware(services: services, known: routes.known))
    routes.get("/health") { _, _ in
        Response.json(["status": "ok"])
    }
    routes.get("/metrics") { _, _ in
        let body = try await ServerMetrics.scrape(services)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
    guard role.answersAPI else {
        routes.refuseOtherMethods()
        ServerMetrics.register(routes: routes.routes)
        return routes
    }
    routes.get("/openapi.json") { _, _ in
        Response.json(bytes: APIDocument.bytes)
    }
    IngestController(services: services).addRoutes(to: routes)
    ReadController(services: services).addRoutes(to: routes)
    ErasureController(services: services).addRoutes(to: routes)
    SegmentController(services: services).addRoutes(to: routes)
    CustomerIOSegmentController(services: services).addRoutes(to: routes)
    ExportController(services: services).addRoutes(to: routes)
    CustomerController(services: services).addRoutes(to: routes)
    TrackController(services: services).addRoutes(to: routes)
    SegmentTrackingController(services: services).addRoutes(to: routes)
    CustomerIOSourceController(services: services).addRoutes(to: routes)
    WebhookController(services: services).addRoutes(to: routes)
    CustomerIODestinationController(services: services).addRoutes(to: routes)
    ReportController(services: services).addRoutes(to: routes)
    AdminController(services: services).addRoutes(to: routes)
    routes.refuseOtherMethods()
    ServerMetrics.register(routes: routes.routes)
    return routes
}

/// `onListening` receives the bound port (useful with port 0) once the server accepts connections.
public func buildApplication(
    services: TroveServices, options: ServerOptions, logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }
) -> some ApplicationProtocol {
    var app = Application(
        router: buildRoutes(services: services, role: options.role).router,
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "Trove"),
        onServerRunning: { channel in onListening(channel.localAddress?.port ?? options.port) },
        logger: logger)
    if options.role.runsBackgroundWork { app.addServices(backgroundServices(services, logger: logger)) }
    return app
}

/// The background loops a server runs beside HTTP; each waits on `services.clock` between passes. On an
/// engine several processes share, the node's heartbeat comes first, so it stops last.
public func backgroundServices(_ services: TroveServices, logger: Logger) -> [any Service] {
    let heartbeat: [any Service] = services.engine.node.map { [NodeService(node: $0, clock: services.clock, logger: logger)] } ?? []
    return heartbeat + [
        MembershipService(evaluator: services.membership, logger: logger), ExportService(runner: services.exportRunner, logger: logger),
        DeliveryService(services: services, logger: logger), UpkeepService(services: services, logger: logger),
        ReportStepService(services: services, logger: logger),
    ]
}
