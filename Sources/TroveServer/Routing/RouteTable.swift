import HTTPTypes
import Hummingbird
import Synchronization

/// Every route Trove serves, recorded as the controllers add them to the router: the API document is
/// checked against this list, and a known path asked with a method it does not take answers 405 with
/// `Allow` (not 404).
final class RouteTable<Context: RequestContext>: RouterMethods {
    let router: Router<Context>
    let known = KnownRoutes()
    /// Path templates in the order they were first added.
    private var order: [String] = []

    init(router: Router<Context>) {
        self.router = router
    }

    @discardableResult func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
    where Responder.Context == Context {
        let template = path.description
        if !order.contains(template) { order.append(template) }
        known.insert(Route(method: method.rawValue, path: template))
        router.on(path, method: method, responder: responder)
        return self
    }

    @discardableResult func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        router.add(middleware: middleware)
        return self
    }

    /// The routes added so far, in the order they were added.
    var routes: [Route] {
        order.flatMap { path in methods(path).map { Route(method: $0.rawValue, path: path) } }
    }

    /// The methods registered for a path template (HEAD only where registered itself).
    func methods(_ path: String) -> [HTTPRequest.Method] {
        Self.methodOrder.filter { $0 != .head && known.contains($0, path) }
    }

    /// Answers every method a known path does not take with 405 and its `Allow` list; HEAD is answered
    /// wherever GET is (the router generates those from the GET handlers).
    func refuseOtherMethods() {
        for path in order {
            let allowed = Self.methodOrder.filter { known.contains($0, path) }
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            for method in Self.methodOrder where !allowed.contains(method) {
                router.on(RouterPath(path), method: method) { _, _ -> Response in throw MethodNotAllowed(allow: allow) }
            }
        }
    }

    static var methodOrder: [HTTPRequest.Method] { [.get, .head, .post, .put, .patch, .delete] }
}

/// One method on one path template, as the router matches it (`{name}` marks a path parameter, as in OpenAPI).
public struct Route: Hashable, Sendable, CustomStringConvertible {
    public var method: String
    public var path: String

    public var description: String { "\(method) \(path)" }
}

/// The routes registered so far, for middleware that must tell a route's own method from another (which
/// the 405 responders answer): filled while the router is built, read per request.
final class KnownRoutes: Sendable {
    private let routes = Mutex<Set<Route>>([])

    func insert(_ route: Route) { routes.withLock { _ = $0.insert(route) } }

    /// Whether the request's matched path template takes its method (HEAD where GET is taken).
    func contains(_ method: HTTPRequest.Method, _ endpointPath: String?) -> Bool {
        guard let endpointPath else { return false }
        let route = Route(method: (method == .head ? .get : method).rawValue, path: endpointPath)
        return routes.withLock { $0.contains(route) }
    }
}

/// A known path asked with a method it does not take.
struct MethodNotAllowed: Error, CustomStringConvertible {
    var allow: String
    var description: String { "method not allowed: this path takes \(allow)" }
}
