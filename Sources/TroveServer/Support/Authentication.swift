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
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst("basic ".count)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else {
            throw AuthenticationError(description: "missing credentials: send HTTP Basic auth with site_id:track_api_key")
        }
        guard let account = try await accounts.authenticate(siteID: String(text[..<colon]), trackAPIKey: String(text[text.index(after: colon)...]))
        else {
            throw AuthenticationError(description: "invalid site id or track API key")
        }
        return account
    }
}

/// Checks the Customer.io families' credentials before routing, so a bad credential gets its family's
/// 401 whatever the path.
struct CustomerIOAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let services: TroveServices

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch APIFamily(path: request.uri.path) {
        case .appAPI: _ = try await services.appAPIAccount(request)
        case .trackAPI: _ = try await services.trackAPIAccount(request)
        case .chameleon: break
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let accountSecret = HTTPField.Name("X-Account-Secret")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}
