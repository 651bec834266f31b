import HTTPTypes
import Hummingbird
import TroveCore

extension TroveServices {
    /// The account for a `/v3` request: the `:account_secret` path segment or the `X-Account-Secret` header.
    func v3Account(_ request: Request, context: some RequestContext) async throws -> Int64 {
        let secret = context.parameters.get("account_secret") ?? request.headers[.accountSecret]
        guard let secret, !secret.isEmpty else {
            throw ForbiddenError(description: "missing account secret: send the X-Account-Secret header")
        }
        guard let account = try accounts.authenticate(accountSecret: secret) else {
            throw ForbiddenError(description: "invalid account secret")
        }
        return account
    }
}

extension HTTPField.Name {
    static let accountSecret = HTTPField.Name("X-Account-Secret")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}
