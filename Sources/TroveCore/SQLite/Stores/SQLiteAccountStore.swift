import Foundation
import GRDB

/// `AccountStore` on SQLite: `accounts` and `admin_sessions`.
public struct SQLiteAccountStore: AccountStore {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    public func insert(_ c: CredentialDigests, onlyIfNone: Bool, now: Timestamp) async throws -> Bool {
        try await database.write { db in
            let exists = onlyIfNone
                ? try Int.fetchOne(db, sql: "SELECT count(*) FROM accounts")! > 0
                : try Bool.fetchOne(db, sql: "SELECT 1 FROM accounts WHERE name = ?", arguments: [c.account]) == true
            if exists { return false }
            try db.execute(
                sql: """
                    INSERT INTO accounts (name, account_secret_hash, app_api_key_hash, site_id, track_api_key_hash, write_key_hash, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [c.account, Data(c.accountSecret), Data(c.appAPIKey), c.siteID, Data(c.trackAPIKey), Data(c.writeKey), now.milliseconds])
            return true
        }
    }

    public func replace(_ c: CredentialDigests, now: Timestamp) async throws -> Bool {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE accounts SET account_secret_hash = ?, app_api_key_hash = ?, site_id = ?, track_api_key_hash = ?,
                        write_key_hash = ?, rotated_at = ? WHERE name = ?
                    """,
                arguments: [Data(c.accountSecret), Data(c.appAPIKey), c.siteID, Data(c.trackAPIKey), Data(c.writeKey), now.milliseconds, c.account])
            if db.changesCount == 0 { return false }
            try db.execute(sql: "DELETE FROM admin_sessions WHERE account_id = (SELECT id FROM accounts WHERE name = ?)", arguments: [c.account])
            return true
        }
    }

    public func replace(_ credential: CredentialKind, of account: String, digest: [UInt8], now: Timestamp) async throws -> Bool {
        try await database.write { db in
            try db.execute(sql: "UPDATE accounts SET \(credential.column) = ?, rotated_at = ? WHERE name = ?", arguments: [Data(digest), now.milliseconds, account])
            return db.changesCount > 0
        }
    }

    public func summaries() async throws -> [AccountSummary] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, site_id, created_at, rotated_at FROM accounts ORDER BY id").map { row in
                AccountSummary(
                    id: row["id"], name: row["name"], siteID: row["site_id"],
                    createdAt: Timestamp(milliseconds: row["created_at"]),
                    rotatedAt: (row["rotated_at"] as Int64?).map(Timestamp.init(milliseconds:)))
            }
        }
    }

    public func accountID(named name: String) async throws -> Int64? {
        try await database.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM accounts WHERE name = ?", arguments: [name]) }
    }

    public func account(_ credential: CredentialKind, digest: [UInt8]) async throws -> (id: Int64, digest: [UInt8])? {
        let column = credential.column
        return try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT id, \(column) AS h FROM accounts WHERE \(column) = ?", arguments: [Data(digest)])
                .map { row in (row["id"], Array(row["h"] as Data)) }
        }
    }

    public func trackKey(siteID: String) async throws -> (id: Int64, digest: [UInt8])? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT id, track_api_key_hash FROM accounts WHERE site_id = ?", arguments: [siteID])
                .map { row in (row["id"], Array(row["track_api_key_hash"] as Data)) }
        }
    }

    public func openSession(tokenDigest: [UInt8], account: Int64, csrfToken: String, now: Timestamp, expires: Timestamp) async throws -> String {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM admin_sessions WHERE expires_at <= ?", arguments: [now.milliseconds])
            try db.execute(
                sql: "INSERT INTO admin_sessions (token_hash, account_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [Data(tokenDigest), account, csrfToken, now.milliseconds, expires.milliseconds])
            return try String.fetchOne(db, sql: "SELECT name FROM accounts WHERE id = ?", arguments: [account]) ?? ""
        }
    }

    public func session(account: Int64, tokenDigest: [UInt8], now: Timestamp) async throws -> AdminSessions.Session? {
        try await database.read { db in
            try Row.fetchOne(
                db, sql: """
                    SELECT s.account_id, a.name, s.csrf_token, s.expires_at FROM admin_sessions s JOIN accounts a ON a.id = s.account_id
                    WHERE s.token_hash = ? AND s.account_id = ? AND s.expires_at > ?
                    """, arguments: [Data(tokenDigest), account, now.milliseconds]
            ).map { AdminSessions.Session(account: $0[0], accountName: $0[1], csrfToken: $0[2], expiresAt: Timestamp(milliseconds: $0[3])) }
        }
    }

    public func closeSession(account: Int64, tokenDigest: [UInt8]) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM admin_sessions WHERE token_hash = ? AND account_id = ?", arguments: [Data(tokenDigest), account])
        }
    }
}

extension Accounts {
    /// On the SQLite engine.
    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.init(store: SQLiteAccountStore(database: database), clock: clock)
    }
}
