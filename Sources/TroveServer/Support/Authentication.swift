import Foundation
import HTTPTypes
import Hummingbird
import TroveCore

extension TroveServices {
    /// The account for a `/v3` request: the `:account_secret` path segment or the `X-Account-Secret` header.
    func v3Account(_ request: Request, context: some RequestContext) async throws -> Int64 {
        let secret = context.parameters.get("account_secret") ?? request.headers[.accountSecret]
        guard let secret, !secret.isEmpty else {
            throw AuthenticationError(description: "missing account secret: send the X-Account-Secret header")
        }
        guard let account = try await accounts.authenticate(accountSecret: secret) else {
            throw AuthenticationError(description: "invalid account secret")
        }
        return account
    }

    /// The account for a `/v1` request: `Authorization: Bearer <app_api_key>`.
    func appAPIAccount(_ request: Request) async throws -> Int64 {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw AuthenticationError(description: "missing credentials: send Authorization: Bearer <app_api_key>")
        }
        let key = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        guard let account = try await accounts.authenticate(appAPIKey: key) else {
            throw AuthenticationError(description: "invalid app API key")
        }
        return account
    }

    /// The account for an `/api/v1` request: `Authorization: Basic base64(site_id:track_api_key)`.
    func trackAPIAccount(_ request: Request) async throws -> Int64 {
        guard let basic = request.basicCredentials, let password = basic.password else {
            throw AuthenticationError(description: "missing credentials: send HTTP Basic auth with site_id:track_api_key")
        }
        guard let account = try await accounts.authenticate(siteID: basic.user, trackAPIKey: password)
        else {
            throw AuthenticationError(description: "invalid site id or track API key")
        }
        return account
    }

    /// The account for a Segment tracking API request (contract §14): the write key as HTTP Basic's user
    /// name (Segment's SDKs leave the password empty), else `writeKey` in the body. Any other
    /// `Authorization` (Segment's OAuth bearer tokens) is not Trove's and leaves the body's key to decide.
    func segmentAccount(_ request: Request, bodyWriteKey: String?) async throws -> Int64 {
        var key = bodyWriteKey
        if request.hasBasicAuthorization {
            guard let basic = request.basicCredentials else {
                throw AuthenticationError(description: "Authorization: Basic credentials are not base64 of \"write_key:\"")
            }
            key = basic.user
        }
        guard let key, !key.isEmpty else {
            throw AuthenticationError(description: "missing write key: send HTTP Basic auth with the write key as user name, or writeKey in the body")
        }
        guard let account = try await accounts.authenticate(writeKey: key) else {
            throw AuthenticationError(description: "invalid write key")
        }
        return account
    }
}

extension Request {
    var hasBasicAuthorization: Bool { headers[.authorization]?.lowercased().hasPrefix("basic ") == true }

    /// HTTP Basic's user name and password (nil when there is no colon); nil when the header is not Basic
    /// base64 of UTF-8.
    var basicCredentials: (user: String, password: String?)? {
        guard let header = headers[.authorization], hasBasicAuthorization,
              let decoded = Data(base64Encoded: String(header.dropFirst("basic ".count)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8)
        else { return nil }
        guard let colon = text.firstIndex(of: ":") else { return (text, nil) }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}

/// A request context that carries the account its credentials resolved to.
public protocol AccountContext: RequestContext {
    var account: Int64? { get set }
}

extension AccountContext {
    /// The request's account, resolved once by `AccountMiddleware` (every `/v3`, `/v1` and `/api/v1` route
    /// sits behind it, so a handler never sees a request without one).
    func requireAccount() throws -> Int64 {
        guard let account else { throw AuthenticationError(description: "no credentials were checked for this route") }
        return account
    }
}

/// Trove's request context: Hummingbird's core storage and the authenticated account.
public struct TroveRequestContext: AccountContext {
    public var coreContext: CoreRequestContextStorage
    public var account: Int64?

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}

/// Resolves the account once per request, by the credential of the path's API family (one place each):
/// the account secret for `/v3` (a hook path's `:account_secret` segment or `X-Account-Secret`), the App
/// API key for `/v1`, the Track API key for `/api/v1`. A bad credential gets its family's answer (403 in
/// `/v3`, 401 in the Customer.io families) whatever the path; an unknown `/v3` path stays a 404, and a known
/// path asked with a method it does not take a 405.
struct AccountMiddleware<Context: AccountContext>: RouterMiddleware {
    let services: TroveServices
    let known: KnownRoutes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        // A method a known path does not take is answered 405 whatever the credentials.
        if context.endpointPath != nil, !known.contains(request.method, context.endpointPath) { return try await next(request, context) }
        switch APIFamily(path: request.uri.path) {
        case .appAPI: context.account = try await services.appAPIAccount(request)
        case .trackAPI: context.account = try await services.trackAPIAccount(request)
        // The write key may be in the body, which the controller reads: it resolves the account itself.
        case .segmentAPI: break
        case .chameleon:
            // Router middleware runs once the route is resolved (path parameters set); an unknown path has
            // no endpoint and goes on to its 404.
            if request.uri.path.hasPrefix("/v3/"), context.endpointPath != nil {
                context.account = try await services.v3Account(request, context: context)
            }
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let accountSecret = HTTPField.Name("X-Account-Secret")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}
