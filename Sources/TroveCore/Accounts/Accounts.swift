import Foundation

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

    public init(id: Int64, name: String, siteID: String, createdAt: Timestamp, rotatedAt: Timestamp?) {
        self.id = id
        self.name = name
        self.siteID = siteID
        self.createdAt = createdAt
        self.rotatedAt = rotatedAt
    }
}

/// Creating, rotating and authenticating accounts: the rules (names, credentials, digests, the credential
/// cache); the rows are the engine's `AccountStore`. Only digests of secrets are stored.
public struct Accounts: Sendable {
    public let store: any AccountStore
    public let clock: TroveClock
    let cache: CredentialCache

    public init(store: any AccountStore, clock: TroveClock = .system) {
        self.store = store
        self.clock = clock
        cache = CredentialCache(clock: clock)
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
        guard try await store.insert(CredentialDigests(credentials), onlyIfNone: false, now: clock.now()) else { throw AccountError.exists(name) }
        return credentials
    }

    /// Creates the `default` account when the database has none; returns its credentials then, else nil.
    public func ensureDefaultAccount() async throws -> Credentials? {
        let credentials = Credentials.generate(account: Self.defaultName)
        return try await store.insert(CredentialDigests(credentials), onlyIfNone: true, now: clock.now()) ? credentials : nil
    }

    /// Replaces all five credentials of an account; the old ones stop working at once, and so do the admin
    /// sessions the old secret opened.
    public func rotate(name: String) async throws -> Credentials {
        let c = Credentials.generate(account: name)
        guard try await store.replace(CredentialDigests(c), now: clock.now()) else { throw AccountError.notFound(name) }
        cache.clear()
        return c
    }

    /// Replaces only the write key (an account made before write keys existed has none yet); the old one
    /// stops working at once. Returns the new key.
    public func rotateWriteKey(name: String) async throws -> String {
        let key = Credentials.randomToken(bytes: 20)
        guard try await store.replace(.writeKey, of: name, digest: SecretHash.digest(key), now: clock.now()) else { throw AccountError.notFound(name) }
        cache.clear()
        return key
    }

    public func list() async throws -> [AccountSummary] {
        try await store.summaries()
    }

    public func accountID(named name: String) async throws -> Int64 {
        guard let id = try await store.accountID(named: name) else { throw AccountError.notFound(name) }
        return id
    }

    /// The account whose `account_secret` this is, or nil.
    public func authenticate(accountSecret: String) async throws -> Int64? {
        try await lookup(.accountSecret, secret: accountSecret)
    }

    /// The account whose `app_api_key` this is, or nil.
    public func authenticate(appAPIKey: String) async throws -> Int64? {
        try await lookup(.appAPIKey, secret: appAPIKey)
    }

    /// The account whose `write_key` this is, or nil.
    public func authenticate(writeKey: String) async throws -> Int64? {
        try await lookup(.writeKey, secret: writeKey)
    }

    /// The account with this `site_id` and `track_api_key`, or nil.
    public func authenticate(siteID: String, trackAPIKey: String) async throws -> Int64? {
        guard siteID.utf8.count <= 256, trackAPIKey.utf8.count <= 256 else { return nil }
        let digest = SecretHash.digest(trackAPIKey)
        let key = CredentialCache.Key(kind: 2, site: siteID, digest: digest)
        if let account = cache.account(for: key) { return account }
        guard let (account, stored) = try await store.trackKey(siteID: siteID), SecretHash.constantTimeEquals(stored, digest) else { return nil }
        cache.remember(key, account: account)
        return account
    }

    private func lookup(_ credential: CredentialKind, secret: String) async throws -> Int64? {
        guard !secret.isEmpty, secret.utf8.count <= 256 else { return nil }
        let digest = SecretHash.digest(secret)
        let key = CredentialCache.Key(kind: credential.cacheKind, site: "", digest: digest)
        if let account = cache.account(for: key) { return account }
        // The lookup is by digest, so timing reveals nothing about the secret; the final comparison is
        // constant-time all the same.
        guard let (account, stored) = try await store.account(credential, digest: digest), SecretHash.constantTimeEquals(stored, digest) else { return nil }
        cache.remember(key, account: account)
        return account
    }
}

/// The credentials looked up by digest alone (the track API key goes with its site id).
public enum CredentialKind: Sendable {
    case accountSecret, appAPIKey, writeKey

    /// Keeps the cache entries of the credential types apart (2 is the track API key).
    var cacheKind: UInt8 {
        switch self {
        case .accountSecret: return 0
        case .appAPIKey: return 1
        case .writeKey: return 3
        }
    }

    /// The `accounts` column holding its digest (the same on both engines).
    public var column: String {
        switch self {
        case .accountSecret: return "account_secret_hash"
        case .appAPIKey: return "app_api_key_hash"
        case .writeKey: return "write_key_hash"
        }
    }
}

/// What is stored of an account's credentials: the name, the site id, and digests of the secrets.
public struct CredentialDigests: Sendable {
    public var account: String
    public var accountSecret: [UInt8]
    public var appAPIKey: [UInt8]
    public var siteID: String
    public var trackAPIKey: [UInt8]
    public var writeKey: [UInt8]

    init(_ c: Credentials) {
        account = c.account
        accountSecret = SecretHash.digest(c.accountSecret)
        appAPIKey = SecretHash.digest(c.appAPIKey)
        siteID = c.siteID
        trackAPIKey = SecretHash.digest(c.trackAPIKey)
        writeKey = SecretHash.digest(c.writeKey)
    }
}
