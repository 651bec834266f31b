import Foundation
import GRDB

/// Sessions of the admin web UI (contract §11): opened with the account secret, held in a cookie as a random
/// token (stored only as its SHA-256), each with a CSRF token its forms must send back.
public struct AdminSessions: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    public let accounts: AccountStore
    public static let lifetime: Int64 = 12 * 3_600_000

    public init(database: AppDatabase, accounts: AccountStore, clock: TroveClock = .system) {
        self.database = database
        self.accounts = accounts
        self.clock = clock
    }

    public struct Session: Sendable, Equatable {
        public var account: Int64
        public var accountName: String
        public var csrfToken: String
        public var expiresAt: Timestamp
    }

    /// Opens a session for the account whose secret this is; nil when it is no account's. Returns the
    /// cookie's token.
    public func signIn(accountSecret: String) async throws -> (token: String, session: Session)? {
        guard let account = try await accounts.authenticate(accountSecret: accountSecret) else { return nil }
        let token = Credentials.randomToken(bytes: 32)
        let csrf = Credentials.randomToken(bytes: 20)
        let now = clock.now()
        let expires = now.adding(milliseconds: Self.lifetime)
        let name = try await database.write { db in
            try db.execute(sql: "DELETE FROM admin_sessions WHERE expires_at <= ?", arguments: [now.milliseconds])
            try db.execute(
                sql: "INSERT INTO admin_sessions (token_hash, account_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [Data(SecretHash.digest(token)), account, csrf, now.milliseconds, expires.milliseconds])
            return try String.fetchOne(db, sql: "SELECT name FROM accounts WHERE id = ?", arguments: [account]) ?? ""
        }
        return (token, Session(account: account, accountName: name, csrfToken: csrf, expiresAt: expires))
    }

    /// The live session a cookie's token opens, or nil.
    public func session(token: String) async throws -> Session? {
        guard !token.isEmpty, token.utf8.count <= 128 else { return nil }
        let now = clock.now()
        return try await database.read { db in
            try Row.fetchOne(
                db, sql: """
                    SELECT s.account_id, a.name, s.csrf_token, s.expires_at FROM admin_sessions s JOIN accounts a ON a.id = s.account_id
                    WHERE s.token_hash = ? AND s.expires_at > ?
                    """, arguments: [Data(SecretHash.digest(token)), now.milliseconds]
            ).map { Session(account: $0[0], accountName: $0[1], csrfToken: $0[2], expiresAt: Timestamp(milliseconds: $0[3])) }
        }
    }

    public func signOut(token: String) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM admin_sessions WHERE token_hash = ?", arguments: [Data(SecretHash.digest(token))])
        }
    }

    /// A form's CSRF token matches its session's (compared in constant time).
    public static func csrfMatches(_ sent: String?, _ session: Session) -> Bool {
        guard let sent else { return false }
        return SecretHash.constantTimeEquals(Array(sent.utf8), Array(session.csrfToken.utf8))
    }
}
