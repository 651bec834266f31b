import Foundation
import GRDB

public enum AccountError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidName(String)
    case exists(String)
    case notFound(String)

    public var description: String {
        switch self {
        case .invalidName(let n): return "invalid account name \"\(n)\": use 1-100 letters, digits, '-', '_' or '.'"
        case .exists(let n): return "an account named \"\(n)\" already exists"
        case .notFound(let n): return "no account named \"\(n)\""
        }
    }
}

public struct AccountSummary: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var siteID: String
    public var createdAt: Timestamp
    public var rotatedAt: Timestamp?
}

/// Creating, rotating and authenticating accounts. Only digests of secrets are stored.
public struct AccountStore: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    let cache = CredentialCache()

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    public static let defaultName = "default"

    static func validate(_ name: String) throws(AccountError) {
        let ok = !name.isEmpty && name.utf8.count <= 100
            && name.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
            }
        if !ok { throw .invalidName(name) }
    }

    public func create(name: String) async throws -> Credentials {
        try Self.validate(name)
        let credentials = Credentials.generate(account: name)
        let now = clock.now()
        try await database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM accounts WHERE name = ?", arguments: [name]) == true {
                throw AccountError.exists(name)
            }
            try insert(credentials, now: now, db: db)
        }
        return credentials
    }

    /// Creates the `default` account when the database has none; returns its credentials then, else nil.
    public func ensureDefaultAccount() async throws -> Credentials? {
        let now = clock.now()
        return try await database.write { db -> Credentials? in
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM accounts")! == 0 else { return nil }
            let credentials = Credentials.generate(account: Self.defaultName)
            try insert(credentials, now: now, db: db)
            return credentials
        }
    }

    private func insert(_ c: Credentials, now: Timestamp, db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO accounts (name, account_secret_hash, app_api_key_hash, site_id, track_api_key_hash, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                c.account, Data(SecretHash.digest(c.accountSecret)), Data(SecretHash.digest(c.appAPIKey)), c.siteID,
                Data(SecretHash.digest(c.trackAPIKey)), now.milliseconds,
            ])
    }

    /// Replaces all four credentials of an account; the old ones stop working at once.
    public func rotate(name: String) async throws -> Credentials {
        let c = Credentials.generate(account: name)
        let now = clock.now()
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE accounts SET account_secret_hash = ?, app_api_key_hash = ?, site_id = ?, track_api_key_hash = ?,
                        rotated_at = ? WHERE name = ?
                    """,
                arguments: [
                    Data(SecretHash.digest(c.accountSecret)), Data(SecretHash.digest(c.appAPIKey)), c.siteID,
                    Data(SecretHash.digest(c.trackAPIKey)), now.milliseconds, name,
                ])
            if db.changesCount == 0 { throw AccountError.notFound(name) }
            // New credentials end the admin sessions the old secret opened.
            try db.execute(sql: "DELETE FROM admin_sessions WHERE account_id = (SELECT id FROM accounts WHERE name = ?)", arguments: [name])
        }
        cache.clear()
        return c
    }

    public func list() async throws -> [AccountSummary] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, site_id, created_at, rotated_at FROM accounts ORDER BY id").map { row in
                AccountSummary(
                    id: row["id"], name: row["name"], siteID: row["site_id"],
                    createdAt: Timestamp(milliseconds: row["created_at"]),
                    rotatedAt: (row["rotated_at"] as Int64?).map(Timestamp.init(milliseconds:)))
            }
        }
    }

    public func accountID(named name: String) async throws -> Int64 {
        guard let id = try await database.read({ db in try Int64.fetchOne(db, sql: "SELECT id FROM accounts WHERE name = ?", arguments: [name]) })
        else { throw AccountError.notFound(name) }
        return id
    }

    /// The account whose `account_secret` this is, or nil.
    public func authenticate(accountSecret: String) async throws -> Int64? {
        try await lookup(column: "account_secret_hash", kind: 0, secret: accountSecret)
    }

    /// The account whose `app_api_key` this is, or nil.
    public func authenticate(appAPIKey: String) async throws -> Int64? {
        try await lookup(column: "app_api_key_hash", kind: 1, secret: appAPIKey)
    }

    /// The account with this `site_id` and `track_api_key`, or nil.
    public func authenticate(siteID: String, trackAPIKey: String) async throws -> Int64? {
        guard siteID.utf8.count <= 256, trackAPIKey.utf8.count <= 256 else { return nil }
        let digest = SecretHash.digest(trackAPIKey)
        let key = CredentialCache.Key(kind: 2, site: siteID, digest: digest)
        if let account = cache.account(for: key) { return account }
        let account: Int64? = try await database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, track_api_key_hash FROM accounts WHERE site_id = ?", arguments: [siteID])
            else { return nil }
            let stored: Data = row["track_api_key_hash"]
            return SecretHash.constantTimeEquals(Array(stored), digest) ? row["id"] : nil
        }
        if let account { cache.remember(key, account: account) }
        return account
    }

    /// `kind` keeps the cache entries of the credential types apart (2 is the track API key).
    private func lookup(column: String, kind: UInt8, secret: String) async throws -> Int64? {
        guard !secret.isEmpty, secret.utf8.count <= 256 else { return nil }
        let digest = SecretHash.digest(secret)
        let key = CredentialCache.Key(kind: kind, site: "", digest: digest)
        if let account = cache.account(for: key) { return account }
        let account: Int64? = try await database.read { db in
            // The lookup is by digest, so timing reveals nothing about the secret; the final comparison is
            // constant-time all the same.
            guard let row = try Row.fetchOne(db, sql: "SELECT id, \(column) AS h FROM accounts WHERE \(column) = ?", arguments: [Data(digest)])
            else { return nil }
            let stored: Data = row["h"]
            return SecretHash.constantTimeEquals(Array(stored), digest) ? row["id"] : nil
        }
        if let account { cache.remember(key, account: account) }
        return account
    }
}
