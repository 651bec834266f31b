import Hummingbird
import Logging
import TroveCore

/// The admin web UI under `/admin` (contract §11). Signing in with the account secret opens a session held in
/// an HttpOnly, SameSite=Strict cookie (`Secure` when the public URL is https); every POST carries the
/// session's CSRF token and, when the browser sends one, a same-origin `Origin`. Pages are rendered by
/// `AdminPages` from the same core operations the APIs use.
struct AdminController<Context: RequestContext> {
    let services: TroveServices
    let sessions: AdminSessions
    let pages: AdminPages
    let secureCookies: Bool
    let publicOrigin: String

    static var cookieName: String { "trove_admin" }

    init(services: TroveServices) {
        self.services = services
        self.sessions = AdminSessions(accounts: services.accounts, clock: services.clock)
        self.pages = AdminPages(services: services)
        let publicURL = services.exports.settings.publicURL.lowercased()
        self.secureCookies = publicURL.hasPrefix("https://")
        // scheme://host[:port] of the public URL, as browsers send it in `Origin`.
        let parts = publicURL.split(separator: "/", omittingEmptySubsequences: true)
        self.publicOrigin = parts.count >= 2 ? "\(parts[0])//\(parts[1])" : publicURL
    }

    func cookie(_ value: String, maxAge: Int64) -> String {
        "\(Self.cookieName)=\(value); Path=/admin; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
    }

    func addRoutes(to router: RouteTable<Context>) {
        router.get("/admin/login") { _, _ in
            HTML.response(AdminPages.login(flash: nil))
        }
        router.post("/admin/login") { request, context in
            let fields = HTML.formFields(Array(try await request.body.collect(upTo: 64 * 1024).readableBytesView))
            guard sameOrigin(request), let secret = fields["account_secret"]?.trimmingCharacters(in: .whitespaces), !secret.isEmpty,
                  let (token, _) = try await sessions.signIn(accountSecret: secret)
            else {
                context.logger.info("admin sign-in refused")
                return HTML.response(AdminPages.login(flash: "That is not an account secret this Trove knows."), status: .unauthorized)
            }
            return HTML.redirect("/admin", cookie: cookie(token, maxAge: AdminSessions.lifetime / 1000))
        }
        router.post("/admin/logout") { request, context in
            try await guarded(request, context, post: true) { _, _ in
                if let token = request.cookies[Self.cookieName]?.value { try await sessions.signOut(token: token) }
                return HTML.redirect("/admin/login", cookie: cookie("", maxAge: 0))
            }
        }

        get(router, "/admin") { s, request, _ in try await pages.overview(s) }
        get(router, "/admin/data") { s, request, _ in try await pages.data(s) }
        get(router, "/admin/people") { s, request, _ in try await pages.person(s, query: Self.query(request)) }
        get(router, "/admin/segments") { s, request, _ in try await pages.segments(s) }
        get(router, "/admin/segments/new") { s, request, _ in try await pages.segmentEditor(s, id: nil, fields: [:], result: nil) }
        get(router, "/admin/segments/:id") { s, request, context in
            try await pages.segment(s, id: try context.parameters.segmentID(), explainUID: Self.query(request)["uid"])
        }
        get(router, "/admin/segments/:id/edit") { s, request, context in
            try await pages.segmentEditor(s, id: try context.parameters.segmentID(), fields: [:], result: nil)
        }
        post(router, "/admin/segments") { s, fields, _ in try await pages.saveSegment(s, id: nil, fields: fields) }
        post(router, "/admin/segments/:id") { s, fields, context in
            try await pages.saveSegment(s, id: try context.parameters.segmentID(), fields: fields)
        }
        post(router, "/admin/segments/:id/delete") { s, _, context in
            try await services.segments.delete(account: s.account, id: try context.parameters.segmentID())
            return HTML.redirect("/admin/segments")
        }
        get(router, "/admin/exports") { s, request, _ in try await pages.exports(s, flash: nil, segment: Self.query(request)["segment"]) }
        post(router, "/admin/exports") { s, fields, _ in HTML.response(try await pages.createExport(s, fields: fields)) }
        get(router, "/admin/delivery") { s, _, _ in try await pages.delivery(s, flash: nil) }
        post(router, "/admin/webhooks/:endpoint/deliveries/:delivery/retry") { s, _, context in
            let endpoint = try context.parameters.publicID("endpoint"), delivery = try context.parameters.publicID("delivery")
            _ = try await services.webhooks.retry(account: s.account, endpoint: endpoint, delivery: delivery)
            return HTML.response(try await pages.delivery(s, flash: ("Delivery queued to be sent again now.", false)))
        }
        post(router, "/admin/customerio/deliveries/:delivery/retry") { s, _, context in
            _ = try await services.customerIODestination.retry(account: s.account, delivery: try context.parameters.publicID("delivery"))
            return HTML.response(try await pages.delivery(s, flash: ("Call queued to be made again now.", false)))
        }
        get(router, "/admin/reports") { s, request, _ in
            try await pages.reports(s, query: Self.query(request))
        }
    }

    /// A GET form's fields: decoded as forms encode them (`+` is a space), which URI query parsing does not do.
    static func query(_ request: Request) -> [String: String] {
        HTML.formFields(Array((request.uri.query ?? "").utf8))
    }

    typealias GetPage = @Sendable (AdminSessions.Session, Request, Context) async throws -> Markup
    typealias PostAction = @Sendable (AdminSessions.Session, [String: String], Context) async throws -> Response

    func get(_ router: RouteTable<Context>, _ path: RouterPath, _ page: @escaping GetPage) {
        router.get(path) { request, context in
            try await guarded(request, context, post: false) { session, _ in HTML.response(try await page(session, request, context)) }
        }
    }

    /// A form post: a page, or a redirect after a change.
    func post(_ router: RouteTable<Context>, _ path: RouterPath, _ action: @escaping PostAction) {
        router.post(path) { request, context in
            try await guarded(request, context, post: true) { session, fields in try await action(session, fields, context) }
        }
    }

    /// Runs `body` for a signed-in session (and, for a POST, a matching CSRF token and origin); otherwise
    /// sends the browser to sign in. A refusal from the core is shown as a page, never as a 5xx.
    func guarded(_ request: Request, _ context: Context, post: Bool,
                 _ body: (AdminSessions.Session, [String: String]) async throws -> Response) async throws -> Response {
        guard let token = request.cookies[Self.cookieName]?.value, let session = try await sessions.session(token: token) else {
            return post ? HTML.response(AdminPages.login(flash: "Your session has ended; sign in again."), status: .forbidden) : HTML.redirect("/admin/login")
        }
        var fields: [String: String] = [:]
        if post {
            fields = HTML.formFields(Array(try await request.body.collect(upTo: 1 << 20).readableBytesView))
            guard sameOrigin(request), AdminSessions.csrfMatches(fields["csrf"], session) else {
                context.logger.warning("admin form refused: CSRF token or origin mismatch")
                return HTML.response(
                    HTML.page(title: "Refused", active: nil, account: session.accountName, csrf: session.csrfToken,
                              "<p>This form did not come from this page (its security token does not match). Go back, reload, and try again.</p>"),
                    status: .forbidden)
            }
        }
        do {
            return try await body(session, fields)
        } catch {
            let (status, message) = AdminPages.describe(error)
            if status >= 500 { context.logger.error("admin page failed: \(error)") }
            return HTML.response(
                HTML.page(title: status == 404 ? "Not found" : "Cannot do that", active: nil, account: session.accountName,
                          flash: (message, true), csrf: session.csrfToken, "<p><a href=\"/admin\">Back to the overview</a></p>"),
                status: HTTPResponse.Status(code: status))
        }
    }

    /// A browser's `Origin` on a form post, when present, names this host — as the request addressed it, or
    /// as `--public-url` does (behind a proxy that rewrites `Host`).
    func sameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        let host = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
        return host != nil && (host == request.head.authority || origin.lowercased() == publicOrigin)
    }
}
