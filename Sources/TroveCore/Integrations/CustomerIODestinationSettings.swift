import Foundation
import GRDB

/// `PUT/GET/DELETE /v3/edit/integrations/customerio` (contract §10): the destination's settings per account,
/// kept in `integrations` under `customerio-destination`.
public struct CustomerIODestinationSettings: Sendable {
    public let database: AppDatabase
    public let clock: TroveClock
    public let policy: WebhookAddressPolicy

    public init(database: AppDatabase, clock: TroveClock = .system, policy: WebhookAddressPolicy = WebhookAddressPolicy()) {
        self.database = database
        self.clock = clock
        self.policy = policy
    }

    static let name = "customerio-destination"

    /// The settings with the outbox's counts, as the API and the admin UI show them.
    public struct State: Sendable {
        public var destination: CustomerIODestination
        public var pending: Int
        public var delivered: Int
        public var failed: Int
        public var updatedAt: Timestamp?
    }

    /// Sets the destination from its settings document (`CustomerIODestination.parse`); an `api_key` left out
    /// keeps the current one.
    public func update(account: Int64, document: JSON) async throws -> State {
        let now = clock.now()
        return try await database.write { db in
            let destination = try CustomerIODestination.parse(document, current: try Self.load(db, account: account))
            if let url = destination.trackURL {
                do { _ = try policy.check(url: url) } catch { throw DestinationError.invalid("track_url: \(error)") }
            }
            for sync in destination.syncSegments {
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM segments WHERE account_id = ? AND id = ?", arguments: [account, sync.segmentID]) ?? false else {
                    throw DestinationError.invalid("sync_segments: no segment with id \(PublicID.encode(sync.segmentID))")
                }
            }
            try db.execute(
                sql: """
                    INSERT INTO integrations (account_id, name, config, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (account_id, name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
                    """, arguments: [account, Self.name, JSONWriter.string(destination.stored), now.milliseconds])
            return try Self.shown(db, account: account)
        }
    }

    public func show(account: Int64) async throws -> State {
        try await database.read { db in try Self.shown(db, account: account) }
    }

    /// Removes the settings; what was still waiting to go out is marked failed (kept, visible).
    public func delete(account: Int64) async throws {
        let now = clock.now()
        try await database.write { db in
            guard try Self.load(db, account: account) != nil else { throw DestinationError.notFound("no Customer.io destination is set up") }
            try db.execute(sql: "DELETE FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, Self.name])
            try db.execute(
                sql: "UPDATE customerio_deliveries SET state = 'failed', last_error = 'destination removed', next_attempt_at = ? WHERE account_id = ? AND state = 'pending'",
                arguments: [now.milliseconds, account])
        }
    }

    static func shown(_ db: Database, account: Int64) throws -> State {
        guard let destination = try load(db, account: account) else { throw DestinationError.notFound("no Customer.io destination is set up") }
        let updated = try Int64.fetchOne(db, sql: "SELECT updated_at FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, name])
        var state = State(destination: destination, pending: 0, delivered: 0, failed: 0, updatedAt: updated.map(Timestamp.init(milliseconds:)))
        for row in try Row.fetchAll(db, sql: "SELECT state, count(*) FROM customerio_deliveries WHERE account_id = ? GROUP BY state", arguments: [account]) {
            switch row[0] as String {
            case "pending": state.pending = row[1]
            case "delivered": state.delivered = row[1]
            case "failed": state.failed = row[1]
            case let other: throw StoredDataError(table: "customerio_deliveries", column: "state", id: nil, reason: "unknown state \"\(other)\"")
            }
        }
        return state
    }

    static func load(_ db: Database, account: Int64) throws -> CustomerIODestination? {
        try String.fetchOne(db, sql: "SELECT config FROM integrations WHERE account_id = ? AND name = ?", arguments: [account, name])
            .map { try CustomerIODestination.fromStored($0, account: account) }
    }

    /// Every account's destination; one whose stored config does not parse is kept apart with its error, for
    /// the callers to raise where it concerns that account (and only there: one broken row must not stop
    /// every account's ingest).
    struct Destinations {
        var usable: [Int64: CustomerIODestination] = [:]
        var broken: [Int64: StoredDataError] = [:]
        var isEmpty: Bool { usable.isEmpty && broken.isEmpty }
    }

    /// Every account's destination (a handful of rows), for the writers and the sender. The ingest writer
    /// asks once per transaction: the statement is cached, and with `cache` each stored text is parsed once.
    static func all(_ db: Database, cache: WriteCaches? = nil) throws -> Destinations {
        var found = Destinations()
        let select = try db.cachedStatement(sql: "SELECT account_id, config FROM integrations WHERE name = 'customerio-destination'")
        for row in try Row.fetchAll(select) {
            let text: String = row[1]
            if let cached = cache?.destinations[text] {
                found.usable[row[0]] = cached
                continue
            }
            do {
                let parsed = try CustomerIODestination.fromStored(text, account: row[0])
                cache?.destinations[text] = parsed
                found.usable[row[0]] = parsed
            } catch {
                found.broken[row[0]] = error
            }
        }
        return found
    }

    // MARK: Deliveries

    /// `GET /v3/edit/integrations/customerio/deliveries?state=`: newest first.
    public func deliveries(account: Int64, state: WebhookDelivery.State?, limit: Int) async throws -> [CustomerIODelivery] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.*, p.uid FROM customerio_deliveries d LEFT JOIN profiles p ON p.id = d.profile_id
                    WHERE d.account_id = ? AND (?2 IS NULL OR d.state = ?2) ORDER BY d.id DESC LIMIT ?3
                    """, arguments: [account, state?.rawValue, limit])
            return try rows.map(Self.delivery)
        }
    }

    /// `POST /v3/edit/integrations/customerio/deliveries/:id/retry`: a failed delivery is due again now,
    /// with a fresh 24 hours of retries.
    public func retry(account: Int64, delivery: Int64) async throws -> CustomerIODelivery {
        let now = clock.now()
        return try await database.write { db in
            guard try Self.load(db, account: account) != nil else { throw DestinationError.notFound("no Customer.io destination is set up") }
            try db.execute(
                sql: """
                    UPDATE customerio_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?1, created_at = ?1
                    WHERE id = ?2 AND account_id = ?3 AND state = 'failed' AND identifier IS NOT NULL
                    """, arguments: [now.milliseconds, delivery, account])
            guard let row = try Row.fetchOne(
                db, sql: "SELECT d.*, p.uid FROM customerio_deliveries d LEFT JOIN profiles p ON p.id = d.profile_id WHERE d.id = ? AND d.account_id = ?",
                arguments: [delivery, account])
            else { throw DestinationError.notFound("no Customer.io delivery with id \(PublicID.encode(delivery))") }
            return try Self.delivery(row)
        }
    }

    static func delivery(_ row: Row) throws -> CustomerIODelivery {
        let id: Int64 = row["id"]
        let state = try WebhookDelivery.State(stored: row["state"], table: "customerio_deliveries", id: id)
        return CustomerIODelivery(
            id: id, kind: row["kind"], profileID: row["profile_id"], profileUID: row["uid"], identifier: row["identifier"],
            customerIOSegmentID: row["target"], state: state, attempts: row["attempts"],
            nextAttemptAt: state == .pending ? (row["next_attempt_at"] as Int64?).map(Timestamp.init(milliseconds:)) : nil,
            lastStatus: row["last_status"], lastError: row["last_error"], createdAt: Timestamp(milliseconds: row["created_at"]),
            deliveredAt: (row["delivered_at"] as Int64?).map(Timestamp.init(milliseconds:)))
    }
}

/// One call (or series of calls) to Customer.io in the outbox.
public struct CustomerIODelivery: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    public var profileID: Int64
    /// Nil once the profile is gone.
    public var profileUID: String?
    /// Who the person is in Customer.io; nil when the profile had no identifier.
    public var identifier: String?
    public var customerIOSegmentID: String?
    public var state: WebhookDelivery.State
    public var attempts: Int
    public var nextAttemptAt: Timestamp?
    public var lastStatus: Int?
    public var lastError: String?
    public var createdAt: Timestamp
    public var deliveredAt: Timestamp?
}
