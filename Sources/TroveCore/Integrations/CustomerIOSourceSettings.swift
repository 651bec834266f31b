import Foundation
import GRDB

/// The Customer.io source's settings per account (contract §9): the webhook signing key, when set, makes
/// Trove verify `X-CIO-Signature` on every reporting webhook.
public struct CustomerIOSourceSettings: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    static let name = "customerio-source"

    /// What is shown of the settings: never the key, only whether one is set and its last four characters.
    public struct State: Sendable, Equatable {
        public var signingKeyHint: String?
        public var updatedAt: Timestamp?
        public var signingKeySet: Bool { signingKeyHint != nil }
    }

    /// Sets (or with nil, removes) the signing key; returns the settings as the API shows them.
    public func setSigningKey(account: Int64, _ key: String?) async throws -> State {
        if let key {
            guard !key.isEmpty, key.utf8.count <= 256 else { throw IngestError.invalid("signing_key: must be a non-empty string of at most 256 bytes") }
        }
        let now = clock.now()
        return try await database.write { db in
            if let key {
                let config = JSONWriter.string(["signing_key": .string(key)])
                try db.execute(
                    sql: """
                        INSERT INTO integrations (account_id, name, config, updated_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (account_id, name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
                        """, arguments: [account, Self.name, config, now.milliseconds])
            } else {
                try db.execute(sql: "DELETE FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, Self.name])
            }
            return try Self.shown(db, account: account)
        }
    }

    public func show(account: Int64) async throws -> State {
        try await database.read { db in try Self.shown(db, account: account) }
    }

    static func shown(_ db: Database, account: Int64) throws -> State {
        let key = try signingKey(db, account: account)
        let updated = try Int64.fetchOne(db, sql: "SELECT updated_at FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, name])
        return State(signingKeyHint: key.map { "…" + String($0.suffix(4)) }, updatedAt: updated.map(Timestamp.init(milliseconds:)))
    }

    static func signingKey(_ db: Database, account: Int64) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT json_extract(config, '$.signing_key') FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, name])
    }

    public func signingKey(account: Int64) async throws -> String? {
        try await database.read { db in try Self.signingKey(db, account: account) }
    }
}
