import Hummingbird
import Logging
import ServiceLifecycle
import TroveCore

public struct ServerOptions: Sendable {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}

/// The router with every route Trove serves; tests drive it directly or over a live socket.
public func buildRouter(services: TroveServices) -> Router<TroveRequestContext> {
    ServerMetrics.bootstrap()
    let router = Router(context: TroveRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: AccountMiddleware(services: services))
    router.get("/health") { _, _ in
        Response.json(["status": "ok"])
    }
    router.get("/metrics") { _, _ in
        let body = try await ServerMetrics.scrape(services)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
    IngestController(services: services).addRoutes(to: router)
    ReadController(services: services).addRoutes(to: router)
    ErasureController(services: services).addRoutes(to: router)
    SegmentController(services: services).addRoutes(to: router)
    CustomerIOSegmentController(services: services).addRoutes(to: router)
    ExportController(services: services).addRoutes(to: router)
    CustomerController(services: services).addRoutes(to: router)
    TrackController(services: services).addRoutes(to: router)
    CustomerIOSourceController(services: services).addRoutes(to: router)
    WebhookController(services: services).addRoutes(to: router)
    CustomerIODestinationController(services: services).addRoutes(to: router)
    ReportController(services: services).addRoutes(to: router)
    AdminController(services: services).addRoutes(to: router)
    return router
}

/// `onListening` receives the bound port (useful with port 0) once the server accepts connections.
public func buildApplication(
    services: TroveServices, options: ServerOptions, logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }
) -> some ApplicationProtocol {
    var app = Application(
        router: buildRouter(services: services),
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "Trove"),
        onServerRunning: { channel in onListening(channel.localAddress?.port ?? options.port) },
        logger: logger)
    app.addServices(backgroundServices(services, logger: logger))
    return app
}

/// The background loops a server runs beside HTTP; each waits on `services.clock` between passes.
public func backgroundServices(_ services: TroveServices, logger: Logger) -> [any Service] {
    [
        MembershipService(evaluator: services.membership, logger: logger), ExportService(runner: services.exportRunner, logger: logger),
        DeliveryService(services: services, logger: logger), UpkeepService(services: services, logger: logger),
        ReportStepService(services: services, logger: logger),
    ]
}
