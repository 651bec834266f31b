import Foundation
import GRDB

/// The Customer.io source's settings per account (SPEC §9): the webhook signing key, when set, makes
/// Trove verify `X-CIO-Signature` on every reporting webhook.
public struct CustomerIOSourceSettings: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock

    public init(database: AppDatabase, clock: TroveClock = .system) {
        self.database = database
        self.clock = clock
    }

    static let name = "customerio-source"

    /// Sets (or with nil, removes) the signing key; returns the settings as the API shows them.
    public func setSigningKey(account: Int64, _ key: String?) async throws -> JSON {
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

    /// `PUT /v3/edit/integrations/customerio-source {"signing_key": "…" | null}`.
    public func update(account: Int64, body: JSON) async throws -> JSON {
        guard case .object = body else { throw IngestError.invalid("body: expected {\"signing_key\": \"…\"}") }
        switch body["signing_key"] {
        case .string(let key)?: return try await setSigningKey(account: account, key)
        case .null?: return try await setSigningKey(account: account, nil)
        default: throw IngestError.invalid("signing_key: required, a string (or null to stop checking signatures)")
        }
    }

    public func show(account: Int64) async throws -> JSON {
        try await database.read { db in try Self.shown(db, account: account) }
    }

    /// The key is never shown back, only whether one is set and its last four characters.
    static func shown(_ db: Database, account: Int64) throws -> JSON {
        let key = try signingKey(db, account: account)
        let updated = try Int64.fetchOne(db, sql: "SELECT updated_at FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, name])
        return ["integration": .object([
            JSONMember("name", .string(name)),
            JSONMember("signing_key_set", .bool(key != nil)),
            JSONMember("signing_key_hint", key.map { .string("…" + String($0.suffix(4))) } ?? .null),
            JSONMember("updated_at", updated.map { .string(Timestamp(milliseconds: $0).iso8601) } ?? .null),
        ])]
    }

    static func signingKey(_ db: Database, account: Int64) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT json_extract(config, '$.signing_key') FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, name])
    }

    public func signingKey(account: Int64) async throws -> String? {
        try await database.read { db in try Self.signingKey(db, account: account) }
    }
}
