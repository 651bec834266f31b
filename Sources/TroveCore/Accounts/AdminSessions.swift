import Foundation

/// Sessions of the admin web UI (contract §11): opened with the account secret, held in a cookie as the
/// account's id and a random token (`<account>.<token>`; the token stored only as its SHA-256, found under
/// its account), each with a CSRF token its forms must send back.
public struct AdminSessions: Sendable {
    public let accounts: Accounts
    public let clock: TroveClock
    public static let lifetime: Int64 = 12 * 3_600_000

    public init(accounts: Accounts, clock: TroveClock = .system) {
        self.accounts = accounts
        self.clock = clock
    }

    public struct Session: Sendable, Equatable {
        public var account: Int64
        public var accountName: String
        public var csrfToken: String
        public var expiresAt: Timestamp

        public init(account: Int64, accountName: String, csrfToken: String, expiresAt: Timestamp) {
            self.account = account
            self.accountName = accountName
            self.csrfToken = csrfToken
            self.expiresAt = expiresAt
        }
    }

    /// Opens a session for the account whose secret this is; nil when it is no account's. Returns the
    /// cookie's token.
    public func signIn(accountSecret: String) async throws -> (token: String, session: Session)? {
        guard let account = try await accounts.authenticate(accountSecret: accountSecret) else { return nil }
        let secret = Credentials.randomToken(bytes: 32)
        let csrf = Credentials.randomToken(bytes: 20)
        let now = clock.now()
        let expires = now.adding(milliseconds: Self.lifetime)
        let name = try await accounts.store.openSession(tokenDigest: SecretHash.digest(secret), account: account, csrfToken: csrf, now: now, expires: expires)
        return ("\(account).\(secret)", Session(account: account, accountName: name, csrfToken: csrf, expiresAt: expires))
    }

    /// The live session a cookie's token opens, or nil.
    public func session(token: String) async throws -> Session? {
        guard let (account, secret) = Self.parse(token) else { return nil }
        return try await accounts.store.session(account: account, tokenDigest: SecretHash.digest(secret), now: clock.now())
    }

    public func signOut(token: String) async throws {
        guard let (account, secret) = Self.parse(token) else { return }
        try await accounts.store.closeSession(account: account, tokenDigest: SecretHash.digest(secret))
    }

    /// A cookie's `<account>.<token>`; nil for anything else.
    static func parse(_ token: String) -> (account: Int64, secret: String)? {
        guard token.utf8.count <= 128, let dot = token.firstIndex(of: "."), let account = Int64(token[..<dot]), account > 0 else { return nil }
        let secret = String(token[token.index(after: dot)...])
        return secret.isEmpty ? nil : (account, secret)
    }

    /// A form's CSRF token matches its session's (compared in constant time).
    public static func csrfMatches(_ sent: String?, _ session: Session) -> Bool {
        guard let sent else { return false }
        return SecretHash.constantTimeEquals(Array(sent.utf8), Array(session.csrfToken.utf8))
    }
}
