import NIOCore
import PostgresNIO
import TroveCore

/// `AccountStore` on PostgreSQL: `accounts` (a reference table) and `admin_sessions`.
public struct PostgresAccountStore: AccountStore {
    public let database: PostgresAppDatabase

    public init(database: PostgresAppDatabase) { self.database = database }

    public func insert(_ c: CredentialDigests, onlyIfNone: Bool, now: Timestamp) async throws -> Bool {
        try await database.transaction { connection in
            // One account creation at a time, so "only if none" and the name check hold across nodes.
            try await connection.query("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE", logger: database.logger)
            let exists = onlyIfNone
                ? try await connection.query("SELECT 1 FROM accounts LIMIT 1", logger: database.logger).collect().count > 0
                : try await connection.query("SELECT 1 FROM accounts WHERE name = \(c.account)", logger: database.logger).collect().count > 0
            if exists { return false }
            try await connection.query(
                """
                INSERT INTO accounts (name, account_secret_hash, app_api_key_hash, site_id, track_api_key_hash, write_key_hash, created_at)
                VALUES (\(c.account), \(ByteBuffer(bytes: c.accountSecret)), \(ByteBuffer(bytes: c.appAPIKey)), \(c.siteID),
                        \(ByteBuffer(bytes: c.trackAPIKey)), \(ByteBuffer(bytes: c.writeKey)), \(now.milliseconds))
                """, logger: database.logger)
            return true
        }
    }

    public func replace(_ c: CredentialDigests, now: Timestamp) async throws -> Bool {
        try await database.transaction { connection in
            let rows = try await connection.query(
                """
                UPDATE accounts SET account_secret_hash = \(ByteBuffer(bytes: c.accountSecret)), app_api_key_hash = \(ByteBuffer(bytes: c.appAPIKey)),
                    site_id = \(c.siteID), track_api_key_hash = \(ByteBuffer(bytes: c.trackAPIKey)), write_key_hash = \(ByteBuffer(bytes: c.writeKey)),
                    rotated_at = \(now.milliseconds)
                WHERE name = \(c.account) RETURNING id
                """, logger: database.logger
            ).collect()
            guard let id = try rows.first?.decode(Int64.self) else { return false }
            try await connection.query("DELETE FROM admin_sessions WHERE account_id = \(id)", logger: database.logger)
            return true
        }
    }

    public func replace(_ credential: CredentialKind, of account: String, digest: [UInt8], now: Timestamp) async throws -> Bool {
        try await !database.query(
            "UPDATE accounts SET \(unescaped: credential.column) = \(ByteBuffer(bytes: digest)), rotated_at = \(now.milliseconds) WHERE name = \(account) RETURNING id"
        ).isEmpty
    }

    public func summaries() async throws -> [AccountSummary] {
        try await database.query("SELECT id, name, site_id, created_at, rotated_at FROM accounts ORDER BY id").map { row in
            let (id, name, site, created, rotated) = try row.decode((Int64, String, String, Int64, Int64?).self)
            return AccountSummary(
                id: id, name: name, siteID: site, createdAt: Timestamp(milliseconds: created), rotatedAt: rotated.map(Timestamp.init(milliseconds:)))
        }
    }

    public func accountID(named name: String) async throws -> Int64? {
        try await database.query("SELECT id FROM accounts WHERE name = \(name)").first?.decode(Int64.self)
    }

    public func account(_ credential: CredentialKind, digest: [UInt8]) async throws -> (id: Int64, digest: [UInt8])? {
        let digestBytes = ByteBuffer(bytes: digest)
        let rows = try await database.query(
            "SELECT id, \(unescaped: credential.column) FROM accounts WHERE \(unescaped: credential.column) = \(digestBytes)")
        return try rows.first.map { row in
            let (id, stored) = try row.decode((Int64, ByteBuffer).self)
            return (id, Array(stored.readableBytesView))
        }
    }

    public func trackKey(siteID: String) async throws -> (id: Int64, digest: [UInt8])? {
        try await database.query("SELECT id, track_api_key_hash FROM accounts WHERE site_id = \(siteID)").first.map { row in
            let (id, stored) = try row.decode((Int64, ByteBuffer).self)
            return (id, Array(stored.readableBytesView))
        }
    }

    public func openSession(tokenDigest: [UInt8], account: Int64, csrfToken: String, now: Timestamp, expires: Timestamp) async throws -> String {
        try await database.transaction { connection in
            try await connection.query(
                "DELETE FROM admin_sessions WHERE account_id = \(account) AND expires_at <= \(now.milliseconds)", logger: database.logger)
            try await connection.query(
                """
                INSERT INTO admin_sessions (account_id, token_hash, csrf_token, created_at, expires_at)
                VALUES (\(account), \(ByteBuffer(bytes: tokenDigest)), \(csrfToken), \(now.milliseconds), \(expires.milliseconds))
                """, logger: database.logger)
            return try await connection.query("SELECT name FROM accounts WHERE id = \(account)", logger: database.logger).collect().first?
                .decode(String.self) ?? ""
        }
    }

    public func session(account: Int64, tokenDigest: [UInt8], now: Timestamp) async throws -> AdminSessions.Session? {
        try await database.query(
            """
            SELECT s.account_id, a.name, s.csrf_token, s.expires_at FROM admin_sessions s JOIN accounts a ON a.id = s.account_id
            WHERE s.account_id = \(account) AND s.token_hash = \(ByteBuffer(bytes: tokenDigest)) AND s.expires_at > \(now.milliseconds)
            """
        ).first.map { row in
            let (id, name, csrf, expires) = try row.decode((Int64, String, String, Int64).self)
            return AdminSessions.Session(account: id, accountName: name, csrfToken: csrf, expiresAt: Timestamp(milliseconds: expires))
        }
    }

    public func closeSession(account: Int64, tokenDigest: [UInt8]) async throws {
        try await database.query("DELETE FROM admin_sessions WHERE account_id = \(account) AND token_hash = \(ByteBuffer(bytes: tokenDigest))")
    }
}
